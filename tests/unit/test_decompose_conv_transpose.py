"""relay-decompose-conv-transpose: O3 builds of ONNX ConvTranspose against onnxruntime, the
rewrite actually taking place, and fusion keeping bias and activations out of kernels of
their own."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper
from xdsl.dialects.func import FuncOp

import xtvm
from xtvm.context import make_context
from xtvm.dialects import relay
from xtvm.passes.registry import PIPELINES, parse_pipeline
from xtvm.testing.onnx_check import check_model, float_model

RNG = np.random.default_rng(0)

# (name, C_in, C_out, H, W, attributes, bias, activation after)
CASES = [
    ("k2s2", 8, 6, 5, 6, dict(kernel_shape=[2, 2], strides=[2, 2]), True, None),
    ("k2s2_relu", 16, 16, 4, 4, dict(kernel_shape=[2, 2], strides=[2, 2]), True, "Relu"),
    (
        "k3s2p1_outpad1",
        5,
        4,
        6,
        7,
        dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
        True,
        None,
    ),
    (
        "k4s2p1",
        6,
        8,
        5,
        5,
        dict(kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1]),
        False,
        None,
    ),
    ("stride1", 4, 3, 6, 5, dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]), True, "Relu"),
    (
        "dilation2",
        3,
        5,
        5,
        6,
        dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2]),
        True,
        None,
    ),
    (
        "odd_crop",
        4,
        4,
        7,
        9,
        dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        True,
        "Sigmoid",
    ),
    (
        "k3s3_kw2",
        3,
        2,
        5,
        3,
        dict(kernel_shape=[3, 2], strides=[3, 2], pads=[0, 1, 2, 0]),
        True,
        None,
    ),
    ("k1s2_zero_phases", 3, 4, 4, 5, dict(kernel_shape=[1, 1], strides=[2, 2]), True, None),
    (
        "depthwise",
        4,
        4,
        5,
        5,
        dict(kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1], group=4),
        True,
        None,
    ),
]


def _model(c_in: int, c_out: int, h: int, w: int, attrs: dict, bias: bool, act: str | None):
    groups = attrs.get("group", 1)
    kh, kw = attrs["kernel_shape"]
    inits = {"w": RNG.standard_normal((c_in, c_out // groups, kh, kw)).astype(np.float32)}
    ins = ["x", "w"]
    if bias:
        inits["b"] = RNG.standard_normal(c_out).astype(np.float32)
        ins.append("b")
    nodes = [helper.make_node("ConvTranspose", ins, ["t" if act else "y"], **attrs)]
    if act:
        nodes.append(helper.make_node(act, ["t"], ["y"]))
    model = float_model(nodes, {"x": (1, c_in, h, w)}, ["y"], 17, inits)
    return model, {"x": RNG.standard_normal((1, c_in, h, w)).astype(np.float32)}


def _relay_after(model, feeds, pipeline: str):
    mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
    for p in parse_pipeline(pipeline):
        p.apply(make_context(), mod)
    mod.verify()
    return next(op for op in mod.ops if isinstance(op, FuncOp))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_o3_matches_onnxruntime(case) -> None:
    _, c_in, c_out, h, w, attrs, bias, act = case
    model, feeds = _model(c_in, c_out, h, w, attrs, bias, act)
    check_model(model, feeds, rtol=1e-4, atol=1e-4)
    graph = PIPELINES["O3"].split(",relay-fuse-ops")[0]
    main = _relay_after(model, feeds, graph)
    assert not any(isinstance(op, relay.Conv2dTransposeOp) for op in main.walk())


def test_grouped_conv_transpose_is_left_alone() -> None:
    attrs = dict(kernel_shape=[2, 2], strides=[2, 2], group=2)
    model, feeds = _model(4, 6, 3, 4, attrs, True, None)
    main = _relay_after(model, feeds, "relay-fold-constant,relay-decompose-conv-transpose")
    assert sum(isinstance(op, relay.Conv2dTransposeOp) for op in main.walk()) == 1
    check_model(model, feeds, rtol=1e-4, atol=1e-4)


def test_fusion_keeps_epilogues_out_of_kernels_of_their_own() -> None:
    """The DBNet head: ConvTranspose + bias + BatchNorm + Relu, then ConvTranspose + bias +
    Sigmoid. Bias adds ride in the conv kernels, the rest in the interleave kernels."""
    c = 16
    inits = {
        "w1": RNG.standard_normal((c, c, 2, 2)).astype(np.float32),
        "b1": RNG.standard_normal(c).astype(np.float32),
        "g": RNG.uniform(0.5, 1.5, c).astype(np.float32),
        "beta": RNG.standard_normal(c).astype(np.float32),
        "m": RNG.standard_normal(c).astype(np.float32),
        "v": RNG.uniform(0.5, 1.5, c).astype(np.float32),
        "w2": RNG.standard_normal((c, 1, 2, 2)).astype(np.float32),
        "b2": RNG.standard_normal(1).astype(np.float32),
    }
    k2s2 = dict(kernel_shape=[2, 2], strides=[2, 2])
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w1", "b1"], ["t1"], **k2s2),
        helper.make_node("BatchNormalization", ["t1", "g", "beta", "m", "v"], ["n1"]),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node("ConvTranspose", ["r1", "w2", "b2"], ["t2"], **k2s2),
        helper.make_node("Sigmoid", ["t2"], ["y"]),
    ]
    model = float_model(nodes, {"x": (1, c, 6, 5)}, ["y"], 17, inits)
    feeds = {"x": RNG.standard_normal((1, c, 6, 5)).astype(np.float32)}
    check_model(model, feeds, rtol=1e-4, atol=1e-5)
    main = _relay_after(model, feeds, PIPELINES["O3"].split(",convert-relay-to-te")[0])
    kernels = [
        [inner.name for inner in op.body.walk() if isinstance(inner, relay.RelayOp)]
        for op in main.body.block.ops
        if isinstance(op, relay.FusedOp)
    ]
    convs = [k for k in kernels if "relay.conv2d_nchwc" in k]
    assert len(convs) == 2 and all("relay.add" in k for k in convs), kernels
    interleaves = [k for k in kernels if "relay.depth_to_space" in k]
    assert len(interleaves) == 2, kernels
    assert "relay.relu" in interleaves[0] and "relay.sigmoid" in interleaves[1], kernels
    assert len(kernels) == len(convs) + len(interleaves) + 1, kernels  # + the input's layout
