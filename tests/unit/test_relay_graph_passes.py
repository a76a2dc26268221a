"""relay graph passes: relay-simplify, relay-simplify-inference, relay-cse, relay-dce.

Random small graphs are built in memory; each pass must keep the numpy evaluator's results
(float32: rtol 1e-5 / atol 1e-6; batch-norm folding rounds weights: rtol 1e-4) and establish
what its docstring guarantees.
"""

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

from xtvm.dialects import relay
from xtvm.passes.registry import parse_pipeline
from xtvm.passes.relay.cse import RelayCsePass
from xtvm.passes.relay.dce import RelayDcePass
from xtvm.passes.relay.evaluate import evaluate_function
from xtvm.passes.relay.simplify import FLT_MAX, RelaySimplifyPass
from xtvm.passes.relay.simplify_inference import RelaySimplifyInferencePass

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Emit = Callable[[Operation], SSAValue]


def build_func(
    arg_shapes: Sequence[Sequence[int]], body: Callable[[list[SSAValue], Emit], list[SSAValue]]
) -> tuple[ModuleOp, FuncOp]:
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


def const(emit: Emit, value: np.ndarray | float, shape: Sequence[int] = ()) -> SSAValue:
    arr = np.broadcast_to(np.asarray(value, np.float32), tuple(shape)) if shape else value
    return emit(relay.ConstantOp.from_numpy(np.ascontiguousarray(arr, np.float32)))


def body_ops(func: FuncOp) -> list[Operation]:
    return [op for op in func.body.block.ops if not isinstance(op, ReturnOp)]


def check_preserved(module, func, inputs, passes, rtol=1e-5, atol=1e-6) -> None:
    before = evaluate_function(func, inputs)
    for p in passes:
        p.apply(Context(), module)
        module.verify()
    after = evaluate_function(func, inputs)
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def rng_for(data: st.DataObject) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


# ----------------------------------------------------------------------------------------------
# relay-simplify
# ----------------------------------------------------------------------------------------------


