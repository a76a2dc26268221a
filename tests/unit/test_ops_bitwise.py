"""BitwiseAnd/Or/Xor/Not, BitShift and BitCast: compiled code and the constant folder vs numpy.

onnxruntime lacks most of these kernels for the types exercised here, so numpy is the
reference; shift amounts outside [0, width) follow ONNX BitShift (opset 28).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError
from xtvm.passes.relay.eval_bitwise import shift

_ONNX = {
    np.dtype("uint8"): TensorProto.UINT8,
    np.dtype("uint16"): TensorProto.UINT16,
    np.dtype("uint64"): TensorProto.UINT64,
    np.dtype("int8"): TensorProto.INT8,
    np.dtype("int32"): TensorProto.INT32,
    np.dtype("int64"): TensorProto.INT64,
    np.dtype("float32"): TensorProto.FLOAT,
    np.dtype("float64"): TensorProto.DOUBLE,
    np.dtype("bool"): TensorProto.BOOL,
}


def _model(nodes, inputs, outputs, opset=28, inits=()):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, _ONNX[v.dtype], v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, _ONNX[np.dtype(t)], s) for k, (t, s) in outputs.items()],
        initializer=list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _run(nodes, inputs, outputs, opset=28):
    model = _model(nodes, inputs, outputs, opset)
    lib = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in inputs.items()}))
    return lib.run(inputs)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "uint64"])
def test_bitwise_and_or_xor_not_with_broadcasting(dtype: str) -> None:
    dt = np.dtype(dtype)
    info = np.iinfo(dt)
    rng = np.random.default_rng(0)
    a = rng.integers(info.min, info.max, (2, 3, 17), dtype=dt, endpoint=True)
    b = rng.integers(info.min, info.max, (17,), dtype=dt, endpoint=True)
    nodes = [
        helper.make_node("BitwiseAnd", ["a", "b"], ["and"]),
        helper.make_node("BitwiseOr", ["a", "b"], ["or"]),
        helper.make_node("BitwiseXor", ["a", "b"], ["xor"]),
        helper.make_node("BitwiseNot", ["a"], ["not"]),
    ]
    outs = {k: (dtype, [2, 3, 17]) for k in ("and", "or", "xor", "not")}
    got = _run(nodes, {"a": a, "b": b}, outs, opset=18)
    for name, g, w in zip(outs, got, [a & b, a | b, a ^ b, ~a]):
        assert g.dtype == dt
        np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int64"])
def test_bit_shift_in_and_out_of_range(dtype: str) -> None:
    dt = np.dtype(dtype)
    width = dt.itemsize * 8
    info = np.iinfo(dt)
    x = np.array([info.min, info.max, 1, 5, -8 if dt.kind == "i" else 8, 0, 3, 77], dt)
    amounts = [0, 1, width - 1, 3, width, width + 3, 2, 1]
    if dt.kind == "i":
        amounts[-1] = -1  # negative amounts: 0, or -1 for a right shift of a negative value
    s = np.array(amounts, dt)
    nodes = [
        helper.make_node("BitShift", ["x", "s"], ["l"], direction="LEFT"),
        helper.make_node("BitShift", ["x", "s"], ["r"], direction="RIGHT"),
    ]
    got = _run(nodes, {"x": x, "s": s}, {"l": (dtype, [8]), "r": (dtype, [8])})
    want_l = [(int(v) << int(k)) % (1 << width) if 0 <= k < width else 0 for v, k in zip(x, s)]
    want_l = (
        np.array(want_l, np.uint64).astype(dt)
        if dt.kind == "u"
        else np.array(
            [((w + (1 << (width - 1))) % (1 << width)) - (1 << (width - 1)) for w in want_l], dt
        )
    )
    want_r = [int(v) >> int(k) if 0 <= k < width else (-1 if v < 0 else 0) for v, k in zip(x, s)]
    np.testing.assert_array_equal(got[0], want_l)
    np.testing.assert_array_equal(got[1], np.array(want_r, dt))
    # the constant folder agrees with the compiled code
    np.testing.assert_array_equal(shift(x, s, True), got[0])
    np.testing.assert_array_equal(shift(x, s, False), got[1])


def test_bit_shift_folds_on_constants() -> None:
    x = np.array([1, 2, 255], np.uint8)
    s = numpy_helper.from_array(np.array([1, 7, 9], np.uint8), "s")
    model = _model(
        [
            helper.make_node("BitShift", ["s", "s"], ["t"], direction="LEFT"),
            helper.make_node("BitwiseXor", ["x", "t"], ["y"]),
        ],
        {"x": x},
        {"y": ("uint8", [3])},
        inits=[s],
    )
    mod = xtvm.from_onnx(model, {"x": [3]})
    assert "left_shift" not in str(mod)
    got = xtvm.build(mod).run({"x": x})[0]
    np.testing.assert_array_equal(got, x ^ np.array([2, 128, 0], np.uint8))  # 7 << 7 wraps


def test_bit_cast_reinterprets_bits() -> None:
    f = np.array([[1.5, -0.0, np.inf, -3.25]], np.float32)
    d = np.array([[1e-300, -2.5]], np.float64)
    i8 = np.array([[-1, -128, 5]], np.int8)
    b = np.array([[True, False, True]])
    nodes = [
        helper.make_node("BitCast", ["f"], ["f_i32"], to=TensorProto.INT32),
        helper.make_node("BitCast", ["d"], ["d_i64"], to=TensorProto.INT64),
        helper.make_node("BitCast", ["i8"], ["i8_u8"], to=TensorProto.UINT8),
        helper.make_node("BitCast", ["b"], ["b_u8"], to=TensorProto.UINT8),
    ]
    outs = {
        "f_i32": ("int32", [1, 4]),
        "d_i64": ("int64", [1, 2]),
        "i8_u8": ("uint8", [1, 3]),
        "b_u8": ("uint8", [1, 3]),
    }
    got = _run(nodes, {"f": f, "d": d, "i8": i8, "b": b}, outs, opset=26)
    want = [f.view(np.int32), d.view(np.int64), i8.view(np.uint8), b.view(np.uint8)]
    for name, g, w in zip(outs, got, want):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_errors_name_node_and_attribute() -> None:
    x = np.zeros((2,), np.uint8)
    bad_dir = [helper.make_node("BitShift", ["x", "x"], ["y"], direction="UP", name="sh")]
    with pytest.raises(ModelError, match="sh.*direction"):
        xtvm.from_onnx(_model(bad_dir, {"x": x}, {"y": ("uint8", [2])}), {})
    f = np.zeros((2,), np.float32)
    on_float = [helper.make_node("BitwiseAnd", ["f", "f"], ["y"], name="band")]
    with pytest.raises(ModelError, match="band.*integer"):
        xtvm.from_onnx(_model(on_float, {"f": f}, {"y": ("float32", [2])}, opset=18), {})
    widths = [helper.make_node("BitCast", ["f"], ["y"], to=TensorProto.INT64, name="bc")]
    with pytest.raises(ModelError, match="bc.*bit widths"):
        xtvm.from_onnx(_model(widths, {"f": f}, {"y": ("int64", [2])}, opset=26), {})
