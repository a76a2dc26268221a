"""ONNX frontend: each converter family imports to verified relay that computes what
onnxruntime computes.

The relay graph is evaluated by a small numpy interpreter written here (one function per
relay op), independent of the compiler's own lowering.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from xtvm.dialects import relay
from xtvm.frontend import from_onnx

RNG = np.random.default_rng(0)

# ----------------------------------------------------------------------------------------------
# numpy reference for relay ops
# ----------------------------------------------------------------------------------------------


def _ints(attr) -> list[int]:
    return [int(v) for v in attr.get_values()]


def _conv2d(op: relay.Conv2dOp, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    (sh, sw), (pt, pl, pb, pr), (dh, dw), groups = op.attrs
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow), np.float64)
    og = o // groups
    for g in range(groups):
        xs, ws = xp[:, g * cg : (g + 1) * cg], w[g * og : (g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh][
                    :, :, :, j * dw : j * dw + sw * (ow - 1) + 1 : sw
                ]
                out[:, g * og : (g + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    return out


def _pool2d(op: relay.Pool2dOp, x: np.ndarray) -> np.ndarray:
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw), _ = op.attrs
    _, _, oh, ow = relay.shape_of(op.result)
    h, w = x.shape[2:]
    is_max = isinstance(op, relay.MaxPool2dOp)
    include = not is_max and op.include_pad
    out = np.zeros((*x.shape[:2], oh, ow), np.float64)
    for y in range(oh):
        for z in range(ow):
            rows = [y * sh - pt + i * dh for i in range(kh)]
            cols = [z * sw - pl + j * dw for j in range(kw)]
            vr = [r for r in rows if 0 <= r < h]
            vc = [c for c in cols if 0 <= c < w]
            win = x[:, :, vr][:, :, :, vc]
            if is_max:
                out[:, :, y, z] = win.max(axis=(2, 3))
                continue
            if include:  # the window clipped to the padded extent
                count = sum(-pt <= r < h + pb for r in rows) * sum(-pl <= c < w + pr for c in cols)
            else:
                count = len(vr) * len(vc)
            out[:, :, y, z] = win.sum(axis=(2, 3)) / count
    return out


def _softmax(op: relay.SoftmaxOp, x: np.ndarray) -> np.ndarray:
    a = op.axis.value.data
    e = np.exp(x - x.max(axis=a, keepdims=True))
    return e / e.sum(axis=a, keepdims=True)


def _batch_norm(op: relay.BatchNormOp, x, g, b, m, v) -> np.ndarray:
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = op.epsilon.value.data
    return (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps) * g.reshape(shape) + b.reshape(
        shape
    )


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    relay.ConstantOp: lambda op: op.to_numpy(),
    relay.AddOp: lambda op, a, b: a + b,
    relay.SubtractOp: lambda op, a, b: a - b,
    relay.MultiplyOp: lambda op, a, b: a * b,
    relay.DivideOp: lambda op, a, b: a / b,
    relay.MaximumOp: lambda op, a, b: np.maximum(a, b),
    relay.MinimumOp: lambda op, a, b: np.minimum(a, b),
    relay.ReluOp: lambda op, x: np.maximum(x, 0),
    relay.SigmoidOp: lambda op, x: 1 / (1 + np.exp(-x)),
    relay.TanhOp: lambda op, x: np.tanh(x),
    relay.ExpOp: lambda op, x: np.exp(x),
    relay.ClipOp: lambda op, x: np.clip(x, op.a_min.value.data, op.a_max.value.data),
    relay.Conv2dOp: _conv2d,
    relay.DenseOp: lambda op, x, w: x @ w.T,
    relay.BatchMatmulOp: lambda op, a, b: a @ b,
    relay.MaxPool2dOp: _pool2d,
    relay.AvgPool2dOp: _pool2d,
    relay.GlobalAvgPool2dOp: lambda op, x: x.mean(axis=(2, 3), keepdims=True),
    relay.BatchNormOp: _batch_norm,
    relay.SoftmaxOp: _softmax,
    relay.ReshapeOp: lambda op, x: x.reshape(relay.shape_of(op.result)),
    relay.FlattenOp: lambda op, x: x.reshape(relay.shape_of(op.result)),
    relay.TransposeOp: lambda op, x: np.transpose(x, op.perm),
    relay.ConcatenateOp: lambda op, *xs: np.concatenate(xs, axis=op.axis.value.data),
}


def main_of(mod: ModuleOp) -> func.FuncOp:
    (main,) = list(mod.ops)
    assert isinstance(main, func.FuncOp) and main.sym_name.data == "main"
    return main


def arg_names(main: func.FuncOp) -> list[str]:
    return [d.data["xtvm.name"].data for d in (main.arg_attrs or [])]


def res_names(main: func.FuncOp) -> list[str]:
    return [d.data["xtvm.name"].data for d in (main.res_attrs or [])]


def run_relay(mod: ModuleOp, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    main = main_of(mod)
    env = {a: feeds[n].astype(np.float64) for a, n in zip(main.body.block.args, arg_names(main))}
    for op in main.body.block.ops:
        if isinstance(op, func.ReturnOp):
            return [env[v] for v in op.operands]
        out = REFERENCE[type(op)](op, *[env[v] for v in op.operands])
        assert out.shape == relay.shape_of(op.results[0]), op.name
        env[op.results[0]] = out
    raise AssertionError("no func.return")


def ops_of(mod: ModuleOp, cls: type[Operation]) -> list[Operation]:
    return [op for op in main_of(mod).body.block.ops if isinstance(op, cls)]


# ----------------------------------------------------------------------------------------------
# model building and the comparison with onnxruntime
# ----------------------------------------------------------------------------------------------


def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: dict[str, Sequence[int | str]],
    outputs: dict[str, Sequence[int | str]],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 13,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in (inits or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def check(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    shape_dict: dict[str, Sequence[int]] | None = None,
) -> ModuleOp:
    """Import, verify, and compare the relay graph's numbers with onnxruntime's."""
    mod = from_onnx(model, shape_dict)
    mod.verify()
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    got = run_relay(mod, feeds)
    assert res_names(main_of(mod)) == [o.name for o in model.graph.output]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    return mod


# ----------------------------------------------------------------------------------------------
# elementwise
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 13, 17, 21])
def test_binary_broadcast_and_activations(opset: int) -> None:
    nodes = [
        helper.make_node("Add", ["x", "c"], ["a"]),
        helper.make_node("Sub", ["a", "z"], ["s"]),
        helper.make_node("Mul", ["s", "x"], ["m"]),
        helper.make_node("Div", ["m", "d"], ["q"]),
        helper.make_node("Relu", ["q"], ["r"]),
        helper.make_node("Sigmoid", ["r"], ["sg"]),
        helper.make_node("Tanh", ["q"], ["t"]),
        helper.make_node("Exp", ["t"], ["e"]),
        helper.make_node("Max", ["sg", "e", "z"], ["mx"]),
        helper.make_node("Min", ["sg", "e"], ["mn"]),
        helper.make_node("Max", ["mn"], ["one"]),
    ]
    inits = {"c": rand(4), "d": np.full((1, 1, 4), 2.5, np.float32)}
    model = make_model(
        nodes, {"x": [2, 3, 4], "z": [3, 1]}, {"mx": [2, 3, 4], "one": [2, 3, 4]}, inits, opset
    )
    mod = check(model, {"x": rand(2, 3, 4), "z": rand(3, 1)})
    assert len(ops_of(mod, relay.MaximumOp)) == 2  # 3-input Max folds pairwise
    assert len(ops_of(mod, relay.MinimumOp)) == 1
    assert arg_names(main_of(mod)) == ["x", "z"]


@pytest.mark.parametrize(
    ("bounds", "expect"),
    [
        ({"lo": -0.5, "hi": 0.5}, (-0.5, 0.5)),
        ({"lo": 0.0}, (0.0, float(np.finfo(np.float32).max))),
        ({"hi": 6.0}, (-float(np.finfo(np.float32).max), 6.0)),
        ({}, (-float(np.finfo(np.float32).max), float(np.finfo(np.float32).max))),
    ],
)
@pytest.mark.parametrize("opset", [11, 13])
def test_clip_bounds_from_inputs(bounds: dict[str, float], expect, opset: int) -> None:
    names = [("lo" if "lo" in bounds else ""), ("hi" if "hi" in bounds else "")]
    while names and not names[-1]:
        names.pop()
    nodes = [
        helper.make_node("Constant", [], [n], value=numpy_helper.from_array(np.float32(v)))
        for n, v in bounds.items()
    ] + [helper.make_node("Clip", ["x", *names], ["y"])]
    model = make_model(nodes, {"x": [2, 5]}, {"y": [2, 5]}, opset=opset)
    mod = check(model, {"x": 2 * rand(2, 5)})
    (clip,) = ops_of(mod, relay.ClipOp)
    assert (clip.a_min.value.data, clip.a_max.value.data) == pytest.approx(expect)
    assert not ops_of(mod, relay.ConstantOp)  # bounds are read at import time


# ----------------------------------------------------------------------------------------------
# convolution and pooling
# ----------------------------------------------------------------------------------------------

CONV_CASES = [
    ({"pads": [1, 1, 1, 1]}, 1, [1, 4, 7, 7]),
    ({"strides": [2, 1], "pads": [0, 1, 2, 1]}, 1, [1, 4, 4, 7]),
    ({"dilations": [2, 2], "pads": [2, 2, 2, 2]}, 1, [1, 4, 7, 7]),
    ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, 1, [1, 4, 4, 4]),
    ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, 1, [1, 4, 4, 4]),
    ({"auto_pad": "VALID"}, 1, [1, 4, 5, 5]),
    ({"group": 2, "pads": [1, 1, 1, 1]}, 2, [1, 4, 7, 7]),
]


@pytest.mark.parametrize(("attrs", "group", "out"), CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv(attrs: dict, group: int, out: list[int], bias: bool) -> None:
    w = rand(4, 4 // group, 3, 3)
    inits = {"w": w, "b": rand(4)} if bias else {"w": w}
    ins = ["x", "w", "b"] if bias else ["x", "w"]
    node = helper.make_node("Conv", ins, ["y"], kernel_shape=[3, 3], name="conv", **attrs)
    mod = check(make_model([node], {"x": [1, 4, 7, 7]}, {"y": out}, inits), {"x": rand(1, 4, 7, 7)})
    (conv,) = ops_of(mod, relay.Conv2dOp)
    assert conv.attrs[3] == group
    assert len(ops_of(mod, relay.AddOp)) == int(bias)


def test_conv_same_padding_is_asymmetric_as_onnx_says() -> None:
    # in 6, k 2, stride 1: one pad, at the end for SAME_UPPER and at the start for SAME_LOWER
    for mode, want in (("SAME_UPPER", (0, 0, 1, 1)), ("SAME_LOWER", (1, 1, 0, 0))):
        node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=mode)
        model = make_model(
            [node], {"x": [1, 1, 6, 6]}, {"y": [1, 1, 6, 6]}, {"w": rand(1, 1, 2, 2)}
        )
        mod = check(model, {"x": rand(1, 1, 6, 6)})
        assert ops_of(mod, relay.Conv2dOp)[0].attrs[1] == want


def test_conv_weight_from_input_and_depthwise() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=3, strides=[2, 2])
    model = make_model([node], {"x": [2, 3, 5, 5], "w": [3, 1, 3, 3]}, {"y": [2, 3, 2, 2]})
    check(model, {"x": rand(2, 3, 5, 5), "w": rand(3, 1, 3, 3)})


POOL_CASES = [
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2]}, [1, 2, 3, 3], 11),
    (
        "MaxPool",
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
        [1, 2, 4, 4],
        13,
    ),
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, [1, 2, 4, 4], 17),
    ("MaxPool", {"kernel_shape": [2, 2], "dilations": [2, 2]}, [1, 2, 5, 5], 21),
    (
        "MaxPool",
        {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]},
        [1, 2, 4, 4],
        13,
    ),
    ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, [1, 2, 7, 7], 11),
    (
        "AveragePool",
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
        [1, 2, 7, 7],
        13,
    ),
    (
        "AveragePool",
        {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1, "count_include_pad": 1},
        [1, 2, 4, 4],
        17,
    ),
    ("AveragePool", {"kernel_shape": [2, 2], "dilations": [2, 2]}, [1, 2, 5, 5], 19),
    ("AveragePool", {"kernel_shape": [2, 2], "auto_pad": "SAME_LOWER"}, [1, 2, 7, 7], 21),
]


@pytest.mark.parametrize(("op_type", "attrs", "out", "opset"), POOL_CASES)
def test_pool(op_type: str, attrs: dict, out: list[int], opset: int) -> None:
    node = helper.make_node(op_type, ["x"], ["y"], **attrs)
    model = make_model([node], {"x": [1, 2, 7, 7]}, {"y": out}, opset=opset)
    mod = check(model, {"x": rand(1, 2, 7, 7)})
    cls = relay.MaxPool2dOp if op_type == "MaxPool" else relay.AvgPool2dOp
    (pool,) = ops_of(mod, cls)
    assert pool.attrs[0] == tuple(attrs["kernel_shape"])
    if op_type == "AveragePool":
        assert pool.include_pad == bool(attrs.get("count_include_pad", 0))


def test_global_average_pool_and_batch_norm() -> None:
    nodes = [
        helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["n"], epsilon=1e-3),
        helper.make_node("GlobalAveragePool", ["n"], ["y"]),
    ]
    inits = {"g": rand(3), "b": rand(3), "m": rand(3), "v": np.abs(rand(3)) + 0.5}
    for opset in (11, 15):
        model = make_model(nodes, {"x": [2, 3, 4, 4]}, {"y": [2, 3, 1, 1]}, inits, opset)
        mod = check(model, {"x": rand(2, 3, 4, 4)})
        (bn,) = ops_of(mod, relay.BatchNormOp)
        assert bn.epsilon.value.data == pytest.approx(1e-3)


# ----------------------------------------------------------------------------------------------
# dense algebra
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.0), (0.5, 2.0)])
def test_gemm_constant_b(trans_a: int, trans_b: int, alpha: float, beta: float) -> None:
    a_shape = [5, 3] if trans_a else [3, 5]
    b = rand(4, 5) if trans_b else rand(5, 4)
    node = helper.make_node(
        "Gemm", ["a", "b", "c"], ["y"], transA=trans_a, transB=trans_b, alpha=alpha, beta=beta
    )
    model = make_model([node], {"a": a_shape}, {"y": [3, 4]}, {"b": b, "c": rand(4)}, opset=11)
    mod = check(model, {"a": rand(*a_shape)})
    (dense,) = ops_of(mod, relay.DenseOp)
    assert relay.shape_of(dense.weight) == (4, 5)  # B is transposed at import time
    assert len(ops_of(mod, relay.TransposeOp)) == trans_a
    assert not ops_of(mod, relay.MultiplyOp)  # alpha and beta folded into the constants


def test_gemm_runtime_operands_and_no_bias() -> None:
    nodes = [
        helper.make_node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=3.0),
        helper.make_node("Gemm", ["a", "b"], ["z"], transB=0),
    ]
    model = make_model(
        nodes, {"a": [3, 5], "b": [5, 4], "c": [3, 4]}, {"y": [3, 4], "z": [3, 4]}, opset=13
    )
    mod = check(model, {"a": rand(3, 5), "b": rand(5, 4), "c": rand(3, 4)})
    assert ops_of(mod, relay.TransposeOp)
    assert len(ops_of(mod, relay.MultiplyOp)) == 2


MATMUL_CASES = [
    ([3, 5], [5, 4], [3, 4], True, relay.DenseOp),
    ([3, 5], [5, 4], [3, 4], False, relay.BatchMatmulOp),
    ([2, 3, 5], [5, 4], [2, 3, 4], True, relay.DenseOp),
    ([2, 1, 3, 5], [4, 5, 6], [2, 4, 3, 6], False, relay.BatchMatmulOp),
    ([5], [2, 5, 3], [2, 3], False, relay.BatchMatmulOp),
    ([2, 3, 5], [5], [2, 3], True, relay.DenseOp),
    ([5], [5], [], False, relay.BatchMatmulOp),
]


@pytest.mark.parametrize(("sa", "sb", "out", "const_b", "expect"), MATMUL_CASES)
def test_matmul(sa, sb, out, const_b: bool, expect: type) -> None:
    b = rand(*sb)
    inputs = {"a": sa} if const_b else {"a": sa, "b": sb}
    model = make_model(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        inputs,
        {"y": out},
        {"b": b} if const_b else None,
    )
    feeds = {"a": rand(*sa)} if const_b else {"a": rand(*sa), "b": b}
    mod = check(model, feeds)
    assert ops_of(mod, expect)


# ----------------------------------------------------------------------------------------------
# softmax: opset < 13 flattens at axis, opset >= 13 normalizes one axis
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opset", "axis", "n_reshapes"), [(11, 1, 2), (11, 0, 2), (11, 2, 0), (13, 1, 0), (21, -2, 0)]
)
def test_softmax(opset: int, axis: int, n_reshapes: int) -> None:
    node = helper.make_node("Softmax", ["x"], ["y"], axis=axis)
    model = make_model([node], {"x": [2, 3, 4]}, {"y": [2, 3, 4]}, opset=opset)
    mod = check(model, {"x": rand(2, 3, 4)})
    assert len(ops_of(mod, relay.ReshapeOp)) == n_reshapes


def test_softmax_default_axis_differs_by_opset() -> None:
    for opset, want_axis in ((11, 1), (13, 1)):
        model = make_model(
            [helper.make_node("Softmax", ["x"], ["y"])], {"x": [2, 6]}, {"y": [2, 6]}, opset=opset
        )
        mod = check(model, {"x": rand(2, 6)})
        assert ops_of(mod, relay.SoftmaxOp)[0].axis.value.data == want_axis


# ----------------------------------------------------------------------------------------------
# layout ops
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "out", "allowzero", "opset"),
    [
        ([0, -1], [2, 12], 0, 13),
        ([-1, 4], [6, 4], 0, 11),
        ([2, 0, 2, 2], [2, 3, 2, 2], 0, 14),
        ([4, 3, 2], [4, 3, 2], 1, 21),
    ],
)
def test_reshape(spec: list[int], out: list[int], allowzero: int, opset: int) -> None:
    attrs = {"allowzero": allowzero} if opset >= 14 else {}
    nodes = [
        helper.make_node("Constant", [], ["s"], value=numpy_helper.from_array(np.array(spec))),
        helper.make_node("Reshape", ["x", "s"], ["y"], **attrs),
    ]
    model = make_model(nodes, {"x": [2, 3, 4]}, {"y": out}, opset=opset)
    mod = check(model, {"x": rand(2, 3, 4)})
    (r,) = ops_of(mod, relay.ReshapeOp)
    assert relay.shape_of(r.result) == tuple(out)
    assert not ops_of(mod, relay.ConstantOp)  # the int64 shape is gone after import


@pytest.mark.parametrize(("axis", "out"), [(0, [1, 24]), (2, [6, 4]), (-1, [6, 4]), (3, [24, 1])])
def test_flatten(axis: int, out: list[int]) -> None:
    model = make_model(
        [helper.make_node("Flatten", ["x"], ["y"], axis=axis)], {"x": [2, 3, 4]}, {"y": out}
    )
    mod = check(model, {"x": rand(2, 3, 4)})
    assert ops_of(mod, relay.FlattenOp)


def test_transpose_and_concat() -> None:
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Transpose", ["x"], ["r"]),
        helper.make_node("Transpose", ["r"], ["rr"]),
        helper.make_node("Concat", ["t", "c", "t"], ["y"], axis=-1),
    ]
    model = make_model(
        nodes, {"x": [2, 3, 4]}, {"y": [2, 4, 8], "rr": [2, 3, 4]}, {"c": rand(2, 4, 2)}
    )
    mod = check(model, {"x": rand(2, 3, 4)})
    (cat,) = ops_of(mod, relay.ConcatenateOp)
    assert cat.axis.value.data == 2
    assert [t.perm for t in ops_of(mod, relay.TransposeOp)] == [(0, 2, 1), (2, 1, 0), (2, 1, 0)]


def test_layout_ops_on_constants_fold_at_import() -> None:
    # a transposed, flattened, concatenated weight chain reaches relay as one constant
    nodes = [
        helper.make_node("Transpose", ["w"], ["wt"], perm=[1, 0]),
        helper.make_node("Concat", ["wt", "wt"], ["wc"], axis=0),
        helper.make_node("Flatten", ["wc"], ["wf"], axis=0),
        helper.make_node("Reshape", ["wf", "s"], ["wr"]),
        helper.make_node("Add", ["x", "wr"], ["y"]),
    ]
    inits = {"w": rand(2, 3), "s": np.array([6, 2], np.int64)}
    model = make_model(nodes, {"x": [6, 2]}, {"y": [6, 2]}, inits)
    mod = check(model, {"x": rand(6, 2)})
    assert [op.name for op in main_of(mod).body.block.ops] == [
        "relay.constant",
        "relay.add",
        "func.return",
    ]


# ----------------------------------------------------------------------------------------------
# plumbing: Identity, Constant, Dropout, initializers, names, loading
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 12, 13, 21])
def test_identity_constant_dropout(opset: int) -> None:
    tensor = numpy_helper.from_array(rand(3, 1), "t")
    if opset >= 12:  # the typed value_* attributes exist from opset 12
        scalars = [
            helper.make_node("Constant", [], ["f"], value_float=2.0),
            helper.make_node("Constant", [], ["fs"], value_floats=[1.0, 2.0, 3.0, 4.0]),
            helper.make_node("Constant", [], ["i"], value_int=-1),
        ]
    else:
        scalars = [
            helper.make_node("Constant", [], [n], value=numpy_helper.from_array(np.asarray(v)))
            for n, v in (
                ("f", np.float32(2)),
                ("fs", np.arange(4, dtype=np.float32)),
                ("i", np.int64(-1)),
            )
        ]
    nodes = [
        helper.make_node("Constant", [], ["k"], value=tensor),
        *scalars,
        helper.make_node("Identity", ["x"], ["id"]),
        helper.make_node("Dropout", ["id"], ["d", "mask"] if opset >= 12 else ["d"]),
        helper.make_node("Mul", ["d", "k"], ["m"]),
        helper.make_node("Mul", ["m", "f"], ["m2"]),
        helper.make_node("Add", ["m2", "fs"], ["y"]),
    ]
    model = make_model(nodes, {"x": [2, 3, 4]}, {"y": [2, 3, 4]}, opset=opset)
    mod = check(model, {"x": rand(2, 3, 4)})
    consts = ops_of(mod, relay.ConstantOp)
    assert len(consts) == 3  # the unused int constant is dropped


def test_wider_floats_become_float32_and_ints_int64() -> None:
    nodes = [
        helper.make_node("Reshape", ["w", "s"], ["wr"]),
        helper.make_node("Add", ["x", "wr"], ["y"]),
    ]
    inits = {"w": np.arange(6.0), "s": np.array([2, 3], np.int32)}  # float64 and int32
    mod = from_onnx(make_model(nodes, {"x": [2, 3]}, {"y": [2, 3]}, inits))
    mod.verify()
    (c,) = ops_of(mod, relay.ConstantOp)
    assert c.to_numpy().dtype == np.float32
    np.testing.assert_array_equal(c.to_numpy(), np.arange(6.0).reshape(2, 3))


def test_initializer_listed_as_input_is_a_constant() -> None:
    node = helper.make_node("Add", ["x", "w"], ["y"])
    model = make_model([node], {"x": [2, 3], "w": [2, 3]}, {"y": [2, 3]}, {"w": rand(2, 3)})
    model.ir_version = 3  # IR < 4 requires initializers to be listed as graph inputs
    mod = from_onnx(model)
    mod.verify()
    main = main_of(mod)
    assert arg_names(main) == ["x"]
    assert len(main.body.block.args) == 1
    assert len(ops_of(mod, relay.ConstantOp)) == 1


def test_symbolic_dims_bind_across_inputs_and_names_are_kept() -> None:
    nodes = [helper.make_node("Add", ["x", "z"], ["out:0"])]
    model = make_model(nodes, {"x": ["batch", 4], "z": ["batch", 4]}, {"out:0": ["batch", 4]})
    mod = check(model, {"x": rand(3, 4), "z": rand(3, 4)}, shape_dict={"x": (3, 4)})
    main = main_of(mod)
    assert [relay.shape_of(a) for a in main.body.block.args] == [(3, 4), (3, 4)]
    assert arg_names(main) == ["x", "z"] and res_names(main) == ["out:0"]
    assert "xtvm.name" in str(mod)


def test_graph_output_may_be_an_input_or_listed_twice() -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["r"])], {"x": [2]}, {"r": [2], "x": [2]})
    mod = check(model, {"x": rand(2)})
    assert res_names(main_of(mod)) == ["r", "x"]


def test_load_from_path_and_bytes(tmp_path) -> None:
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 4]}, {"y": [1, 4]})
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    for source in (str(path), path, model.SerializeToString(), model):
        mod = from_onnx(source)
        mod.verify()
        assert ops_of(mod, relay.ReluOp)


def test_external_data_is_loaded(tmp_path) -> None:
    w = rand(64, 64)
    model = make_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": [2, 64]}, {"y": [2, 64]}, {"w": w}
    )
    path = tmp_path / "ext.onnx"
    onnx.save(model, path, save_as_external_data=True, location="w.bin", size_threshold=0)
    mod = from_onnx(path)
    (dense,) = ops_of(mod, relay.DenseOp)
    np.testing.assert_array_equal(dense.weight.owner.to_numpy(), w.T)