def factorizations(n: int, rank: int) -> list[tuple[int, ...]]:
    if rank == 1:
        return [(n,)]
    return [
        (d, *r) for d in range(1, n + 1) if n % d == 0 for r in factorizations(n // d, rank - 1)
    ]


ALL_STEPS = (
    "reshape", "flatten", "transpose", "neutral", "other", "clip", "relu", "max0", "concat",
    "combine",
)  # fmt: skip


def simplify_graph(
    data: st.DataObject, x: SSAValue, emit: Emit, steps: Sequence[str] = ALL_STEPS
) -> list[SSAValue]:
    """A chain of layout ops, neutral arithmetic and activations, with some side branches."""
    rng = rng_for(data)
    cur, values = x, [x]
    for _ in range(data.draw(st.integers(1, 10), label="steps")):
        shape = relay.shape_of(cur)
        step = data.draw(st.sampled_from(steps))
        if step == "reshape":
            rank = data.draw(st.integers(1, 4))
            new_shape = data.draw(st.sampled_from(factorizations(int(np.prod(shape)), rank)))
            cur = emit(relay.ReshapeOp(cur, new_shape))
        elif step == "flatten":
            cur = emit(relay.FlattenOp(cur, data.draw(st.integers(0, len(shape)))))
        elif step == "transpose":
            cur = emit(relay.TransposeOp(cur, data.draw(st.permutations(range(len(shape))))))
        elif step == "neutral":
            kind, neutral, pos = data.draw(
                st.sampled_from(
                    [
                        (relay.MultiplyOp, 1.0, 0),
                        (relay.MultiplyOp, 1.0, 1),
                        (relay.DivideOp, 1.0, 1),
                        (relay.AddOp, 0.0, 0),
                        (relay.AddOp, 0.0, 1),
                        (relay.SubtractOp, 0.0, 1),
                    ]
                )  # fmt: skip
            )
            shapes = [shape, shape[1:], (1,)] + ([(2, *shape)] if np.prod(shape) <= 48 else [])
            k = const(emit, neutral, data.draw(st.sampled_from(shapes)))
            cur = emit(kind(*((k, cur) if pos == 0 else (cur, k))))
        elif step == "other":
            kind = data.draw(st.sampled_from([relay.MultiplyOp, relay.AddOp, relay.DivideOp]))
            k = const(emit, rng.uniform(0.5, 1.5, shape))
            cur = emit(kind(cur, k))
        elif step == "clip":
            lo, hi = data.draw(
                st.sampled_from([(-FLT_MAX, FLT_MAX), (-np.inf, np.inf), (-0.5, 0.7)])
            )
            cur = emit(relay.ClipOp(cur, lo, hi))
        elif step == "relu":
            cur = emit(relay.ReluOp(cur))
        elif step == "max0":
            z = const(emit, 0.0, data.draw(st.sampled_from([shape, (1,)])))
            cur = emit(relay.MaximumOp(*((z, cur) if data.draw(st.booleans()) else (cur, z))))
        elif step == "concat":
            cur = emit(relay.ConcatenateOp([cur], data.draw(st.integers(0, len(shape) - 1))))
        else:
            same = [v for v in values if v.type == cur.type]
            cur = emit(relay.AddOp(cur, data.draw(st.sampled_from(same))))
        values.append(cur)
    return [cur, data.draw(st.sampled_from(values))]


def assert_simplified(func: FuncOp) -> None:
    for op in body_ops(func):
        if isinstance(op, (relay.ReshapeOp, relay.FlattenOp)):
            assert op.result.type != op.data.type
            assert not isinstance(op.data.owner, (relay.ReshapeOp, relay.FlattenOp))
        if isinstance(op, relay.TransposeOp):
            assert op.perm != tuple(range(len(op.perm)))
            assert not isinstance(op.data.owner, relay.TransposeOp)
        if isinstance(op, relay.ReluOp):
            assert not isinstance(op.input.owner, relay.ReluOp)
        if isinstance(op, relay.ClipOp):
            assert not (op.a_min.value.data <= -FLT_MAX and op.a_max.value.data >= FLT_MAX)
        if isinstance(op, relay.ConcatenateOp):
            assert len(op.inputs) > 1
        if isinstance(op, (relay.MultiplyOp, relay.AddOp, relay.MaximumOp)):
            neutral = {relay.MultiplyOp: 1.0, relay.AddOp: 0.0, relay.MaximumOp: 0.0}[type(op)]
            for k, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                if isinstance(k.owner, relay.ConstantOp) and other.type == op.result.type:
                    assert not np.all(k.owner.to_numpy() == neutral)
        assert op.results[0].uses, f"dead {op.name} left"


@SETTINGS
@given(st.data())
def test_simplify_preserves_results(data):
    module, func = build_func([(2, 3, 4)], lambda a, emit: simplify_graph(data, a[0], emit))
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    check_preserved(module, func, [x], [RelaySimplifyPass()])
    assert_simplified(func)
    text = str(module)
    RelaySimplifyPass().apply(Context(), module)
    assert str(module) == text  # a fixed point


@SETTINGS
@given(st.data())
def test_layout_chains_preserve_results(data):
    steps = ("reshape", "flatten", "transpose", "transpose", "transpose")
    module, func = build_func([(2, 3, 4)], lambda a, emit: simplify_graph(data, a[0], emit, steps))
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    check_preserved(module, func, [x], [RelaySimplifyPass()], rtol=0, atol=0)
    assert_simplified(func)


def test_simplify_removes_whole_noop_chain():
    def body(a, emit):
        t = emit(relay.TransposeOp(a[0], (1, 0)))
        r = emit(relay.ReshapeOp(emit(relay.ReshapeOp(t, (6,))), (3, 2)))
        u = emit(relay.TransposeOp(r, (1, 0)))
        m = emit(relay.MultiplyOp(const(emit, 1.0, (2, 3)), u))
        return [emit(relay.MaximumOp(emit(relay.ReluOp(m)), const(emit, 0.0, (1,))))]

    module, func = build_func([(2, 3)], body)
    RelaySimplifyPass().apply(Context(), module)
    assert [op.name for op in body_ops(func)] == ["relay.relu"]


# ----------------------------------------------------------------------------------------------
# relay-simplify-inference
# ----------------------------------------------------------------------------------------------


def batch_norm(emit: Emit, x: SSAValue, rng: np.random.Generator, eps: float) -> SSAValue:
    c = relay.shape_of(x)[1]
    gamma, beta, mean = (const(emit, rng.standard_normal(c)) for _ in range(3))
    var = const(emit, rng.uniform(0.1, 2.0, c))
    return emit(relay.BatchNormOp(x, gamma, beta, mean, var, epsilon=eps))


def bn_graph(data: st.DataObject, x: SSAValue, emit: Emit) -> list[SSAValue]:
    """conv2d / dense (with or without a constant bias) + batch norm, or a lone batch norm."""
    rng = rng_for(data)
    n, c, h, w = relay.shape_of(x)
    kind = data.draw(st.sampled_from(["conv", "dense", "lone"]), label="kind")
    eps = data.draw(st.sampled_from([1e-5, 1e-3]))
    outs = []
    if kind == "conv":
        o = data.draw(st.integers(1, 4))
        groups = data.draw(st.sampled_from([g for g in (1, 2, 3, 4) if c % g == 0 and o % g == 0]))
        k, stride, pad = (
            data.draw(st.integers(1, 3)),
            data.draw(st.integers(1, 2)),
            data.draw(st.integers(0, 1)),
        )
        wt = const(emit, rng.standard_normal((o, c // groups, k, k)))
        y = emit(relay.Conv2dOp(x, wt, (stride, stride), (pad,) * 4, (1, 1), groups))
    elif kind == "dense":
        o = data.draw(st.integers(1, 5))
        flat = emit(relay.ReshapeOp(x, (n, c * h * w)))
        y = emit(relay.DenseOp(flat, const(emit, rng.standard_normal((o, c * h * w)))))
    else:
        y = x
    out_shape = relay.shape_of(y)
    if kind != "lone" and data.draw(st.booleans(), label="bias"):
        ch = out_shape[1]
        shapes = [(ch,) + (1,) * (len(out_shape) - 2), (1, *out_shape[1:]), (1,)]
        b = const(emit, rng.standard_normal(data.draw(st.sampled_from(shapes))))
        y = emit(relay.AddOp(*((b, y) if data.draw(st.booleans()) else (y, b))))
    if data.draw(st.booleans(), label="shared"):
        outs.append(y)  # another use: the batch norm cannot fold into the producer
    z = batch_norm(emit, y, rng, eps)
    if data.draw(st.booleans(), label="relu"):
        z = emit(relay.ReluOp(z))
    return [z, *outs]


@SETTINGS
@given(st.data())
def test_simplify_inference_preserves_results(data):
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 4)), 5, 4)
    module, func = build_func([shape], lambda a, emit: bn_graph(data, a[0], emit))
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    check_preserved(module, func, [x], [RelaySimplifyInferencePass()], rtol=1e-4, atol=1e-5)
    assert not any(isinstance(op, relay.BatchNormOp) for op in body_ops(func))
    assert all(op.results[0].uses for op in body_ops(func))


def anchor_bn(anchor: str, bias: bool) -> tuple[ModuleOp, FuncOp, list[np.ndarray]]:
    rng = np.random.default_rng(3)

    def body(a, emit):
        if anchor == "conv":
            y = emit(
                relay.Conv2dOp(
                    a[0], const(emit, rng.standard_normal((4, 3, 3, 3))), padding=(1, 1, 1, 1)
                )
            )
        else:
            y = emit(
                relay.DenseOp(
                    emit(relay.FlattenOp(a[0])), const(emit, rng.standard_normal((4, 48)))
                )
            )
        if bias:
            y = emit(
                relay.AddOp(
                    y, const(emit, rng.standard_normal((4, 1, 1) if anchor == "conv" else (4,)))
                )
            )
        return [batch_norm(emit, y, rng, 1e-5)]

    module, func = build_func([(2, 3, 4, 4)], body)
    return module, func, [rng.standard_normal((2, 3, 4, 4)).astype(np.float32)]


def test_conv_bn_becomes_conv_add():
    for anchor in ("conv", "dense"):
        for bias in (False, True):
            module, func, inputs = anchor_bn(anchor, bias)
            check_preserved(
                module, func, inputs, [RelaySimplifyInferencePass()], rtol=1e-4, atol=1e-5
            )
            names = [op.name for op in body_ops(func) if not isinstance(op, relay.ConstantOp)]
            want = "relay.conv2d" if anchor == "conv" else "relay.dense"
            assert names[-2:] == [want, "relay.add"], names
            add = body_ops(func)[-1]
            bias_shape = relay.shape_of(add.operands[1])
            assert bias_shape == ((1, 4, 1, 1) if anchor == "conv" else (4,))


def test_bn_folding_matches_onnxruntime_style_weights():
    """The folded weight is w * float32(gamma / sqrt(var + eps)), computed in float64."""
    module, func, _ = anchor_bn("conv", False)
    bn = next(op for op in body_ops(func) if isinstance(op, relay.BatchNormOp))
    w = bn.data.owner.weight.owner.to_numpy()
    g, _, _, v = (p.owner.to_numpy() for p in bn.operands[1:])
    scale = (g.astype(np.float64) / np.sqrt(v.astype(np.float64) + np.float32(1e-5))).astype(
        np.float32
    )
    RelaySimplifyInferencePass().apply(Context(), module)
    conv = next(op for op in body_ops(func) if isinstance(op, relay.Conv2dOp))
    np.testing.assert_array_equal(conv.weight.owner.to_numpy(), w * scale[:, None, None, None])


def test_conv_bias_bn_from_onnx_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    from xtvm.frontend.onnx import from_onnx

    rng = np.random.default_rng(8)
    arrays = {
        "w": rng.standard_normal((6, 3, 3, 3)), "b": rng.standard_normal(6),
        "g": rng.standard_normal(6), "be": rng.standard_normal(6),
        "m": rng.standard_normal(6), "v": rng.uniform(0.1, 2.0, 6),
    }  # fmt: skip
    inits = [numpy_helper.from_array(a.astype(np.float32), k) for k, a in arrays.items()]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["y"], epsilon=1e-5),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 6, 6])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {"x": x})
    module = from_onnx(model, shape_dict={"x": (1, 3, 6, 6)})
    RelaySimplifyInferencePass().apply(Context(), module)
    module.verify()
    func = next(op for op in module.ops if isinstance(op, FuncOp))
    names = [op.name for op in body_ops(func) if not isinstance(op, relay.ConstantOp)]
    assert names == ["relay.conv2d", "relay.add"]
    (got,) = evaluate_function(func, [x])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_lone_bn_on_rank3_is_scale_shift():
    rng = np.random.default_rng(4)
    module, func = build_func([(2, 3, 5)], lambda a, emit: [batch_norm(emit, a[0], rng, 1e-3)])
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    check_preserved(module, func, [x], [RelaySimplifyInferencePass()], rtol=1e-4, atol=1e-5)
    ops = body_ops(func)
    assert [op.name for op in ops if not isinstance(op, relay.ConstantOp)] == [
        "relay.multiply",
        "relay.add",
    ]
    assert all(
        relay.shape_of(op.result) == (1, 3, 1) for op in ops if isinstance(op, relay.ConstantOp)
    )


