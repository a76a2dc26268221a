"""x86 schedules of ``conv2d_nchwc``: blocked convolutions (1x1, 3x3, 7x7 stride 2, strided,
dilated, depthwise, grouped, odd channel blocks, epilogues) compiled to machine code match
numpy."""

from __future__ import annotations

import re

import numpy as np
import pytest
from reference import conv2d  # examples/reference.py: the numpy reference
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32

import xtvm
from xtvm.backends.llvm.target import Target
from xtvm.dialects.te import CallOp, ComputeOp, KernelOp
from xtvm.topi import KernelBuilder, nn
from xtvm.topi.schedule import Schedule, Stage
from xtvm.topi.x86 import DefaultScheduleConfig, apply_default_schedule
from xtvm.topi.x86.conv2d import ConvTile, conv_groups, pick_tile

RNG = np.random.default_rng(0)


def lowering_pipeline() -> str:
    """The te-to-llvm part of the ``O3`` pipeline (what a compiled model's kernels get)."""
    from xtvm.passes.registry import PIPELINES

    spec = PIPELINES["O3"]
    return spec[spec.index("convert-te-to-tir") :]


def to_nchwc(x: np.ndarray, cb: int) -> np.ndarray:
    n, c, h, w = x.shape
    return np.ascontiguousarray(x.reshape(n, c // cb, cb, h, w).transpose(0, 1, 3, 4, 2))


def from_nchwc(y: np.ndarray) -> np.ndarray:
    n, blocks, h, w, ob = y.shape
    return y.transpose(0, 1, 4, 2, 3).reshape(n, blocks * ob, h, w)


def to_oihwio(w: np.ndarray, cb: int, ob: int) -> np.ndarray:
    o, c, kh, kw = w.shape
    return np.ascontiguousarray(
        w.reshape(o // ob, ob, c // cb, cb, kh, kw).transpose(0, 2, 4, 5, 3, 1)
    )


def depthwise_blocked(w: np.ndarray, cb: int) -> np.ndarray:
    """``[C, 1, KH, KW]`` -> ``[C/cb, 1, KH, KW, 1, cb]``."""
    c, _, kh, kw = w.shape
    blocked = w.reshape(c // cb, cb, kh, kw).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(blocked[:, None, :, :, None, :])


def compile_kernel(kernel: KernelOp, inputs: list, output) -> xtvm.driver.compiled.CompiledModule:
    """A module whose ``main`` calls ``kernel``, compiled for the host."""
    types = [t.type for t in inputs]
    f = func.FuncOp("main", (types, [output.type]))
    call = CallOp(kernel.sym_name.data, f.args, [output.type])
    f.body.block.add_ops([call, func.ReturnOp(call.res[0])])
    lib = xtvm.build(ModuleOp([kernel, f]), pipeline=lowering_pipeline(), num_threads=2)
    compile_kernel.last = lib  # type: ignore[attr-defined]
    return lib


def run_conv(
    n=1,
    c=16,
    o=16,
    size=(7, 9),
    k=(3, 3),
    stride=(1, 1),
    pad=(1, 1, 1, 1),
    dilation=(1, 1),
    cb=8,
    ob=8,
    depthwise=False,
    epilogue=None,
    cfg=None,
    run=True,
    groups=1,
):
    """Build, schedule, compile and run one blocked convolution; compare with numpy.
    Returns the kernel (to inspect its schedule); ``run=False`` only schedules it."""
    h, wd = size
    x = RNG.standard_normal((n, c, h, wd)).astype(np.float32)
    if depthwise:
        o, ob = c, cb
        w = RNG.standard_normal((c, 1, *k)).astype(np.float32)
        wb = depthwise_blocked(w, cb)
    else:
        w = RNG.standard_normal((o, c // groups, *k)).astype(np.float32)
        wb = to_oihwio(w, cb, ob)
    kb = KernelBuilder("conv")
    xp = kb.placeholder((n, c // cb, h, wd, cb), f32, "x")
    wp = kb.placeholder(wb.shape, f32, "w")
    args = [to_nchwc(x, cb), wb]
    phs = [xp, wp]
    want = conv2d(x, w, None, stride, pad, dilation, group=c if depthwise else groups)
    if epilogue == "bias_relu":
        bias = RNG.standard_normal(o).astype(np.float32)
        phs.append(kb.placeholder((1, o // ob, 1, 1, ob), f32, "b"))
        args.append(np.ascontiguousarray(bias.reshape(1, o // ob, 1, 1, ob)))
        want = np.maximum(want + bias[None, :, None, None], 0)
    elif epilogue == "residual":
        res = RNG.standard_normal(want.shape).astype(np.float32)
        phs.append(kb.placeholder((n, o // ob, *want.shape[2:], ob), f32, "r"))
        args.append(to_nchwc(res, ob))
        want = want + res
    y = nn.conv2d_nchwc(xp, wp, stride, pad, dilation, depthwise=depthwise, groups=groups)
    if epilogue == "bias_relu":
        y = nn.relu(nn.add(y, phs[2]))
    elif epilogue == "residual":
        y = nn.add(y, phs[2])
    kb.output(y)
    kernel = kb.finish()
    apply_default_schedule(kernel, cfg or DefaultScheduleConfig(min_parallel_work=0))
    kernel.verify()
    if not run:
        return kernel
    lib = compile_kernel(kernel, phs, y)
    got = from_nchwc(lib.run(args)[0])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    return kernel


def schedule_ops(kernel: KernelOp) -> list[str]:
    assert kernel.schedule is not None
    return [op.name for op in kernel.schedule.block.ops]


AVX2 = DefaultScheduleConfig(vector_bits=256, min_parallel_work=0)


@pytest.mark.parametrize(
    "case",
    [
        dict(epilogue="bias_relu"),  # 3x3 + bias + relu
        dict(c=3, cb=3, o=16, size=(16, 15), k=(7, 7), stride=(2, 2), pad=(3, 3, 3, 3)),
        dict(stride=(2, 2), epilogue="residual"),  # strided 3x3 + residual add
        dict(k=(1, 1), stride=(2, 2), pad=(0, 0, 0, 0), size=(8, 8)),  # 1x1 stride 2
        dict(dilation=(2, 2), pad=(2, 1, 2, 3)),  # dilated, asymmetric padding
        dict(depthwise=True, c=16, cb=8),  # depthwise 3x3
        dict(depthwise=True, c=8, cb=4, stride=(2, 2), epilogue="bias_relu"),
        dict(n=2, c=8, o=32, ob=16, size=(5, 6), cfg=AVX2),  # two vectors per block
        dict(o=32, ob=8, size=(3, 3), epilogue="bias_relu", cfg=AVX2),  # several blocks/tile
        dict(o=16, ob=16, size=(1, 7), cfg=AVX2),  # 7 columns x 1 of 2 vectors
        dict(depthwise=True, c=32, cb=16, size=(5, 7), epilogue="bias_relu", cfg=AVX2),
        dict(c=6, cb=3, o=12, ob=4, size=(5, 5)),  # blocks narrower than a vector
        dict(size=(1, 19), cfg=AVX2),  # a ragged tile: 19 columns in blocks of 5
        dict(depthwise=True, size=(3, 17), epilogue="bias_relu", cfg=AVX2),  # ragged
        dict(o=32, size=(14, 14), cfg=AVX2),  # 2 rows x 2 columns x 2 channel blocks
        dict(o=12, ob=12, size=(4, 4), cfg=AVX2),  # a block of 1.5 vectors
        # many input channels: a row of tiles accumulates chunk by chunk of channel blocks
        dict(c=64, o=16, size=(5, 9), epilogue="bias_relu", cfg=AVX2),
        dict(c=96, o=16, size=(4, 6), cfg=AVX2),
        # grouped: tiles of several channel blocks within a group, 4-wide blocks, chunks
        dict(c=32, o=64, groups=2, size=(3, 3), epilogue="bias_relu", cfg=AVX2),
        dict(c=32, o=32, groups=8, cb=4, ob=4, stride=(2, 2), size=(9, 8)),
        dict(c=256, o=32, groups=2, size=(4, 6), cfg=AVX2),
    ],
    ids=[
        "3x3-bias-relu",
        "7x7s2-cb3",
        "3x3s2-residual",
        "1x1s2",
        "dilated",
        "depthwise",
        "depthwise-s2-bias-relu",
        "ob16-avx2-batch2",
        "oc-blocks-tile",
        "ob16-vector-outer",
        "depthwise-ob16-vector-outer",
        "ob4",
        "ragged",
        "depthwise-ragged",
        "rows-tile",
        "ob12",
        "channel-chunks-bias-relu",
        "channel-chunks",
        "grouped-oc-blocks-bias-relu",
        "grouped-ob4-s2",
        "grouped-channel-chunks",
    ],
)
def test_conv2d_nchwc_matches_numpy(case):
    ops = schedule_ops(run_conv(**case))
    # the conv's tile is computed inside the output loops: in a cache_write stage when the
    # conv is the kernel output, else in the epilogue's tile
    assert "te.compute_at" in ops
    assert ("te.cache_write" in ops) == (case.get("epilogue") is None)
    assert "te.unroll" in ops and "te.vectorize" in ops and "te.parallel" in ops
    # the padded input gets its own buffer; bias/residual stages are still inlined
    assert (
        ops.count("te.compute_inline")
        == {None: 0, "bias_relu": 1, "residual": 0}[case.get("epilogue")]
    )


def test_many_input_channels_are_chunked():
    """Wide reductions sweep a row of tiles per chunk of input channels: the accumulator
    stage spans the row (its compute_at is outside the output's column loop) and its
    channel-block axis is split."""
    k = run_conv(c=64, o=16, size=(5, 9), cfg=AVX2, run=False)
    ops = schedule_ops(k)
    few = schedule_ops(run_conv(c=8, o=16, size=(5, 9), cfg=AVX2, run=False))
    assert ops.count("te.split") > few.count("te.split")


def _conv_stage(kernel: KernelOp) -> Stage:
    convs = [
        op
        for op in kernel.walk()
        if isinstance(op, ComputeOp) and op.tag is not None and op.tag.data == "conv2d_nchwc"
    ]
    assert len(convs) == 1
    return Schedule(kernel).stage(convs[0])


@pytest.mark.parametrize("groups", [1, 2, 8])
def test_tiles_stay_within_a_group(groups, monkeypatch):
    """The schedule reads the groups off the stage and sizes the register tile from the
    channel blocks of one group: a tile's channel blocks share the group's input."""
    from xtvm.topi.x86 import conv2d as x86_conv2d

    picked = []

    def spy(oh, ow, oblocks, *rest):
        tile = pick_tile(oh, ow, oblocks, *rest)
        picked.append((oblocks, tile))
        return tile

    monkeypatch.setattr(x86_conv2d, "pick_tile", spy)
    k = run_conv(c=64, o=64, groups=groups, size=(14, 14), cfg=AVX2, run=False)
    assert conv_groups(_conv_stage(k)) == groups
    [(oblocks, tile)] = picked
    assert oblocks == 8 // groups and oblocks % tile.oc_blocks == 0


def test_small_work_stays_serial():
    k = run_conv(c=8, o=8, size=(4, 4), cfg=DefaultScheduleConfig(), run=False)
    assert "te.parallel" not in schedule_ops(k)
    assert "te.compute_at" in schedule_ops(k)


@pytest.mark.parametrize(
    "args, want",
    [
        # AVX2 (16 registers, 8 lanes), ResNet's 56x56: 4 columns x 2 channel blocks
        ((56, 56, 8, 8, 8, 16, False), ConvTile(1, 4, 2, 1, 1, 8, False)),
        # a block of two vectors: 4 columns x both
        ((56, 56, 4, 16, 8, 16, False), ConvTile(1, 4, 1, 2, 2, 8, True)),
        # 7x7: 7 columns (two channel blocks of 7 would not fit)
        ((7, 7, 64, 8, 8, 16, False), ConvTile(1, 7, 1, 1, 1, 8, False)),
        # 14x14: 2 rows x 2 columns x 2 blocks
        ((14, 14, 32, 8, 8, 16, False), ConvTile(2, 2, 2, 1, 1, 8, False)),
        # AVX-512 (32 registers, 16 lanes): 16 accumulators, half the registers
        ((56, 56, 4, 16, 16, 32, False), ConvTile(1, 4, 4, 1, 1, 16, False)),
        # depthwise: no tiling over channel blocks, a quarter of the registers
        ((3, 3, 8, 8, 8, 16, True), ConvTile(1, 3, 1, 1, 1, 8, False)),
        # a prime width: a ragged tile (19 = 5 x 4 - 1) beats any exact one
        ((19, 19, 16, 8, 8, 16, False), ConvTile(1, 4, 2, 1, 1, 8, False)),
    ],
)
def test_pick_tile(args, want):
    tile = pick_tile(*args)
    assert tile == want
    oh, ow, oblocks, ob, lanes, registers, depthwise = args
    chans = tile.oc_blocks * tile.vec_block
    spare = 2 * chans if depthwise else chans + 1
    assert tile.accumulators + spare < registers
    assert oblocks % tile.oc_blocks == 0 and tile.vectors % tile.vec_block == 0


def _loops(asm: str) -> list[list[str]]:
    """Each single-block loop of ``asm``: the instructions from its label to its back edge."""
    loops, label, body = [], None, []
    for line in asm.splitlines():
        m = re.match(r"^(\.LBB\w+):", line)
        if m:
            label, body = m.group(1), []
            continue
        text = line.strip()
        if label is None or not line.startswith("\t") or text.startswith("."):
            continue
        body.append(text)
        if re.match(rf"j\w+\s+{re.escape(label)}$", text):
            loops.append(body)
            label = None
    return loops


@pytest.mark.skipif(
    not (Target.host().arch.startswith("x86") and Target.host().has_feature("fma")),
    reason="checks x86 FMA code",
)
@pytest.mark.parametrize("depthwise,groups", [(False, 1), (True, 1), (False, 2)])
def test_hot_loop_keeps_accumulators_in_registers(depthwise, groups):
    """The innermost loop is FMAs on register accumulators: nothing is stored to the
    stack in it (an accumulator kept in memory would be stored every step; reloading a
    spilled loop invariant is harmless)."""
    kernel = run_conv(
        c=16, o=16, size=(4, 56), depthwise=depthwise, epilogue="bias_relu", groups=groups
    )
    lib = compile_kernel.last  # type: ignore[attr-defined]
    hot = max(_loops(lib.get_source("asm")), key=lambda b: sum("vfmadd" in i for i in b))
    fmas = sum("vfmadd" in i for i in hot)
    assert fmas >= 4
    stack_stores = [i for i in hot if re.search(r",\s*-?\d*\(%r[sb]p\)$", i)]
    assert not stack_stores, hot
    if not depthwise:
        assert sum("vbroadcastss" in i for i in hot) > 0
    assert "te.compute_at" in schedule_ops(kernel)
