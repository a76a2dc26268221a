"""Grouped convolutions (1 < groups < channels) through -O3 must match onnxruntime, and
``relay-alter-layout`` must have made them blocked ``relay.conv2d_nchwc`` ops with groups.

Cases cover groups 2 to 32, strides 1 and 2, 1x1 and 3x3 kernels, symmetric and asymmetric
padding, dilation, bias + relu epilogues, per-group channel counts that fill a vector (8),
that do not (2, 3, 4, 6) and that stay NCHW (one output channel per group), and ResNeXt
bottlenecks where the grouped conv sits between plain convs (and must re-block its input
when the incoming block does not divide its channels per group).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from onnx import helper

from xtvm.testing.onnx_check import float_model

RNG = np.random.default_rng(11)


def _w(*shape: int) -> np.ndarray:
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return (RNG.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


def _grouped_model(
    c: int,
    o: int,
    groups: int,
    k: int = 3,
    stride: int = 1,
    pads: tuple[int, int, int, int] = (1, 1, 1, 1),
    dilation: int = 1,
    bias_relu: bool = False,
    size: tuple[int, int] = (9, 10),
):
    inputs = ["x", "w"] + (["b"] if bias_relu else [])
    attrs = {
        "group": groups,
        "kernel_shape": [k, k],
        "strides": [stride, stride],
        "pads": list(pads),
        "dilations": [dilation, dilation],
    }
    nodes = [helper.make_node("Conv", inputs, ["c" if bias_relu else "y"], **attrs)]
    inits = {"w": _w(o, c // groups, k, k)}
    if bias_relu:
        inits["b"] = _w(o)
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
    model = float_model(nodes, {"x": (1, c, *size)}, ["y"], 13, inits)
    return model, {"x": RNG.standard_normal((1, c, *size)).astype(np.float32)}


# name: (model arguments, blocked at 256-bit vectors)
CASES: dict[str, tuple[dict, bool]] = {
    "g2-3x3-bias-relu": (dict(c=16, o=32, groups=2, bias_relu=True), True),
    "g4-3x3-s2": (dict(c=32, o=32, groups=4, stride=2), True),
    "g8-1x1-bias-relu": (dict(c=64, o=32, groups=8, k=1, pads=(0, 0, 0, 0), bias_relu=True), True),
    "g32-resnext-4-per-group": (dict(c=128, o=128, groups=32, bias_relu=True, size=(8, 8)), True),
    "g32-s2-asym-pad-2-per-group": (dict(c=64, o=64, groups=32, stride=2, pads=(0, 1, 1, 0)), True),
    "g4-dilated-odd-blocks": (dict(c=12, o=24, groups=4, dilation=2, pads=(2, 2, 2, 2)), True),
    "g8-1x1-s2-channel-multiplier": (
        dict(c=8, o=16, groups=8, k=1, stride=2, pads=(0, 0, 0, 0)),
        True,
    ),
    "g8-one-output-per-group": (dict(c=16, o=8, groups=8, bias_relu=True), False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_grouped_conv_matches_onnxruntime(case: str, o3_check: Callable) -> None:
    kw, blocked = CASES[case]
    model, feeds = _grouped_model(**kw)
    relay_ir = o3_check(model, feeds, 256)
    groups = kw["groups"]
    if blocked:
        assert "relay.conv2d_nchwc" in relay_ir
        assert f"groups = {groups} : i64" in relay_ir
        assert "relay.conv2d " not in relay_ir
    else:
        assert "relay.conv2d_nchwc" not in relay_ir
        assert "relay.conv2d " in relay_ir


@pytest.mark.parametrize("case", ["g2-3x3-bias-relu", "g32-resnext-4-per-group"])
def test_grouped_conv_with_narrow_vectors(case: str, o3_check: Callable) -> None:
    """At 128 bits (4 lanes) 4 or more channels per group make full-vector blocks."""
    model, feeds = _grouped_model(**CASES[case][0])
    relay_ir = o3_check(model, feeds, 128)
    blocks = re.findall(r"relay\.conv2d_nchwc .*-> tensor<1x\d+x\d+x\d+x(\d+)xf32>", relay_ir)
    assert blocks == ["4"]


def _bottleneck(c: int, width: int, groups: int, stride: int):
    """ResNeXt bottleneck: 1x1 -> relu -> grouped 3x3 (+bias) -> relu -> 1x1 -> residual add."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node(
            "Conv",
            ["r1", "w2", "b2"],
            ["c2"],
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[stride, stride],
            group=groups,
        ),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], kernel_shape=[1, 1]),
        helper.make_node(
            "Conv", ["x", "wd"], ["sc"], kernel_shape=[1, 1], strides=[stride, stride]
        ),
        helper.make_node("Add", ["c3", "sc"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = {
        "w1": _w(width, c, 1, 1),
        "b1": _w(width),
        "w2": _w(width, width // groups, 3, 3),
        "b2": _w(width),
        "w3": _w(c, width, 1, 1),
        "wd": _w(c, c, 1, 1),
    }
    model = float_model(nodes, {"x": (1, c, 8, 8)}, ["y"], 13, inits)
    return model, {"x": RNG.standard_normal((1, c, 8, 8)).astype(np.float32)}


@pytest.mark.parametrize(
    "width,groups,stride,transforms",
    [
        (64, 8, 1, 2),  # 8 channels per group: the 1x1 conv's NCHW8c flows straight in
        (64, 16, 2, 3),  # 4 per group: NCHW8c -> NCHW4c before the grouped conv
    ],
    ids=["8-per-group", "4-per-group-s2"],
)
def test_resnext_bottleneck(
    width: int, groups: int, stride: int, transforms: int, o3_check: Callable
) -> None:
    model, feeds = _bottleneck(32, width, groups, stride)
    relay_ir = o3_check(model, feeds, 256)
    assert relay_ir.count("relay.conv2d_nchwc") == 4
    assert relay_ir.count(f"groups = {groups} : i64") == 1
    assert "relay.conv2d " not in relay_ir
    # into the blocked layout once, out once at the result, and the re-block if needed
    assert relay_ir.count("relay.layout_transform") == transforms
