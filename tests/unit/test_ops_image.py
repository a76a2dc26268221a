"""Image family (Pad, Resize, Upsample, DepthToSpace, SpaceToDepth, Einsum, ConvTranspose):
compiled code and the numpy evaluator both match onnxruntime.

Each test builds one ONNX model whose node variants are independent outputs, so the whole
group compiles once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

import xtvm
from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.image import upsample
from xtvm.passes.relay.evaluate import evaluate_function
from xtvm.testing.onnx_check import check_model as _check
from xtvm.testing.onnx_check import float_model as _model

RNG = np.random.default_rng(0)
F = TensorProto.FLOAT


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Pad
# ----------------------------------------------------------------------------------------------


def _pad_node(out: str, pads: str, mode: str, extra: Sequence[str] = ()) -> onnx.NodeProto:
    return helper.make_node("Pad", ["x", pads, *extra], [out], mode=mode)


@pytest.mark.parametrize("opset", [11, 13])
def test_pad_modes(opset):
    inits = {
        "p1": np.array([0, 1, 2, 1, 0, 2, 1, 3], np.int64),
        "p2": np.array([0, 0, -1, 2, 0, 0, 2, -2], np.int64),  # crop + pad
        "p3": np.array([0, 0, 3, 0, 0, 0, 0, 4], np.int64),  # the widest reflect
        "v": np.array(1.5, np.float32),
    }
    nodes = [
        _pad_node("c", "p1", "constant", ["v"]),
        _pad_node("c0", "p2", "constant"),
        _pad_node("r", "p1", "reflect"),
        _pad_node("r2", "p3", "reflect"),
        _pad_node("e", "p2", "edge"),
    ]
    model = _model(nodes, {"x": (1, 3, 4, 5)}, ["c", "c0", "r", "r2", "e"], opset, inits)
    _check(model, {"x": _x(1, 3, 4, 5)})


def test_pad_axes_and_wrap_opset19():
    inits = {
        "p": np.array([1, 2, 3, 1], np.int64),
        "ax": np.array([-1, 1], np.int64),
        "v": np.array(-2.0, np.float32),
    }
    nodes = [
        helper.make_node("Pad", ["x", "p", "v", "ax"], ["c"], mode="constant"),
        helper.make_node("Pad", ["x", "p", "", "ax"], ["w"], mode="wrap"),
        helper.make_node("Pad", ["x", "p", "", "ax"], ["e"], mode="edge"),
    ]
    model = _model(nodes, {"x": (2, 3, 4)}, ["c", "w", "e"], 19, inits)
    _check(model, {"x": _x(2, 3, 4)})


def test_pad_relay_op_shape_and_verifier():
    blk_arg = relay.ConstantOp.from_numpy(np.zeros((2, 3), np.float32))
    op = relay.PadOp(blk_arg.result, [1, 0], [2, 3], "reflect")
    assert relay.shape_of(op.result) == (5, 6)
    with pytest.raises(VerifyException, match="non-negative"):
        relay.PadOp(blk_arg.result, [-1, 0], [0, 0])


# ----------------------------------------------------------------------------------------------
# Resize / Upsample
# ----------------------------------------------------------------------------------------------


def _resize(out: str, scales: str = "", sizes: str = "", roi: str = "", **attrs) -> onnx.NodeProto:
    ins = ["x", roi, scales] + ([sizes] if sizes else [])
    return helper.make_node("Resize", ins, [out], **attrs)


def test_resize_nearest_modes_opset13():
    inits = {
        "up": np.array([1, 1, 2.0, 3.0], np.float32),
        "down": np.array([1, 1, 0.6, 0.5], np.float32),
        "sz": np.array([1, 2, 7, 9], np.int64),
    }
    nodes, outs = [], []
    for k, (coord, nearest) in enumerate(
        [
            ("half_pixel", "round_prefer_floor"),
            ("asymmetric", "floor"),
            ("align_corners", "round_prefer_ceil"),
            ("pytorch_half_pixel", "ceil"),
            ("asymmetric", "round_prefer_ceil"),
        ]
    ):
        kw = {"mode": "nearest", "coordinate_transformation_mode": coord, "nearest_mode": nearest}
        nodes += [
            _resize(f"u{k}", "up", **kw),
            _resize(f"d{k}", "down", **kw),
            _resize(f"s{k}", sizes="sz", **kw),
        ]
        outs += [f"u{k}", f"d{k}", f"s{k}"]
    model = _model(nodes, {"x": (1, 2, 5, 6)}, outs, 13, inits)
    _check(model, {"x": _x(1, 2, 5, 6)})


def test_resize_linear_and_cubic_opset13():
    inits = {
        "up": np.array([1, 1, 1.7, 2.5], np.float32),
        "down": np.array([1, 1, 0.5, 0.7], np.float32),
        "sz": np.array([1, 2, 3, 11], np.int64),
    }
    nodes, outs = [], []
    cases = [
        ("linear", "half_pixel", {}),
        ("linear", "align_corners", {}),
        ("linear", "asymmetric", {}),
        ("linear", "pytorch_half_pixel", {}),
        ("cubic", "half_pixel", {}),
        ("cubic", "align_corners", {"cubic_coeff_a": -0.5}),
        ("cubic", "asymmetric", {"exclude_outside": 1, "cubic_coeff_a": -0.5}),
        ("cubic", "half_pixel", {"exclude_outside": 1}),
    ]
    for k, (mode, coord, extra) in enumerate(cases):
        kw = {"mode": mode, "coordinate_transformation_mode": coord, **extra}
        nodes += [
            _resize(f"u{k}", "up", **kw),
            _resize(f"d{k}", "down", **kw),
            _resize(f"s{k}", sizes="sz", **kw),
        ]
        outs += [f"u{k}", f"d{k}", f"s{k}"]
    model = _model(nodes, {"x": (1, 2, 6, 8)}, outs, 13, inits)
    _check(model, {"x": _x(1, 2, 6, 8)})


def test_resize_tf_crop_and_resize_opset11():
    inits = {
        "roi": np.array([0, 0, 0.2, 0.3, 1, 1, 0.9, 1.3], np.float32),
        "sz": np.array([1, 1, 4, 5], np.int64),
        "sz1": np.array([1, 1, 1, 3], np.int64),
        "none": np.array([], np.float32),
    }
    kw = {"coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 7.0}
    nodes = [
        helper.make_node("Resize", ["x", "roi", "none", "sz"], ["lin"], mode="linear", **kw),
        helper.make_node("Resize", ["x", "roi", "none", "sz"], ["near"], mode="nearest", **kw),
        helper.make_node("Resize", ["x", "roi", "none", "sz1"], ["one"], mode="linear", **kw),
        helper.make_node("Resize", ["x", "roi", "none", "sz"], ["cub"], mode="cubic", **kw),
    ]
    model = _model(nodes, {"x": (1, 1, 5, 6)}, ["lin", "near", "one", "cub"], 11, inits)
    _check(model, {"x": _x(1, 1, 5, 6)})


def test_resize_opset19_axes_policies_symmetric():
    inits = {
        "sc": np.array([0.6, 2.5], np.float32),
        "sz": np.array([7, 4], np.int64),
        "sz3": np.array([1, 3, 9, 5], np.int64),
    }
    nodes = [
        _resize(
            "sym",
            "sc",
            axes=[2, 3],
            mode="linear",
            coordinate_transformation_mode="half_pixel_symmetric",
        ),
        _resize("ax32", "sc", axes=[3, 2], mode="nearest"),
        _resize("nl", sizes="sz", axes=[2, 3], keep_aspect_ratio_policy="not_larger"),
        _resize(
            "ns", sizes="sz", axes=[2, 3], keep_aspect_ratio_policy="not_smaller", mode="linear"
        ),
        _resize("full", sizes="sz3", mode="cubic"),
    ]
    model = _model(nodes, {"x": (1, 3, 5, 6)}, ["sym", "ax32", "nl", "ns", "full"], 19, inits)
    _check(model, {"x": _x(1, 3, 5, 6)})


def test_resize_1d_and_5d_linear():
    inits = {"s1": np.array([1, 2.5], np.float32), "s3": np.array([1, 1, 1.5, 2, 0.5], np.float32)}
    nodes = [
        helper.make_node("Resize", ["a", "", "s1"], ["y1"], mode="linear"),
        helper.make_node("Resize", ["b", "", "s3"], ["y3"], mode="linear"),
    ]
    model = _model(nodes, {"a": (3, 7), "b": (1, 2, 3, 4, 4)}, ["y1", "y3"], 13, inits)
    _check(model, {"a": _x(3, 7), "b": _x(1, 2, 3, 4, 4)})


def test_upsample_maps_to_asymmetric_resize():
    """Upsample only exists before opset 10, which the importer rejects as a whole, so the
    converter is called directly here (numpy repeat is the reference)."""
    blk = Block(arg_types=[relay.tensor_type((1, 2, 3, 4))])
    ctx = ConversionContext(Builder(InsertPoint.at_end(blk)), opset=9)
    scales = ctx.constant(np.array([1, 1, 2, 3], np.float32))
    node = helper.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")
    y = upsample(ctx, node, [blk.args[0], scales], {"mode": "nearest"})
    ctx.builder.insert(func.ReturnOp(y))
    fn = func.FuncOp("main", ([blk.args[0].type], [y.type]), Region(blk))
    x = _x(1, 2, 3, 4)
    want = x.repeat(2, axis=2).repeat(3, axis=3)
    np.testing.assert_array_equal(evaluate_function(fn, [x])[0], want)
    np.testing.assert_array_equal(xtvm.build(ModuleOp([fn]))(x), want)


@pytest.mark.parametrize(
    "attrs,inputs,match",
    [
        ({"mode": "linear", "antialias": 2}, ["x", "", "sc"], "antialias"),
        ({"mode": "nearest", "antialias": 1}, ["x", "", "sc"], "antialias"),
        ({"mode": "area"}, ["x", "", "sc"], "mode"),
        ({"coordinate_transformation_mode": "tf_half_pixel_for_nn"}, ["x", "", "sc"], "coordinate"),
        ({}, ["x", "", "dyn"], "scales"),
    ],
)
def test_resize_errors_name_node_and_attribute(attrs, inputs, match):
    graph = helper.make_graph(
        [helper.make_node("Resize", inputs, ["y"], name="rs", **attrs)],
        "g",
        [
            helper.make_tensor_value_info("x", F, [1, 1, 4, 4]),
            helper.make_tensor_value_info("dyn", F, [4]),
        ],
        [helper.make_tensor_value_info("y", F, [1, 1, 8, 8])],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "sc")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(ModelError, match=f"'rs'.*{match}"):
        xtvm.from_onnx(model, {"x": (1, 1, 4, 4), "dyn": (4,)})


# ----------------------------------------------------------------------------------------------
# DepthToSpace / SpaceToDepth
# ----------------------------------------------------------------------------------------------


def test_depth_to_space_and_space_to_depth():
    nodes = [
        helper.make_node("DepthToSpace", ["x"], ["dcr"], blocksize=2, mode="DCR"),
        helper.make_node("DepthToSpace", ["x"], ["crd"], blocksize=2, mode="CRD"),
        helper.make_node("SpaceToDepth", ["x"], ["s2d"], blocksize=3),
        helper.make_node("DepthToSpace", ["x"], ["d3"], blocksize=3),
    ]
    model = _model(nodes, {"x": (2, 36, 3, 6)}, ["dcr", "crd", "s2d", "d3"], 13)
    _check(model, {"x": _x(2, 36, 3, 6)})


def test_space_to_depth_crd_inverts_depth_to_space_crd():
    x = relay.ConstantOp.from_numpy(_x(1, 8, 2, 3))
    d2s = relay.DepthToSpaceOp(x.result, 2, "CRD")
    s2d = relay.SpaceToDepthOp(d2s.result, 2, "CRD")
    from xtvm.passes.relay.evaluate import evaluate_op

    y = evaluate_op(d2s, [x.to_numpy()])
    np.testing.assert_array_equal(evaluate_op(s2d, [y]), x.to_numpy())


# ----------------------------------------------------------------------------------------------
# Einsum
# ----------------------------------------------------------------------------------------------


EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhid,bhjd->bhij", [(1, 2, 3, 8), (1, 2, 5, 8)]),
    ("bhij,bhjd->bhid", [(1, 2, 3, 5), (1, 2, 5, 8)]),
    ("ij->ji", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("i,j->ij", [(3,), (5,)]),
    ("ii->", [(4, 4)]),
    ("bii->bi", [(2, 3, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 2)]),
    ("ij,ij", [(3, 4), (3, 4)]),
    ("i,i", [(6,), (6,)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 2)]),
]


def test_einsum_patterns():
    nodes, inputs, feeds, outs = [], {}, {}, []
    for k, (eq, shapes) in enumerate(EINSUM_CASES):
        names = [f"e{k}_{j}" for j in range(len(shapes))]
        for n, s in zip(names, shapes):
            inputs[n] = s
            feeds[n] = _x(*s)
        nodes.append(helper.make_node("Einsum", names, [f"y{k}"], equation=eq))
        outs.append(f"y{k}")
    _check(_model(nodes, inputs, outs, 12), feeds)


def test_einsum_bad_equation_is_a_model_error():
    graph = helper.make_graph(
        [helper.make_node("Einsum", ["a", "b"], ["y"], name="es", equation="ij,jk->iq")],
        "g",
        [helper.make_tensor_value_info(n, F, s) for n, s in (("a", [2, 3]), ("b", [3, 4]))],
        [helper.make_tensor_value_info("y", F, [2, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    with pytest.raises(ModelError, match="'es'.*equation"):
        xtvm.from_onnx(model, {"a": (2, 3), "b": (3, 4)})


# ----------------------------------------------------------------------------------------------
# ConvTranspose
# ----------------------------------------------------------------------------------------------


def test_conv_transpose_variants():
    inits = {
        "w": _x(4, 3, 3, 3),
        "wg": _x(4, 2, 3, 2),  # group=2: 4 in channels, 4 out channels
        "b": _x(3),
        "w1": _x(4, 2, 3),
    }
    x = _x(1, 4, 5, 6)
    ct = "ConvTranspose"
    nodes = [
        helper.make_node(ct, ["x", "w", "b"], ["plain"]),
        helper.make_node(ct, ["x", "w"], ["s2"], strides=[2, 3], pads=[1, 0, 2, 1]),
        helper.make_node(
            ct, ["x", "w"], ["dil"], strides=[2, 2], dilations=[2, 1], pads=[1, 1, 0, 2]
        ),
        helper.make_node(ct, ["x", "w"], ["opad"], strides=[3, 2], output_padding=[2, 1]),
        helper.make_node(
            ct, ["x", "wg", "b2"], ["grp"], group=2, strides=[2, 1], pads=[0, 1, 1, 0]
        ),
        helper.make_node(ct, ["x", "w"], ["oshape"], strides=[2, 2], output_shape=[10, 14]),
        helper.make_node(ct, ["x", "w"], ["same_u"], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node(ct, ["x", "w"], ["same_l"], strides=[2, 3], auto_pad="SAME_LOWER"),
        helper.make_node(ct, ["x1", "w1"], ["one_d"], strides=[2], pads=[1, 0]),
    ]
    inits["b2"] = _x(4)
    outs = ["plain", "s2", "dil", "opad", "grp", "oshape", "same_u", "same_l", "one_d"]
    model = _model(nodes, {"x": x.shape, "x1": (2, 4, 7)}, outs, 11, inits)
    _check(model, {"x": x, "x1": _x(2, 4, 7)})


def test_conv_transpose_3d_is_a_model_error():
    model = _model(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="ct3")],
        {"x": (1, 2, 3, 3, 3)},
        ["y"],
        11,
        {"w": _x(2, 2, 2, 2, 2)},
    )
    with pytest.raises(ModelError, match="'ct3'.*2-D"):
        xtvm.from_onnx(model, {"x": (1, 2, 3, 3, 3)})


# ----------------------------------------------------------------------------------------------
# integer tensors and verifiers
# ----------------------------------------------------------------------------------------------


def test_int32_pad_and_nearest_resize():
    inits = {
        "p": np.array([1, 1, 1, 2], np.int64),
        "v": np.array(7, np.int32),
        "s": np.array([2, 2], np.float32),
    }
    graph = helper.make_graph(
        [
            helper.make_node("Pad", ["x", "p", "v"], ["c"]),
            helper.make_node("Pad", ["x", "p"], ["e"], mode="edge"),
            helper.make_node("Resize", ["x", "", "s"], ["r"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.INT32, [2, 3])],
        [helper.make_tensor_value_info(n, TensorProto.INT32, [4, 6]) for n in "cer"],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    _check(model, {"x": np.arange(6, dtype=np.int32).reshape(2, 3)}, rtol=0, atol=0)


def test_verifiers_reject_inconsistent_ops():
    x = relay.ConstantOp.from_numpy(_x(1, 4, 3, 3)).result
    with pytest.raises(VerifyException, match="method"):
        relay.ResizeOp(x, (1, 4, 6, 6), (1, 1, 2, 2), method="area").verify()
    with pytest.raises(VerifyException, match="divisible"):
        relay.DepthToSpaceOp(x, 3)
    with pytest.raises(VerifyException, match="groups"):
        relay.Conv2dTransposeOp(x, relay.ConstantOp.from_numpy(_x(4, 2, 3, 3)).result, groups=3)
    a = relay.ConstantOp.from_numpy(_x(2, 3)).result
    with pytest.raises(VerifyException, match="sizes 3 and 2"):
        relay.EinsumOp([a, a], "ij,jk->ik")
