"""Sampling family (GridSample, AffineGrid, CenterCropPad, Col2Im, CausalConvWithState):
compiled code and the numpy evaluator both match onnxruntime (or ONNX's reference
implementation where onnxruntime lacks the opset).

Each test builds one ONNX model whose node variants are independent outputs, so the whole
group compiles once.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError
from xtvm.testing.onnx_check import check_model as _check
from xtvm.testing.onnx_check import float_model
from xtvm.topi.nn.sampling import grid_sample_numpy

RNG = np.random.default_rng(0)
F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, opset, inits=None):
    return float_model(nodes, inputs, outputs, opset, inits, ir_version=10)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _grid(*shape: int) -> np.ndarray:
    """Points inside and well outside [-1, 1], plus exact tap positions and half-way ties."""
    g = RNG.uniform(-1.7, 1.7, shape).astype(np.float32)
    flat = g.reshape(-1)
    flat[:6] = [-1.0, 1.0, 0.0, -0.2, 0.2, 0.6]  # corners, centre, .5 ties on a size-5 dim
    return g


# ----------------------------------------------------------------------------------------------
# GridSample
# ----------------------------------------------------------------------------------------------


def test_grid_sample_2d_all_modes():
    nodes, outs = [], []
    for mode in ("linear", "nearest", "cubic"):
        for pad in ("zeros", "border", "reflection"):
            for align in (0, 1):
                name = f"{mode}_{pad}_{align}"
                nodes.append(
                    helper.make_node(
                        "GridSample",
                        ["x", "grid"],
                        [name],
                        mode=mode,
                        padding_mode=pad,
                        align_corners=align,
                    )
                )
                outs.append(name)
    feeds = {"x": _x(2, 2, 5, 6), "grid": _grid(2, 3, 4, 2)}
    # onnxruntime clamps cubic taps, not the coordinate, under border padding (PyTorch's
    # rule); ONNX's reference clamps the coordinate: xtvm follows the ONNX reference.
    _check(_model(nodes, {k: v.shape for k, v in feeds.items()}, outs, 20), feeds, reference=True)


def test_grid_sample_opset16_names_and_3d():
    nodes = [
        helper.make_node("GridSample", ["x", "g"], ["bl"], mode="bilinear"),
        helper.make_node(
            "GridSample", ["x", "g"], ["bc"], mode="bicubic", padding_mode="reflection"
        ),
        helper.make_node("GridSample", ["x", "g"], ["nn"], mode="nearest", align_corners=1),
    ]
    feeds = {"x": _x(1, 2, 4, 5), "g": _grid(1, 3, 3, 2)}
    _check(_model(nodes, {k: v.shape for k, v in feeds.items()}, ["bl", "bc", "nn"], 16), feeds)
    nodes = [
        helper.make_node(
            "GridSample", ["v", "g3"], ["lin"], mode="linear", padding_mode="reflection"
        ),
        helper.make_node("GridSample", ["v", "g3"], ["near"], mode="nearest", align_corners=1),
    ]
    feeds = {"v": _x(1, 2, 3, 4, 5), "g3": _grid(1, 2, 3, 2, 3)}
    _check(_model(nodes, {k: v.shape for k, v in feeds.items()}, ["lin", "near"], 20), feeds)


def test_grid_sample_reflection_on_a_size_one_dim():
    """align_corners with a size-1 dim has an empty reflection range (ONNX's reference
    divides by zero there; onnxruntime reads the single row)."""
    nodes = [
        helper.make_node(
            "GridSample", ["x", "g"], [m], mode=m, padding_mode="reflection", align_corners=1
        )
        for m in ("linear", "nearest")
    ]
    feeds = {"x": _x(1, 1, 1, 4), "g": _grid(1, 2, 3, 2)}
    _check(_model(nodes, {k: v.shape for k, v in feeds.items()}, ["linear", "nearest"], 20), feeds)
    got = grid_sample_numpy(feeds["x"], feeds["g"], "linear", "reflection", True)
    assert np.isfinite(got).all()


def test_grid_sample_rejects_unknown_mode():
    node = helper.make_node("GridSample", ["x", "g"], ["y"], mode="area")
    m = _model([node], {"x": (1, 1, 3, 3), "g": (1, 2, 2, 2)}, ["y"], 20)
    with pytest.raises(ModelError, match="GridSample.*mode"):
        xtvm.from_onnx(m, {"x": (1, 1, 3, 3), "g": (1, 2, 2, 2)})


# ----------------------------------------------------------------------------------------------
# AffineGrid, CenterCropPad, Col2Im
# ----------------------------------------------------------------------------------------------


def test_affine_grid_2d_and_3d():
    i64 = np.int64
    inits = {"s2": np.array([2, 3, 4, 5], i64), "s3": np.array([2, 3, 2, 3, 4], i64)}
    nodes = [
        helper.make_node("AffineGrid", ["t2", "s2"], ["a0"], align_corners=0),
        helper.make_node("AffineGrid", ["t2", "s2"], ["a1"], align_corners=1),
        helper.make_node("AffineGrid", ["t3", "s3"], ["b0"]),
        helper.make_node("AffineGrid", ["t3", "s3"], ["b1"], align_corners=1),
    ]
    feeds = {"t2": _x(2, 2, 3), "t3": _x(2, 3, 4)}
    m = _model(nodes, {k: v.shape for k, v in feeds.items()}, ["a0", "a1", "b0", "b1"], 20, inits)
    _check(m, feeds)


def test_center_crop_pad():
    i64 = np.int64
    inits = {
        "crop": np.array([3, 4, 2], i64),
        "mix": np.array([7, 2], i64),
        "hw": np.array([6, 1], i64),
    }
    nodes = [
        helper.make_node("CenterCropPad", ["x", "crop"], ["c"]),
        helper.make_node("CenterCropPad", ["x", "mix"], ["m"], axes=[0, 2]),
        helper.make_node("CenterCropPad", ["x", "hw"], ["n"], axes=[-2, -1]),
    ]
    feeds = {"x": _x(4, 5, 3)}
    _check(_model(nodes, {"x": (4, 5, 3)}, ["c", "m", "n"], 18, inits), feeds, reference=True)


def test_col2im_2d_and_1d():
    i64 = np.int64
    inits = {
        "img": np.array([5, 6], i64),
        "blk": np.array([2, 3], i64),
        "img1": np.array([9], i64),
        "blk1": np.array([3], i64),
    }
    nodes = [
        helper.make_node("Col2Im", ["a", "img", "blk"], ["p"], pads=[1, 0, 0, 1], strides=[2, 1]),
        helper.make_node("Col2Im", ["b", "img", "blk"], ["q"], dilations=[2, 1]),
        helper.make_node("Col2Im", ["c", "img1", "blk1"], ["r"], strides=[2], pads=[1, 1]),
    ]
    # p: blocks ((5+1-2)//2+1, (6+1-3)+1) = (3, 5); q: (5-2-1+1, 6-3+1) = (3, 4); r: 5
    feeds = {"a": _x(2, 12, 15), "b": _x(1, 6, 12), "c": _x(1, 6, 5)}
    m = _model(nodes, {k: v.shape for k, v in feeds.items()}, ["p", "q", "r"], 18, inits)
    _check(m, feeds, reference=True)


def test_col2im_rejects_3d():
    inits = {"img": np.array([3, 3, 3], np.int64), "blk": np.array([1, 1, 1], np.int64)}
    node = helper.make_node("Col2Im", ["x", "img", "blk"], ["y"])
    m = _model([node], {"x": (1, 2, 27)}, ["y"], 18, inits)
    with pytest.raises(ModelError, match="Col2Im.*1-D and 2-D"):
        xtvm.from_onnx(m, {"x": (1, 2, 27)})


# ----------------------------------------------------------------------------------------------
# CausalConvWithState (opset 27: checked against ONNX's reference implementation)
# ----------------------------------------------------------------------------------------------


def test_causal_conv_with_state():
    nodes = [
        helper.make_node("CausalConvWithState", ["x", "w"], ["y0", "s0"]),
        helper.make_node(
            "CausalConvWithState", ["x", "w", "b", "p"], ["y1", "s1"], activation="silu"
        ),
        helper.make_node(
            "CausalConvWithState", ["x", "w", "", "p"], ["y2", "s2"], activation="swish"
        ),
    ]
    feeds = {"x": _x(2, 3, 5), "w": _x(3, 1, 4), "b": _x(3), "p": _x(2, 3, 3)}
    outs = ["y0", "s0", "y1", "s1", "y2", "s2"]
    m = _model(nodes, {k: v.shape for k, v in feeds.items()}, outs, 27)
    _check(m, feeds, reference=True)


def test_causal_conv_rejects_unknown_activation():
    node = helper.make_node("CausalConvWithState", ["x", "w"], ["y", "s"], activation="gelu")
    m = _model([node], {"x": (1, 2, 4), "w": (2, 1, 2)}, ["y", "s"], 27)
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", F, [1, 2, 4]))
    m.graph.output[1].CopyFrom(helper.make_tensor_value_info("s", F, [1, 2, 1]))
    with pytest.raises(ModelError, match="CausalConvWithState.*activation"):
        xtvm.from_onnx(m, {"x": (1, 2, 4), "w": (2, 1, 2)})


# ----------------------------------------------------------------------------------------------
# MaxUnpool, RoiAlign
# ----------------------------------------------------------------------------------------------


def test_max_unpool_round_trips_max_pool():
    i64 = np.int64
    inits = {"shape": np.array([1, 2, 6, 7], i64)}
    x = _x(1, 2, 6, 6)  # MaxPool 2x2 / 2 and its flat Indices, computed with numpy
    win = x.reshape(1, 2, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 3, 3, 4)
    arg = win.argmax(-1)
    p = win.max(-1)
    rows = np.arange(3)[:, None] * 2 + arg // 2
    cols = np.arange(3)[None, :] * 2 + arg % 2
    i = (np.arange(2)[None, :, None, None] * 36 + rows * 6 + cols).astype(np.int64)
    nodes = [
        helper.make_node("MaxUnpool", ["p", "i"], ["u"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "MaxUnpool", ["p", "i", "shape"], ["v"], kernel_shape=[2, 2], strides=[2, 2]
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("p", F, list(p.shape)),
            helper.make_tensor_value_info("i", TensorProto.INT64, list(i.shape)),
        ],
        [
            helper.make_tensor_value_info("u", F, [1, 2, 6, 6]),
            helper.make_tensor_value_info("v", F, [1, 2, 6, 7]),
        ],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    um = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    um.ir_version = 9
    _check(onnx.shape_inference.infer_shapes(um), {"p": p, "i": i}, reference=True)


def test_roi_align_modes():
    rois = np.array(
        [[0.0, 0.0, 4.5, 3.0], [1.2, 2.5, 9.0, 7.7], [-2.0, 6.0, 3.0, 11.0]], np.float32
    )
    inits = {"rois": rois, "bi": np.array([1, 0, 1], np.int64)}
    nodes = [
        helper.make_node(
            "RoiAlign",
            ["x", "rois", "bi"],
            ["a"],
            output_height=3,
            output_width=4,
            sampling_ratio=2,
            spatial_scale=0.8,
        ),
        helper.make_node(
            "RoiAlign",
            ["x", "rois", "bi"],
            ["b"],
            mode="max",
            sampling_ratio=3,
            coordinate_transformation_mode="output_half_pixel",
            output_height=2,
            output_width=2,
        ),
    ]
    feeds = {"x": _x(2, 3, 8, 9)}
    _check(_model(nodes, {"x": (2, 3, 8, 9)}, ["a", "b"], 16, inits), feeds, reference=True)


def test_roi_align_rejects_adaptive_grid():
    inits = {"rois": np.zeros((1, 4), np.float32), "bi": np.zeros(1, np.int64)}
    node = helper.make_node("RoiAlign", ["x", "rois", "bi"], ["y"])
    m = _model([node], {"x": (1, 1, 4, 4)}, ["y"], 16, inits)
    with pytest.raises(ModelError, match="RoiAlign.*sampling_ratio"):
        xtvm.from_onnx(m, {"x": (1, 1, 4, 4)})


# ----------------------------------------------------------------------------------------------
# DeformConv (checked against ONNX's reference implementation)
# ----------------------------------------------------------------------------------------------


def test_deform_conv():
    inits = {"w": _x(4, 2, 2, 3), "b": _x(4), "wg": _x(2, 4, 2, 2)}
    nodes = [
        helper.make_node(
            "DeformConv",
            ["x", "w", "off", "b", "mask"],
            ["y"],
            group=2,
            offset_group=2,
            pads=[1, 0, 0, 1],
            strides=[1, 2],
            dilations=[2, 1],
        ),
        helper.make_node("DeformConv", ["x", "wg", "off2"], ["z"]),
    ]
    # y: oh = (5 + 1 - 3) + 1 = 4, ow = (6 + 1 - 3) // 2 + 1 = 3; z: 4 x 5
    feeds = {
        "x": _x(2, 4, 5, 6),
        "off": (_x(2, 2 * 6 * 2, 4, 3) * 1.5).astype(np.float32),
        "mask": RNG.uniform(0, 1, (2, 2 * 6, 4, 3)).astype(np.float32),
        "off2": _x(2, 8, 4, 5),
    }
    m = _model(nodes, {k: v.shape for k, v in feeds.items()}, ["y", "z"], 19, inits)
    _check(m, feeds, reference=True)
