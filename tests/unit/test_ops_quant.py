"""Quantization family: (De)QuantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
QLinearMatMul, QLinearConv compiled for int8/uint8/int16 and compared with onnxruntime exactly
(integer outputs) or at float32 tolerance (dequantized outputs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError

RNG = np.random.default_rng(0)


def _model(
    nodes: Sequence[onnx.NodeProto],
    feeds: dict[str, np.ndarray],
    outputs: Sequence[str],
    opset: int,
    inits: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    def info(name: str, arr: np.ndarray) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape)
        )

    graph = helper.make_graph(
        list(nodes),
        "g",
        [info(k, v) for k, v in feeds.items()],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m)
    outs = {o.name: o for o in m.graph.value_info}
    for o in m.graph.output:
        if o.name in outs:
            o.CopyFrom(outs[o.name])
    return m


def _check(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    got = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})).run(feeds)
    for out, w, g in zip(model.graph.output, want, got):
        assert g.dtype == w.dtype and g.shape == w.shape, out.name
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6, err_msg=out.name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=out.name)


def _ints(dtype: str, *shape: int) -> np.ndarray:
    info = np.iinfo(dtype)
    return RNG.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def test_quantize_dequantize_per_tensor_axis_and_block() -> None:
    x = (RNG.standard_normal((2, 3, 4)) * 200).astype(np.float32)
    x[0, 0, :] = [0.5, 1.5, 2.5, -0.5]  # ties round to even (scale 1 below)
    inits = {
        "s1": np.float32(1.0),
        "zu": np.uint8(128),
        "s3": np.array([0.5, 2.0, 3.0], np.float32),
        "z3": np.array([-3, 0, 7], np.int8),
        "sb": np.abs(RNG.standard_normal((2, 3, 2))).astype(np.float32) + 0.1,
        "zb": _ints("int16", 2, 3, 2),
    }
    q8 = _ints("uint8", 2, 3, 4)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s1", "zu"], ["qt"]),
        helper.make_node("QuantizeLinear", ["x", "s3", "z3"], ["qa"], axis=1),
        helper.make_node("QuantizeLinear", ["x", "sb", "zb"], ["qb"], axis=2, block_size=2),
        helper.make_node("QuantizeLinear", ["x", "s1"], ["qd"], output_dtype=TensorProto.INT8),
        helper.make_node("DequantizeLinear", ["q8", "s1", "zu"], ["dt"]),
        helper.make_node("DequantizeLinear", ["qa", "s3", "z3"], ["da"], axis=-2),
        helper.make_node("DequantizeLinear", ["qb", "sb", "zb"], ["db"], axis=2, block_size=2),
    ]
    outs = ["qt", "qa", "qb", "qd", "dt", "da", "db"]
    feeds = {"x": x, "q8": q8}
    _check(_model(nodes, feeds, outs, 21, inits), feeds)


def test_quantize_opset13_default_uint8() -> None:
    x = (RNG.standard_normal((3, 5)) * 100).astype(np.float32)
    feeds = {"x": x, "s": np.array(0.7, np.float32)}
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s"], ["d"]),
    ]
    _check(_model(nodes, feeds, ["q", "d"], 13), feeds)


def test_dynamic_quantize_linear() -> None:
    feeds = {
        "a": (RNG.standard_normal((3, 4)) * 5).astype(np.float32),
        "b": np.abs(RNG.standard_normal(6)).astype(np.float32),  # min clamps to 0
        "c": -np.abs(RNG.standard_normal(5)).astype(np.float32),  # max clamps to 0
    }
    nodes = [
        helper.make_node("DynamicQuantizeLinear", [n], [f"{n}y", f"{n}s", f"{n}z"]) for n in feeds
    ]
    _check(_model(nodes, feeds, [f"{n}{o}" for n in feeds for o in "ysz"], 11), feeds)


def test_integer_matmul_accumulates_exactly() -> None:
    """K = 300 uint8 products exceed 2^24, where a float32 sum would round."""
    feeds = {"a": _ints("uint8", 4, 300), "b": _ints("uint8", 300, 3)}
    feeds["a"][:] = 255
    feeds["b"][:, 0] = 255
    inits = {"za": np.uint8(1), "zb": np.array([0, 9, 255], np.uint8)}
    nodes = [
        helper.make_node("MatMulInteger", ["a", "b"], ["plain"]),
        helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["zp"]),
    ]
    _check(_model(nodes, feeds, ["plain", "zp"], 10, inits), feeds)


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_qlinear_matmul_batched(dtype: str) -> None:
    feeds = {"a": _ints(dtype, 2, 3, 5), "b": _ints(dtype, 2, 5, 4)}
    zero = np.array([3], dtype)
    inits = {
        "sa": np.array([0.02], np.float32),
        "sb": np.array([0.03], np.float32),
        "sy": np.array([0.05], np.float32),
        "za": zero,
        "zb": zero,
        "zy": np.array([1], dtype),
    }
    node = helper.make_node("QLinearMatMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"])
    _check(_model([node], feeds, ["y"], 21, inits), feeds)


def test_conv_integer_and_qlinear_conv() -> None:
    feeds = {"x": _ints("uint8", 1, 3, 6, 6), "w": _ints("uint8", 4, 3, 3, 3)}
    inits = {
        "zx": np.uint8(120),
        "zw": np.array([0, 5, 128, 250], np.uint8),
        "sx": np.float32(0.02),
        "sw": np.array([0.01, 0.02, 0.005, 0.03], np.float32),
        "sy": np.float32(0.5),
        "zy": np.uint8(100),
        "bias": np.array([100, -200, 0, 5000], np.int32),
    }
    nodes = [  # onnxruntime's ConvInteger takes a per-tensor weight zero point only
        helper.make_node("ConvInteger", ["x", "w", "zx", "zy"], ["ci"], pads=[1, 1, 1, 1]),
        helper.make_node(
            "QLinearConv",
            ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy", "bias"],
            ["qc"],
            strides=[2, 2],
        ),
    ]
    _check(_model(nodes, feeds, ["ci", "qc"], 10, inits), feeds)


def test_quantize_rejects_float_precision_and_mismatched_zero_point() -> None:
    feeds = {"x": np.ones((2, 2), np.float32)}
    inits = {"s": np.float32(1.0), "z": np.int8(0)}
    node = helper.make_node(
        "QuantizeLinear", ["x", "s", "z"], ["y"], name="q", output_dtype=TensorProto.UINT8
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [2, 2])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    with pytest.raises(ModelError, match="'q'.*output_dtype"):
        xtvm.from_onnx(model, {"x": feeds["x"].shape})
