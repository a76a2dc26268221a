"""Unsigned integer and float64 tensors end to end, compared with onnxruntime.

Unsigned values above the signed range catch any signed division, remainder, comparison,
max/min or widening slipping into the lowering; float64 checks that math runs at double
precision (results compared far below float32 resolution).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import xtvm

_ONNX = {
    np.dtype("uint8"): TensorProto.UINT8,
    np.dtype("uint16"): TensorProto.UINT16,
    np.dtype("uint32"): TensorProto.UINT32,
    np.dtype("uint64"): TensorProto.UINT64,
    np.dtype("float64"): TensorProto.DOUBLE,
    np.dtype("float32"): TensorProto.FLOAT,
    np.dtype("int32"): TensorProto.INT32,
    np.dtype("int8"): TensorProto.INT8,
    np.dtype("bool"): TensorProto.BOOL,
}


def _run_both(
    nodes, inputs: dict[str, np.ndarray], outputs: dict[str, tuple], opset: int = 18, ort_ref=True
):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, _ONNX[v.dtype], v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, _ONNX[np.dtype(t)], s) for k, (t, s) in outputs.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    lib = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in inputs.items()}))
    got = lib.run(inputs)
    if not ort_ref:
        return got, None
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, inputs)
    return got, want


@pytest.mark.parametrize("dtype", ["uint8", "uint32", "uint64"])
def test_unsigned_arithmetic_compare_and_cast(dtype: str) -> None:
    dt = np.dtype(dtype)
    top = np.iinfo(dt).max
    rng = np.random.default_rng(1)
    # values straddle the signed midpoint so signed ops would give different answers
    x = np.concatenate([rng.integers(0, top // 2, 8, dtype=dt), [top, top - 3, top // 2 + 7]])
    x = np.concatenate([x, rng.integers(top // 2, top, 5, dtype=dt)]).astype(dt).reshape(4, 4)
    y = np.maximum(rng.integers(1, top, (4, 4), dtype=dt), 1).astype(dt)
    y[0, 0] = top
    ops = [("Add", "add"), ("Sub", "sub"), ("Mul", "mul"), ("Div", "div"), ("Max", "max")]
    ops += [("Min", "min"), ("Less", "lt"), ("GreaterOrEqual", "ge"), ("Equal", "eq")]
    nodes = [helper.make_node(op, ["x", "y"], [out]) for op, out in ops]
    nodes.append(helper.make_node("Mod", ["x", "y"], ["mod"]))
    nodes.append(helper.make_node("Cast", ["x"], ["to_f"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Cast", ["x"], ["to_d"], to=TensorProto.DOUBLE))
    nodes.append(helper.make_node("ReduceMax", ["x"], ["rmax"], keepdims=0, axes=[1]))
    outs = {name: (dtype, [4, 4]) for _, name in ops}
    outs.update({k: ("bool", [4, 4]) for k in ("lt", "ge", "eq")})
    outs.update(mod=(dtype, [4, 4]), to_f=("float32", [4, 4]), to_d=("float64", [4, 4]))
    outs["rmax"] = (dtype, [4])
    # onnxruntime's CPU provider lacks most unsigned kernels: numpy is the reference
    got, _ = _run_both(nodes, {"x": x, "y": y}, outs, opset=13, ort_ref=False)
    want = [x + y, x - y, x * y, x // y, np.maximum(x, y), np.minimum(x, y), x < y, x >= y]
    want += [x == y, x % y, x.astype(np.float32), x.astype(np.float64), x.max(axis=1)]
    for name, g, w in zip(outs, got, want):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_casts_between_signed_and_unsigned_follow_numpy() -> None:
    x = np.array([[-128, -1, 0, 1, 127, -77]], np.int8)
    u = np.array([[0, 1, 128, 200, 255, 77]], np.uint8)
    nodes = [
        helper.make_node("Cast", ["x"], ["x_u8"], to=TensorProto.UINT8),
        helper.make_node("Cast", ["x"], ["x_u32"], to=TensorProto.UINT32),
        helper.make_node("Cast", ["u"], ["u_i8"], to=TensorProto.INT8),
        helper.make_node("Cast", ["u"], ["u_i32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["u"], ["u_u64"], to=TensorProto.UINT64),
    ]
    outs = {
        "x_u8": ("uint8", [1, 6]),
        "x_u32": ("uint32", [1, 6]),
        "u_i8": ("int8", [1, 6]),
        "u_i32": ("int32", [1, 6]),
        "u_u64": ("uint64", [1, 6]),
    }
    got, _ = _run_both(nodes, {"x": x, "u": u}, outs, ort_ref=False)
    want = [x.astype(np.uint8), x.astype(np.uint32), u.astype(np.int8), u.astype(np.int32)]
    want.append(u.astype(np.uint64))
    for name, g, w in zip(outs, got, want):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_float64_math_keeps_double_precision() -> None:
    rng = np.random.default_rng(2)
    x = (rng.random((3, 17)) + 0.5).astype(np.float64)
    y = (rng.random((3, 17)) + 0.5).astype(np.float64)
    nodes = [
        helper.make_node("Add", ["x", "y"], ["add"]),
        helper.make_node("Div", ["x", "y"], ["div"]),
        helper.make_node("Exp", ["x"], ["exp"]),
        helper.make_node("Log", ["x"], ["log"]),
        helper.make_node("Sqrt", ["x"], ["sqrt"]),
        helper.make_node("ReduceLogSumExp", ["x"], ["lse"], keepdims=0, axes=[1]),
        helper.make_node("Cast", ["x"], ["to_f"], to=TensorProto.FLOAT),
        helper.make_node("Less", ["x", "y"], ["lt"]),
    ]
    outs = {k: ("float64", [3, 17]) for k in ("add", "div", "exp", "log", "sqrt")}
    outs.update(lse=("float64", [3]), to_f=("float32", [3, 17]), lt=("bool", [3, 17]))
    got, want = _run_both(nodes, {"x": x, "y": y}, outs, opset=13)
    for name, g, w in zip(outs, got, want):
        assert g.dtype == w.dtype, name
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0, err_msg=name)
