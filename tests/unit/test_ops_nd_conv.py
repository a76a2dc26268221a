"""Conv, MaxPool, AveragePool and GlobalAveragePool on 1-D and 3-D inputs (rewritten onto
relay's 2-D ops by the converter) against onnxruntime."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError
from xtvm.testing.onnx_check import check_model

RNG = np.random.default_rng(1)
F = TensorProto.FLOAT


def _model(
    nodes: Sequence[onnx.NodeProto],
    inputs: dict[str, tuple[int, ...]],
    outputs: Sequence[str],
    opset: int,
    inits: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info(n, F, list(s)) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, F, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    return onnx.shape_inference.infer_shapes(m)


def _check(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    check_model(model, feeds, evaluate=False)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_conv_1d_and_3d():
    inits = {
        "w1": _x(4, 3, 3),
        "b1": _x(4),
        "wg": _x(6, 1, 2),
        "w3": _x(4, 2, 2, 3, 2),
        "b3": _x(4),
    }
    nodes = [
        helper.make_node("Conv", ["x1", "w1", "b1"], ["c1"], pads=[1, 2], strides=[2]),
        helper.make_node("Conv", ["x1", "w1"], ["c2"], dilations=[2], pads=[0, 3]),
        helper.make_node("Conv", ["xg", "wg"], ["c3"], group=6),
        helper.make_node(
            "Conv",
            ["x3", "w3", "b3"],
            ["c4"],
            pads=[1, 0, 1, 0, 1, 1],
            strides=[2, 1, 2],
            dilations=[1, 2, 1],
        ),
        helper.make_node("Conv", ["x3", "w3"], ["c5"], group=1, auto_pad="SAME_LOWER"),
    ]
    feeds = {"x1": _x(2, 3, 9), "xg": _x(1, 6, 5), "x3": _x(2, 2, 5, 6, 4)}
    outs = ["c1", "c2", "c3", "c4", "c5"]
    _check(_model(nodes, {k: v.shape for k, v in feeds.items()}, outs, 13, inits), feeds)


def test_pool_1d_and_3d():
    nodes = [
        helper.make_node("MaxPool", ["x1"], ["m1"], kernel_shape=[3], strides=[2], pads=[1, 1]),
        helper.make_node("AveragePool", ["x1"], ["a1"], kernel_shape=[2], ceil_mode=1, strides=[2]),
        helper.make_node(
            "MaxPool",
            ["x3"],
            ["m3"],
            kernel_shape=[2, 3, 2],
            strides=[2, 1, 2],
            dilations=[1, 1, 2],
        ),
        helper.make_node(
            "AveragePool",
            ["x3"],
            ["a3"],
            kernel_shape=[3, 2, 3],
            pads=[1, 1, 1, 1, 0, 0],
            count_include_pad=1,
            ceil_mode=1,
            strides=[2, 2, 2],
        ),
        helper.make_node(
            "AveragePool", ["x3"], ["b3"], kernel_shape=[2, 2, 2], auto_pad="SAME_UPPER"
        ),
        helper.make_node("GlobalAveragePool", ["x3"], ["g3"]),
        helper.make_node("GlobalAveragePool", ["x1"], ["g1"]),
    ]
    feeds = {"x1": _x(2, 3, 9), "x3": _x(1, 2, 5, 6, 7)}
    outs = ["m1", "a1", "m3", "a3", "b3", "g3", "g1"]
    _check(_model(nodes, {k: v.shape for k, v in feeds.items()}, outs, 19), feeds)


def test_conv_rejects_4d_spatial():
    inits = {"w": _x(1, 1, 1, 1, 1, 1)}
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    m = _model([node], {"x": (1, 1, 2, 2, 2, 2)}, ["y"], 13, inits)
    with pytest.raises(ModelError, match="Conv.*1-D, 2-D and 3-D"):
        xtvm.from_onnx(m, {"x": (1, 1, 2, 2, 2, 2)})