# ----------------------------------------------------------------------------------------------
# relay-cse and relay-dce on random DAGs
# ----------------------------------------------------------------------------------------------


def random_dag(data: st.DataObject, args: list[SSAValue], emit: Emit, dups: list[Operation]):
    """Random ops over earlier values; some ops are cloned (same operands) right away."""
    pool = [np.float32([1.0, -2.0, 0.5]), np.float32([0.25, 0.25, 0.25])]
    values = list(args)
    for _ in range(data.draw(st.integers(1, 12), label="ops")):
        kind = data.draw(st.sampled_from(["const", "unary", "binary", "clip", "transpose2"]))
        if kind == "const":
            op: Operation = relay.ConstantOp.from_numpy(
                np.broadcast_to(data.draw(st.sampled_from(pool)), (2, 3)).copy()
            )
        elif kind == "unary":
            cls = data.draw(st.sampled_from([relay.ReluOp, relay.TanhOp, relay.SigmoidOp]))
            op = cls(data.draw(st.sampled_from(values)))
        elif kind == "binary":
            cls = data.draw(
                st.sampled_from([relay.AddOp, relay.SubtractOp, relay.MultiplyOp, relay.MaximumOp])
            )
            op = cls(data.draw(st.sampled_from(values)), data.draw(st.sampled_from(values)))
        elif kind == "clip":
            hi = data.draw(st.sampled_from([1.0, 2.0]))  # only the attribute tells them apart
            op = relay.ClipOp(data.draw(st.sampled_from(values)), 0.0, hi)
        else:
            t = relay.TransposeOp(data.draw(st.sampled_from(values)), (1, 0))
            emit(t)
            op = relay.TransposeOp(t.result, (1, 0))
        values.append(emit(op))
        if data.draw(st.booleans(), label="dup"):
            source = data.draw(
                st.sampled_from([o.owner for o in values if isinstance(o.owner, Operation)])
            )
            clone = source.clone()
            dups.append(clone)
            values.append(emit(clone))
    k = data.draw(st.integers(1, min(3, len(values))))
    return data.draw(st.lists(st.sampled_from(values), min_size=k, max_size=k))


