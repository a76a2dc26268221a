"""relay-alter-layout end to end: ONNX conv/dense graphs built with -O3 (which runs the pass)
must match onnxruntime, and the pass must really have blocked them.

Each case is built for the host's vectors and for narrower ones (``vector-bits`` 128 / 256 in
an otherwise unchanged -O3 pipeline), so channel counts that are and are not multiples of the
lane count both occur.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import xtvm
from xtvm.backends.llvm import Target
from xtvm.driver.compile import specialize_for_target
from xtvm.errors import PipelineError
from xtvm.passes.registry import PIPELINES, parse_pipeline
from xtvm.passes.relay.alter_layout import RelayAlterLayoutPass
from xtvm.passes.relay.alter_layout_rules import channel_block
from xtvm.testing.onnx_check import float_model

RNG = np.random.default_rng(7)
WIDTHS = [0, 128, 256]  # 0: the host's


def _w(*shape: int, scale: float = 0.3) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _conv(name: str, x: str, w: str, b: str | None = None, **attrs) -> onnx.NodeProto:
    return helper.make_node("Conv", [x, w] + ([b] if b else []), [name], **attrs)


def _feeds(**shapes: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {k: RNG.standard_normal(s).astype(np.float32) for k, s in shapes.items()}


# ----------------------------------------------------------------------------------------------
# the cases: (nodes, inputs, outputs, initializers)
# ----------------------------------------------------------------------------------------------


def _chain_3x3_1x1():
    """First layer with 3 channels, bias + relu, 3x3 then 1x1 convs (one strided)."""
    nodes = [
        _conv("c1", "x", "w1", "b1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        _conv("c2", "r1", "w2", "b2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        _conv("y", "r2", "w3"),
    ]
    inits = {"w1": _w(16, 3, 3, 3), "b1": _w(16), "w2": _w(32, 16, 3, 3), "b2": _w(32)}
    inits["w3"] = _w(64, 32, 1, 1)
    return nodes, {"x": (1, 3, 16, 16)}, ["y"], inits


def _bn_relu_residual():
    """conv + BatchNormalization + relu twice, a strided 1x1 downsample and a residual add."""
    nodes = [
        _conv("c1", "x", "w1", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "g", "be", "m", "v"], ["n1"]),
        helper.make_node("Relu", ["n1"], ["r1"]),
        _conv("c2", "r1", "w2", "b2", pads=[1, 1, 1, 1]),
        _conv("d", "x", "wd", strides=[2, 2]),
        helper.make_node("Add", ["c2", "d"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = {
        "w1": _w(32, 16, 3, 3),
        "g": (RNG.random(32) + 0.5).astype(np.float32),
        "be": _w(32),
        "m": _w(32),
        "v": (RNG.random(32) + 0.5).astype(np.float32),
        "w2": _w(32, 32, 3, 3, scale=0.1),
        "b2": _w(32),
        "wd": _w(32, 16, 1, 1),
    }
    return nodes, {"x": (2, 16, 10, 10)}, ["y"], inits


def _depthwise_block():
    """MobileNet-style: pointwise expand, depthwise 3x3 (strided) + clip, pointwise project."""
    nodes = [
        _conv("e", "x", "we", "be"),
        helper.make_node("Clip", ["e", "lo", "hi"], ["e6"]),
        _conv("dw", "e6", "wdw", "bdw", pads=[1, 1, 1, 1], strides=[2, 2], group=48),
        helper.make_node("Clip", ["dw", "lo", "hi"], ["dw6"]),
        _conv("y", "dw6", "wp"),
    ]
    inits = {
        "we": _w(48, 8, 1, 1),
        "be": _w(48),
        "wdw": _w(48, 1, 3, 3),
        "bdw": _w(48),
        "wp": _w(24, 48, 1, 1),
        "lo": np.array(0.0, np.float32),
        "hi": np.array(6.0, np.float32),
    }
    return nodes, {"x": (1, 8, 9, 9)}, ["y"], inits


def _odd_channels_pooling():
    """12 and 20 channels (no multiple of any lane count), max / average / global pooling."""
    nodes = [
        _conv("c1", "x", "w1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node(
            "MaxPool", ["r1"], ["p1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        _conv("c2", "p1", "w2", "b2", pads=[1, 1, 1, 1]),
        helper.make_node(
            "AveragePool",
            ["c2"],
            ["p2"],
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            ceil_mode=1,
        ),
        helper.make_node("GlobalAveragePool", ["p2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    inits = {"w1": _w(12, 5, 3, 3), "w2": _w(20, 12, 3, 3), "b2": _w(20)}
    inits.update({"wf": _w(10, 20), "bf": _w(10)})
    return nodes, {"x": (1, 5, 13, 13)}, ["y"], inits


def _concat_upsample():
    """Channel concat of two conv branches, nearest upsampling, a per-channel scale."""
    nodes = [
        _conv("a", "x", "wa", pads=[1, 1, 1, 1]),
        _conv("b", "x", "wb"),
        helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
        helper.make_node("Mul", ["cat", "scale"], ["sc"]),
        helper.make_node("Resize", ["sc", "", "scales"], ["up"], mode="nearest"),
        _conv("y", "up", "wy"),
    ]
    inits = {
        "wa": _w(16, 8, 3, 3),
        "wb": _w(16, 8, 1, 1),
        "scale": _w(32, 1, 1),
        "scales": np.array([1, 1, 2, 2], np.float32),
        "wy": _w(8, 32, 1, 1),
    }
    return nodes, {"x": (1, 8, 6, 6)}, ["y"], inits


CASES = {
    "chain_3x3_1x1": (_chain_3x3_1x1, 2),
    "bn_relu_residual": (_bn_relu_residual, 2),
    "depthwise_block": (_depthwise_block, 2),
    "odd_channels_pooling": (_odd_channels_pooling, 2),
    "concat_upsample": (_concat_upsample, 2),
}


@pytest.mark.parametrize("vector_bits", WIDTHS, ids=[f"bits{b}" for b in WIDTHS])
@pytest.mark.parametrize("case", sorted(CASES))
def test_conv_graphs_match_onnxruntime(case: str, vector_bits: int, o3_check) -> None:
    make, transforms = CASES[case]
    nodes, inputs, outputs, inits = make()
    model = float_model(nodes, inputs, outputs, 13, inits)
    relay_ir = o3_check(model, _feeds(**inputs), vector_bits)
    assert "relay.conv2d_nchwc" in relay_ir
    assert "relay.conv2d " not in relay_ir
    # one transform into the blocked layout per graph input (shared by the convs reading it)
    # and one out per result; none between the ops
    assert relay_ir.count("relay.layout_transform") == transforms


@pytest.mark.parametrize("vector_bits", WIDTHS, ids=[f"bits{b}" for b in WIDTHS])
def test_dense_with_bias_matches_onnxruntime(vector_bits: int, o3_check) -> None:
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["m"]),
        helper.make_node("Add", ["m", "b2"], ["y"]),
    ]
    inits = {"w1": _w(64, 24), "b1": _w(64), "w2": _w(64, 32), "b2": _w(32)}
    model = float_model(nodes, {"x": (3, 24)}, ["y"], 13, inits)
    relay_ir = o3_check(model, _feeds(x=(3, 24)), vector_bits)
    assert relay_ir.count("relay.dense_pack") == 2
    assert "relay.dense " not in relay_ir


@pytest.mark.parametrize(("n", "bn"), [(10, 8), (41, 16), (8210, 16)])
def test_dense_that_fits_no_panel_is_padded(n: int, bn: int, o3_check) -> None:
    """N not whole panels: the weight gets zero rows up to whole panels and a slice keeps
    the first N outputs (a ragged last panel instead of the generic dense)."""
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["y"]),
    ]
    model = float_model(nodes, {"x": (3, 8)}, ["y"], 13, {"w": _w(n, 8), "b": _w(n)})
    relay_ir = o3_check(model, _feeds(x=(3, 8)), 256)
    assert "relay.dense " not in relay_ir
    assert f"x{bn}xf32>) -> tensor<3x{-(-n // bn) * bn}xf32>" in relay_ir  # padded panels
    assert "relay.strided_slice" in relay_ir


def test_dense_narrower_than_a_vector_stays(o3_pipeline) -> None:
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)]
    model = float_model(nodes, {"x": (2, 8)}, ["y"], 13, {"w": _w(5, 8)})
    lib = xtvm.build(xtvm.from_onnx(model, {"x": (2, 8)}), pipeline=o3_pipeline(256))
    assert "relay.dense " in lib.get_source("relay")


def test_channel_block() -> None:
    assert [channel_block(c, 16) for c in (64, 32, 3, 24, 20, 17, 8)] == [16, 16, 3, 12, 10, 1, 8]


def test_vector_bits_must_be_whole_lanes() -> None:
    with pytest.raises(PipelineError, match="multiple of 32"):
        parse_pipeline("relay-alter-layout{vector-bits=48}")


def test_target_sets_the_block_width() -> None:
    """Cross-compiling sizes blocks for the target's vectors; an explicit width wins."""
    aarch64 = Target.from_string("llvm -mtriple=aarch64-linux-gnu")
    passes = parse_pipeline("relay-alter-layout,relay-alter-layout{vector-bits=256}")
    implicit, explicit = specialize_for_target(passes, aarch64)
    assert isinstance(implicit, RelayAlterLayoutPass)
    assert (implicit.vector_bits, explicit.vector_bits) == (128, 256)


def test_o2_and_o3_run_the_pass() -> None:
    for level in ("O2", "O3"):
        names = PIPELINES[level].split(",")
        k = names.index("relay-alter-layout")
        assert names[k + 1] == "relay-fold-constant"
        assert names.index("relay-fuse-ops") > k
