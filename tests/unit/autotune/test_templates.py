"""The x86 operator templates declare their knobs: collecting the space of a dense, a
batch_matmul and a blocked conv2d gives today's hand-picked choices as the defaults, and an
untuned build (no knobs, the fallback, or the default point of the space) is the same
schedule."""

from __future__ import annotations

import sys
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from xdsl.printer import Printer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/unit: shared helpers

from test_x86_conv2d import AVX2, run_conv  # noqa: E402
from test_x86_dense import CFG, make_kernel  # noqa: E402

from xtvm.autotune.space import FALLBACK, ConfigSpace  # noqa: E402
from xtvm.dialects.te import KernelOp  # noqa: E402
from xtvm.topi import nn  # noqa: E402
from xtvm.topi.builder import Tensor  # noqa: E402
from xtvm.topi.x86 import DefaultScheduleConfig  # noqa: E402
from xtvm.topi.x86.conv2d import channel_chunk, pick_tile  # noqa: E402
from xtvm.topi.x86.dense import row_block  # noqa: E402

GEMM_KNOBS = ["tile_n", "tile_m", "tile_k", "order", "unroll_m", "parallel"]


def text(kernel: KernelOp) -> str:
    io = StringIO()
    Printer(io).print_op(kernel)
    return io.getvalue()


def dense_relu(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    return nn.relu(nn.add(nn.dense_pack(x, w), b))


DENSE = ([(24, 64), (4, 64, 16), (64,)], dense_relu)
BATCH_MATMUL = ([(2, 20, 48), (2, 48, 32)], nn.batch_matmul)
PACKED = ([(2, 20, 256), (2, 256, 32)], nn.batch_matmul)  # pack_b by default


def collect(shapes, body, cfg: DefaultScheduleConfig) -> ConfigSpace:
    space = ConfigSpace()
    make_kernel(shapes, body, replace(cfg, knobs=space))
    return space


def defaults(space: ConfigSpace) -> dict:
    return {k.name: k.default for k in space.knobs.values()}


def test_dense_space_defaults_are_todays_schedule() -> None:
    space = collect(*DENSE, CFG)
    assert list(space.knobs) == GEMM_KNOBS
    lanes = 8  # CFG: 256-bit vectors, 16 registers
    assert defaults(space) == {
        "tile_n": 16,
        "tile_m": row_block(24, 16 // lanes, 16),
        "tile_k": 0,
        "order": "nm",
        "unroll_m": True,
        "parallel": "outer",
    }
    assert space.knobs["tile_n"].candidates == (8, 16)  # whole vectors dividing the panel
    assert space.knobs["tile_m"].candidates == tuple(range(1, 15))  # 16 registers - 2
    assert space.knobs["tile_k"].candidates == (0, 16, 32)  # divisors of 64 up to 64/2
    assert space.default_index() == space.index_of({})


def test_batch_matmul_space_has_packing_knob() -> None:
    space = collect(*BATCH_MATMUL, CFG)
    assert list(space.knobs) == [*GEMM_KNOBS, "pack_b"]
    assert space.knobs["pack_b"].candidates == (False, True)
    assert defaults(space)["tile_m"] == row_block(20, 2, 16)


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "packed"),
    [
        ((2, 20, 256), (2, 256, 32), True),  # 4 row tiles of 5 share each panel
        ((12, 256), (256, 32), False),  # 2 row tiles: the copy would not pay off
        ((40, 256), (256, 16), False),  # one panel: b's rows are contiguous already
        ((40, 48), (48, 32), False),  # a short panel stays in L1 unpacked
    ],
)
def test_runtime_rhs_is_packed_when_panels_are_reused(a_shape, b_shape, packed) -> None:
    """The untuned schedule copies the right-hand side's panels (a ``te.cache_read`` inside
    the strip of row tiles) once enough row tiles read each of them."""
    space = collect([a_shape, b_shape], nn.batch_matmul, CFG)
    assert space.knobs["pack_b"].default is packed
    kernel = make_kernel([a_shape, b_shape], nn.batch_matmul, CFG)
    assert ("te.cache_read" in text(kernel)) is packed


def test_conv2d_space_defaults_are_todays_schedule() -> None:
    space = ConfigSpace()
    run_conv(c=64, o=32, size=(14, 14), cfg=replace(AVX2, knobs=space), run=False)
    assert list(space.knobs) == ["tile", "ic_chunk", "fuse_ow", "pad_buffer"]
    tile = pick_tile(14, 14, 4, 8, 8, 16, False)
    assert space.knobs["tile"].default == [tile.oh_block, tile.ow_block, tile.oc_blocks, 1]
    assert 8 <= len(space.knobs["tile"].candidates) <= 32
    for hb, wb, m, vb in space.knobs["tile"].candidates:
        assert hb * wb * m * vb + m * vb + 1 < 16  # within the register budget
    # 64 input channels of 8: a 16 KiB weight chunk of 4 blocks for a 2-block tile
    assert space.knobs["ic_chunk"].candidates == (0, 1, 2, 4)
    assert space.knobs["fuse_ow"].default is False
    assert space.knobs["pad_buffer"].default is True


def test_conv2d_chunk_default_follows_channel_chunk(monkeypatch) -> None:
    from xtvm.topi.x86 import conv2d as x86_conv2d

    seen = []

    def spy(conv, tile):
        seen.append(channel_chunk(conv, tile))
        return seen[-1]

    monkeypatch.setattr(x86_conv2d, "channel_chunk", spy)
    space = ConfigSpace()
    run_conv(c=128, o=16, size=(5, 9), cfg=replace(AVX2, knobs=space), run=False)
    assert seen and seen[0] is not None
    assert space.knobs["ic_chunk"].default == seen[0]


def test_depthwise_space() -> None:
    space = ConfigSpace()
    run_conv(depthwise=True, c=32, cb=8, size=(9, 9), cfg=replace(AVX2, knobs=space), run=False)
    assert space.knobs["ic_chunk"].candidates == (0,)  # no channel reduction


@pytest.mark.parametrize(
    "case", ["dense", "batch_matmul", "batch_matmul-packed", "conv2d", "conv2d-chunks"]
)
def test_untuned_builds_are_identical(case: str) -> None:
    """No knobs, the fallback, a space being collected and the space's default point all
    give the same schedule (so an untuned build is bit-for-bit today's)."""

    def build(knobs) -> str:
        if case.startswith("conv2d"):
            c = 128 if case == "conv2d-chunks" else 16
            cfg = replace(AVX2, knobs=knobs)
            return text(run_conv(c=c, o=32, size=(6, 7), epilogue="bias_relu", cfg=cfg, run=False))
        shapes, body = {"dense": DENSE, "batch_matmul": BATCH_MATMUL}.get(case, PACKED)
        return text(make_kernel(shapes, body, replace(CFG, knobs=knobs)))

    space = ConfigSpace()
    collected = build(space)
    assert space
    plain = build(None)
    assert build(FALLBACK) == plain
    assert collected == plain
    assert build(space.get(space.default_index())) == plain


def test_space_sizes_are_modest() -> None:
    """A 1024 GEMM and ResNet's 56x56x64 3x3 conv (AVX2) have 10^2..10^6 configs."""
    dense = collect([(1024, 1024), (64, 1024, 16)], nn.dense_pack, CFG)
    conv = ConfigSpace()
    run_conv(c=64, o=64, size=(56, 56), cfg=replace(AVX2, knobs=conv), run=False)
    for space in (dense, conv):
        assert 100 <= len(space) <= 10**6, space
