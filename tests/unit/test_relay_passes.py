"""relay graph passes: the numpy evaluator, relay-fold-constant and relay-fuse-ops."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import PassPipeline

from xtvm.dialects import relay
from xtvm.errors import InputError, PipelineError
from xtvm.passes.relay.evaluate import evaluate_function, evaluate_op
from xtvm.passes.relay.fold_constant import RelayFoldConstantPass
from xtvm.passes.relay.fuse_ops import RelayFuseOpsPass
from xtvm.passes.relay.op_pattern import OpPattern, op_pattern

RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def build_func(
    arg_shapes: Sequence[Sequence[int]],
    body: Callable[[list[SSAValue], Callable[[Operation], SSAValue]], list[SSAValue]],
) -> tuple[ModuleOp, FuncOp]:
    """A module with ``@main`` whose body ``body(args, emit)`` builds in memory."""
    block = Block(arg_types=[relay.tensor_type(s) for s in arg_shapes])

    def emit(op: Operation) -> SSAValue:
        block.add_op(op)
        return op.results[0]

    outs = body(list(block.args), emit)
    block.add_op(ReturnOp(*outs))
    func = FuncOp("main", ([a.type for a in block.args], [o.type for o in outs]), Region(block))
    module = ModuleOp([func])
    module.verify()
    return module, func


def run_pass(module: ModuleOp, p) -> FuncOp:
    p.apply(Context(), module)
    module.verify()
    (func,) = [op for op in module.ops if isinstance(op, FuncOp)]
    return func


# ----------------------------------------------------------------------------------------------
# evaluator against straightforward loop references
# ----------------------------------------------------------------------------------------------


def conv_ref(x, w, stride, pad, dil, groups):
    n, c, h, wd = x.shape
    o, i, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])))
    oh = (h + pad[0] + pad[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pad[1] + pad[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for b, oc, y, z in np.ndindex(n, o, oh, ow):
        g = oc // og
        for ic, ky, kx in np.ndindex(i, kh, kw):
            out[b, oc, y, z] += (
                xp[b, g * i + ic, y * stride[0] + ky * dil[0], z * stride[1] + kx * dil[1]]
                * w[oc, ic, ky, kx]
            )
    return out


@pytest.mark.parametrize(
    "cin,cout,groups,stride,pad,dil",
    [
        (3, 4, 1, (1, 1), (1, 1, 1, 1), (1, 1)),
        (4, 6, 2, (2, 1), (0, 1, 2, 0), (1, 2)),
        (4, 4, 4, (2, 2), (1, 1, 1, 1), (1, 1)),
    ],
)
def test_conv2d_matches_loops(cin, cout, groups, stride, pad, dil):
    x, w = rand(2, cin, 7, 6), rand(cout, cin // groups, 3, 2)
    _, func = build_func(
        [x.shape, w.shape],
        lambda a, emit: [emit(relay.Conv2dOp(a[0], a[1], stride, pad, dil, groups))],
    )
    (got,) = evaluate_function(func, [x, w])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, conv_ref(x, w, stride, pad, dil, groups), rtol=1e-5, atol=1e-5)


def pool_ref(x, op: relay.Pool2dOp, kind: str):
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw), _ = op.attrs
    n, c, h, w = x.shape
    _, _, oh, ow = relay.shape_of(op.result)
    out = np.zeros((n, c, oh, ow))
    for y, z in np.ndindex(oh, ow):
        vals, count = [], 0
        for ky, kx in np.ndindex(kh, kw):
            r, q = y * sh - pt + ky * dh, z * sw - pl + kx * dw
            if 0 <= r < h and 0 <= q < w:
                vals.append(x[:, :, r, q])
                count += 1
            elif -pt <= r < h + pb and -pl <= q < w + pr:
                count += 1  # a cell of the declared padding
        if kind == "max":
            out[:, :, y, z] = np.max(vals, axis=0)
        else:
            div = count if getattr(op, "include_pad", False) else len(vals)
            out[:, :, y, z] = np.sum(vals, axis=0) / div
    return out


POOL_CASES = [
    dict(pool_size=(3, 3), strides=(2, 2), padding=(1, 1, 1, 1), ceil_mode=True),
    dict(pool_size=(2, 3), strides=(2, 2), padding=(0, 1, 1, 0), ceil_mode=False),
    dict(pool_size=(2, 2), strides=(1, 2), padding=(1, 0, 0, 1), dilation=(2, 1), ceil_mode=True),
    dict(pool_size=(3, 3), strides=(3, 3), padding=(0, 0, 0, 0), ceil_mode=True),
]


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg", "avg_pad"])
def test_pools_match_loops(case, kind):
    x = rand(1, 2, 7, 8)

    def body(a, emit):
        if kind == "max":
            return [emit(relay.MaxPool2dOp(a[0], **case))]
        return [emit(relay.AvgPool2dOp(a[0], count_include_pad=kind == "avg_pad", **case))]

    _, func = build_func([x.shape], body)
    pool = next(op for op in func.body.block.ops if isinstance(op, relay.Pool2dOp))
    (got,) = evaluate_function(func, [x])
    np.testing.assert_allclose(got, pool_ref(x, pool, kind[:3]), rtol=1e-5, atol=1e-6)


def test_pools_match_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    x = rand(1, 2, 7, 8)
    for op_type, extra in [("MaxPool", {}), ("AveragePool", {"count_include_pad": 1})]:
        node = helper.make_node(
            op_type, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
            ceil_mode=1, **extra,
        )  # fmt: skip
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (want,) = sess.run(None, {"x": x})
        cls = relay.MaxPool2dOp if op_type == "MaxPool" else relay.AvgPool2dOp
        kw = {} if op_type == "MaxPool" else {"count_include_pad": True}
        _, func = build_func(
            [x.shape],
            lambda a, emit, cls=cls, kw=kw: [
                emit(cls(a[0], (3, 3), strides=(2, 2), padding=(1, 1, 1, 1), ceil_mode=True, **kw))
            ],
        )
        (got,) = evaluate_function(func, [x])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_nn_and_shape_ops():
    x, w = rand(2, 3, 5), rand(4, 5)
    p = [rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.5]

    def body(a, emit):
        d = emit(relay.DenseOp(a[0], a[1]))
        m = emit(relay.BatchMatmulOp(a[0], emit(relay.TransposeOp(a[0], (0, 2, 1)))))
        bn = emit(relay.BatchNormOp(a[0], *a[2:6], epsilon=1e-3))
        sm = emit(relay.SoftmaxOp(a[0], axis=1))
        g = emit(relay.GlobalAvgPool2dOp(emit(relay.ReshapeOp(a[0], (2, 3, 5, 1)))))
        cat = emit(relay.ConcatenateOp([a[0], bn, sm], axis=-1))
        return [d, m, bn, sm, g, emit(relay.FlattenOp(cat, 2))]

    _, func = build_func([x.shape, w.shape] + [(3,)] * 4, body)
    d, m, bn, sm, g, flat = evaluate_function(func, [x, w, *p])
    assert all(r.dtype == np.float32 for r in (d, m, bn, sm, g, flat))
    np.testing.assert_allclose(d, x @ w.T, rtol=1e-5)
    np.testing.assert_allclose(m, x @ x.transpose(0, 2, 1), rtol=1e-5)
    s = (1, 3, 1)
    want_bn = (x - p[2].reshape(s)) / np.sqrt(p[3].reshape(s) + 1e-3) * p[0].reshape(s)
    np.testing.assert_allclose(bn, want_bn + p[1].reshape(s), rtol=1e-5, atol=1e-6)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(sm, e / e.sum(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(g[..., 0, 0], x.mean(axis=2), rtol=1e-5)
    np.testing.assert_array_equal(flat, np.concatenate([x, bn, sm], axis=2).reshape(6, 15))


def test_integer_divide_truncates_and_rejects_bad_inputs():
    a = relay.ConstantOp.from_numpy(np.array([7, -7, 7, -7], np.int64))
    b = relay.ConstantOp.from_numpy(np.array([2, 2, -2, -2], np.int64))
    got = evaluate_op(relay.DivideOp(a.result, b.result), [a.to_numpy(), b.to_numpy()])
    np.testing.assert_array_equal(got, [3, -3, -3, 3])
    assert got.dtype == np.int64
    _, func = build_func([(2,)], lambda a, emit: [emit(relay.ReluOp(a[0]))])
    with pytest.raises(InputError):
        evaluate_function(func, [np.zeros(3, np.float32)])
    with pytest.raises(InputError):
        evaluate_function(func, [np.zeros(2, np.float64)])


# ----------------------------------------------------------------------------------------------
# random elementwise/broadcast graphs: both passes preserve results
# ----------------------------------------------------------------------------------------------

BINARY = [relay.AddOp, relay.SubtractOp, relay.MultiplyOp, relay.MaximumOp, relay.MinimumOp]
UNARY = [relay.ReluOp, relay.SigmoidOp, relay.TanhOp, relay.ExpOp]


@st.composite
def graphs(draw):
    base = draw(st.tuples(st.integers(1, 3), st.integers(1, 4)))

    def shape():
        drop = draw(st.integers(0, 1))
        return tuple(d if draw(st.booleans()) else 1 for d in base)[drop:]

    inputs = [(shape(), draw(st.booleans())) for _ in range(draw(st.integers(1, 4)))]
    steps = []
    for _ in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["binary", "unary", "clip", "divide"]))
        steps.append((kind, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))))
    n_outputs = draw(st.integers(1, 2))
    return inputs, steps, n_outputs, draw(st.integers(0, 2**31))


def build_random(spec):
    inputs, steps, n_outputs, seed = spec
    rng = np.random.default_rng(seed)
    arg_shapes = [s for s, is_const in inputs if not is_const]
    arg_values = [rng.uniform(-2, 2, s).astype(np.float32) for s in arg_shapes]

    def body(args, emit):
        values, it = [], iter(args)
        for s, is_const in inputs:
            if is_const:
                values.append(emit(relay.ConstantOp.from_numpy(rng.uniform(-2, 2, s).astype("f4"))))
            else:
                values.append(next(it))
        for kind, i, j in steps:
            a, b = values[i % len(values)], values[j % len(values)]
            if kind == "binary":
                values.append(emit(BINARY[(i + j) % len(BINARY)](a, b)))
            elif kind == "unary":
                values.append(emit(UNARY[j % len(UNARY)](a)))
            elif kind == "clip":
                values.append(emit(relay.ClipOp(a, -1.0 + (j % 3) * 0.5, 1.5)))
            else:  # keep denominators away from zero
                den = emit(relay.ExpOp(b))
                values.append(emit(relay.DivideOp(a, den)))
        return values[len(values) - n_outputs :] if len(values) >= n_outputs else values[-1:]

    module, func = build_func(arg_shapes, body)
    return module, func, arg_values


def assert_same(before: list[np.ndarray], after: list[np.ndarray]) -> None:
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def assert_fused_contract(func: FuncOp) -> None:
    for op in func.body.block.ops:
        assert isinstance(op, (relay.ConstantOp, relay.FusedOp, ReturnOp)), op.name
        if isinstance(op, relay.FusedOp):
            anchors = [o for o in op.block.ops if op_pattern(o) == OpPattern.OUT_ELEMWISE_FUSABLE]
            assert len(anchors) <= 1
            assert not any(isinstance(o, relay.ConstantOp) for o in op.block.ops)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.integers(1, 4))
def test_passes_preserve_results(spec, max_depth):
    module, func, args = build_random(spec)
    want = evaluate_function(func, args)
    func = run_pass(module, RelayFoldConstantPass())
    assert_same(want, evaluate_function(func, args))
    for op in func.body.block.ops:
        if isinstance(op, relay.RelayOp):
            assert not all(isinstance(v.owner, relay.ConstantOp) for v in op.operands)
    func = run_pass(module, RelayFuseOpsPass(max_depth=max_depth))
    assert_same(want, evaluate_function(func, args))
    assert_fused_contract(func)
    for op in func.body.block.ops:
        if isinstance(op, relay.FusedOp):
            assert len(list(op.block.ops)) - 1 <= max_depth


@settings(max_examples=30, deadline=None)
@given(graphs())
def test_fuse_without_folding_preserves_results(spec):
    module, func, args = build_random(spec)
    want = evaluate_function(func, args)
    func = run_pass(module, RelayFuseOpsPass())
    assert_same(want, evaluate_function(func, args))
    assert_fused_contract(func)


# ----------------------------------------------------------------------------------------------
# ResNet-style block: fused-group structure
# ----------------------------------------------------------------------------------------------


def conv_bn(emit, x: SSAValue, cin: int, cout: int, stride: int, k: int = 3) -> SSAValue:
    w = emit(relay.ConstantOp.from_numpy(rand(cout, cin, k, k) * 0.3))
    pad = (k // 2,) * 4
    c = emit(relay.Conv2dOp(x, w, (stride, stride), pad))
    params = [rand(cout), rand(cout), rand(cout), np.abs(rand(cout)) + 0.5]
    p = [emit(relay.ConstantOp.from_numpy(v)) for v in params]
    return emit(relay.BatchNormOp(c, *p))


def resnet_block(args, emit):
    x = emit(relay.ReluOp(args[0]))
    h = emit(relay.ReluOp(conv_bn(emit, x, 4, 8, 2)))
    h = conv_bn(emit, h, 8, 8, 1)
    shortcut = conv_bn(emit, x, 4, 8, 2, k=1)
    out = emit(relay.ReluOp(emit(relay.AddOp(h, shortcut))))
    pooled = emit(relay.GlobalAvgPool2dOp(out))
    return [emit(relay.FlattenOp(pooled, 1))]


def test_resnet_block_groups():
    module, func, x = *build_func([(1, 4, 8, 8)], resnet_block), rand(1, 4, 8, 8)
    want = evaluate_function(func, [x])
    func = run_pass(module, RelayFoldConstantPass())
    func = run_pass(module, RelayFuseOpsPass())
    assert_fused_contract(func)
    fused = [op for op in func.body.block.ops if isinstance(op, relay.FusedOp)]
    assert [f.kernel_name.data for f in fused] == [
        "fused_relu",  # two users (main path and shortcut): materialized
        "fused_conv2d_batch_norm_relu",
        "fused_conv2d_batch_norm",  # the shortcut: the add joins the main path's group
        "fused_conv2d_batch_norm_add_relu",
        "fused_global_avg_pool2d",
        "fused_flatten",
    ]
    main2 = fused[3]
    assert main2.inputs[0] is fused[1].results[0]  # first use first: the conv input
    assert fused[2].results[0] in list(main2.inputs)  # the residual comes in as an argument
    assert all(isinstance(v.owner, relay.ConstantOp) for v in main2.inputs[1:-1])
    np.testing.assert_allclose(evaluate_function(func, [x])[0], want[0], rtol=1e-6)


def test_resnet_block_max_depth_one_gives_singletons():
    module, func = build_func([(1, 4, 8, 8)], resnet_block)
    n_ops = sum(isinstance(op, relay.RelayOp) for op in func.body.block.ops)
    func = run_pass(module, RelayFuseOpsPass(max_depth=1))
    fused = [op for op in func.body.block.ops if isinstance(op, relay.FusedOp)]
    assert len(fused) == n_ops
    assert all(len(list(f.block.ops)) == 2 for f in fused)
    names = [f.kernel_name.data for f in fused]
    assert len(set(names)) == len(names) and "fused_relu_1" in names


def test_pipeline_option_spelling():
    available = {p.name: (lambda p=p: p) for p in (RelayFuseOpsPass, RelayFoldConstantPass)}
    passes = PassPipeline.parse_spec(available, "relay-fold-constant,relay-fuse-ops{max-depth=3}")
    assert passes.passes[1] == RelayFuseOpsPass(max_depth=3)
    assert RelayFuseOpsPass().max_depth == 8
    with pytest.raises(PipelineError):
        RelayFuseOpsPass(max_depth=0)
