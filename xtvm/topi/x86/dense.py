"""x86 schedule of ``dense_pack``: register-blocked micro-kernel over packed weight panels.

The output is tiled ``mb x bn`` (``bn`` = the packing block: whole vector registers). Each
tile's accumulators live in a small local buffer (``cache_write``, or the anchor computed at
the epilogue's tile) whose loops are ``k, m (unrolled), n-vector (unrolled), lanes
(vectorized)``: after ``tir-unroll`` every accumulator access has a constant index, LLVM
keeps the ``mb * bn / lanes`` accumulators in registers, and the hot loop is one broadcast
of ``x[m, k]`` and ``bn / lanes`` FMAs per row. Knobs: the register budget
(``DefaultScheduleConfig.registers``) and the lane count come from the target.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType

from xtvm.dialects.te import ReadOp
from xtvm.topi.schedule import Axis, Schedule, Stage
from xtvm.topi.x86.default import DefaultScheduleConfig, schedule_stage
from xtvm.topi.x86.registry import register_schedule


def row_block(m: int, vectors_per_row: int, registers: int) -> int:
    """Rows per register tile: as many as the accumulators allow (keeping a few registers
    for the weight vectors and the broadcast), preferring a divisor of ``m``."""
    budget = max(1, (registers - vectors_per_row - 1) // vectors_per_row)
    budget = min(budget, m)
    for mb in range(budget, max(1, budget - 1) - 1, -1):
        if m % mb == 0:
            return mb
    return budget  # a ragged last tile recomputes a few rows (clamped start), no guards


def _tile_output(out: Stage, mb: int, bn: int, lanes: int) -> tuple[list[Axis], Axis, Axis, Axis]:
    """Split the output's last two axes into ``mo, no, mi, ni``; vectorize ``ni`` by lanes.
    Returns (outer loops, the tile loop to attach at, mi, the vector loop)."""
    *lead, m, n = out.axes if len(out.axes) >= 2 else (None, *out.axes)
    no, ni = out.split(n, bn)
    if m is None:
        nio, nii = out.split(ni, lanes)
        out.unroll(nio)
        out.vectorize(nii)
        return [*lead, no], no, nio, nii
    mo, mi = out.split(m, mb)
    out.reorder(no, mo, mi, ni)  # the weight panel of `no` stays in cache across row tiles
    nio, nii = out.split(ni, lanes)
    out.unroll(nio)
    out.vectorize(nii)
    return [*lead, no, mo], mo, mi, nii


@register_schedule("dense_pack")
def schedule_dense_pack(
    s: Schedule, dense: Stage, epilogue: Stage | None, cfg: DefaultScheduleConfig
) -> None:
    schedule_gemm(dense, epilogue, cfg, _panel_width(dense))


@register_schedule("batch_matmul")
def schedule_batch_matmul(
    s: Schedule, mm: Stage, epilogue: Stage | None, cfg: DefaultScheduleConfig
) -> None:
    """``b[..., k, n]`` is already contiguous along ``n``: the same micro-kernel streams its
    rows without packing. Falls back to the default rules when ``n`` is not whole vectors."""
    assert mm.compute is not None
    t = mm.compute.result.type
    assert isinstance(t, TensorType)
    lanes = cfg.lanes(t.element_type)
    n = mm.shape[-1]
    bn = next((b for b in (2 * lanes, lanes) if n % b == 0), None)
    if bn is None:
        schedule_stage(mm, cfg)
        if epilogue is not None:
            schedule_stage(epilogue, cfg)
        return
    schedule_gemm(mm, epilogue, cfg, bn)


def schedule_gemm(
    dense: Stage, epilogue: Stage | None, cfg: DefaultScheduleConfig, bn: int
) -> None:
    """Register-blocked ``[..., M, N] = sum_k`` schedule with ``bn`` output columns per tile."""
    assert dense.compute is not None
    t = dense.compute.result.type
    assert isinstance(t, TensorType)
    lanes = cfg.lanes(t.element_type)
    k_ext = dense.reduce_extents[0]
    if bn % lanes:
        lanes = bn  # an odd panel: one (partial) vector per row
    shape = dense.shape
    m_ext = shape[-2] if len(shape) >= 2 else 1
    mb = row_block(m_ext, bn // lanes, cfg.registers())
    if epilogue is None:
        local = dense.cache_write()
        out = dense
    else:
        local, out = dense, epilogue
    outer, attach, _, _ = _tile_output(out, mb, bn, lanes)
    local.compute_at(out, attach)
    # the local tile: k outermost, then rows and vectors unrolled, lanes vectorized
    *lead, n = local.axes
    (k,) = local.reduce_axes
    no_, ni_ = local.split(n, lanes)
    rows = lead[-1:] if len(shape) >= 2 else []
    local.reorder(*lead[:-1], k, *rows, no_, ni_)
    for r in rows:
        local.unroll(r)
    local.unroll(no_)
    local.vectorize(ni_)
    work = 1
    for d in shape:
        work *= d
    if cfg.parallel and work * k_ext >= cfg.min_parallel_work:
        for ax in outer:
            if ax.extent > 1:
                out.parallel(ax)
                break


def _panel_width(dense: Stage) -> int:
    """``bn`` of the packed weight: the last dim of the compute's second operand (``wp``)."""
    assert dense.compute is not None
    reads = [op for op in dense.compute.walk() if isinstance(op, ReadOp)]
    ty = reads[-1].tensor.type
    assert isinstance(ty, TensorType)
    return ty.get_shape()[-1]