@SETTINGS
@given(st.data())
def test_cse_preserves_results_and_merges_every_clone(data):
    dups: list[Operation] = []
    module, func = build_func([(2, 3), (2, 3)], lambda a, emit: random_dag(data, a, emit, dups))
    count = len(body_ops(func))
    rng = np.random.default_rng(5)
    inputs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2)]
    check_preserved(module, func, inputs, [RelayCsePass()], rtol=0, atol=0)
    assert len(body_ops(func)) <= count - len(dups)
    assert all(d.parent is None for d in dups)


@SETTINGS
@given(st.data())
def test_dce_erases_exactly_the_dead_ops(data):
    module, func = build_func([(2, 3), (2, 3)], lambda a, emit: random_dag(data, a, emit, []))
    live: set[Operation] = set()
    work = [v.owner for v in func.body.block.last_op.operands]
    while work:
        op = work.pop()
        if isinstance(op, Operation) and op not in live:
            live.add(op)
            work.extend(v.owner for v in op.operands)
    rng = np.random.default_rng(6)
    inputs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(2)]
    check_preserved(module, func, inputs, [RelayDcePass()], rtol=0, atol=0)
    assert set(body_ops(func)) == live


# ----------------------------------------------------------------------------------------------
# the recommended relay pipeline
# ----------------------------------------------------------------------------------------------

# the order recommended for the O1..O3 pipelines
PIPELINE = (
    "relay-fold-constant,relay-simplify-inference,relay-simplify,relay-cse,relay-dce,relay-fuse-ops"
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_recommended_pipeline_preserves_results(data):
    shape = (1, data.draw(st.integers(1, 3)), 5, 4)

    def body(a, emit):
        (z, *rest) = bn_graph(data, a[0], emit)
        return [*simplify_graph(data, z, emit), *rest]

    module, func = build_func([shape], body)
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    check_preserved(module, func, [x], parse_pipeline(PIPELINE), rtol=1e-4, atol=1e-5)
    kinds = {type(op) for op in body_ops(func)}
    assert kinds <= {relay.ConstantOp, relay.FusedOp}
