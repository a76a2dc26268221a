"""x86 schedule of ``dense_pack`` and ``batch_matmul``: register-blocked micro-kernel over
packed weight panels.

The output is tiled ``mb x bn`` (``bn`` = the packing block: whole vector registers). Each
tile's accumulators live in a small local buffer (``cache_write``, or the anchor computed at
the epilogue's tile) whose loops are ``k, m (unrolled), n-vector (unrolled), lanes
(vectorized)``: after ``tir-unroll`` every accumulator access has a constant index, LLVM
keeps the ``mb * bn / lanes`` accumulators in registers, and the hot loop is one broadcast
of ``x[m, k]`` and ``bn / lanes`` FMAs per row. The register budget
(``DefaultScheduleConfig.registers``) and the lane count come from the target.

Tunable knobs (:mod:`xtvm.autotune.space`; the defaults are the hand-picked schedule):

- ``tile_m``: rows per register tile, 1 .. the register budget (default :func:`row_block`);
- ``tile_n``: output columns per tile, whole vectors dividing ``bn`` (default ``bn``);
- ``tile_k``: 0, or a chunk of the reduction: the accumulators then span a strip of tiles
  (all row tiles of a column tile, or the reverse with ``order="mn"``) and each chunk of
  the weight panel is reused across the strip while it is in L1 (default 0);
- ``order``: ``"nm"`` (column tiles outside row tiles: a weight panel stays in cache across
  the rows) or ``"mn"`` (default ``"nm"``);
- ``unroll_m``: unroll the tile's row loop (default True: constant accumulator indices);
- ``parallel``: ``"outer"`` (the first outer loop of extent > 1), ``"fused"`` (the batch
  and tile loops fused into one parallel loop: more even shares) or ``"none"``;
- ``pack_b`` (``batch_matmul`` only): copy each ``[K, bn]`` panel (each ``[tile_k, bn]``
  chunk) of the runtime right-hand side into a contiguous buffer before the strip of row
  tiles that read it (default: when at least :data:`PACK_MIN_ROW_TILES` row tiles share a
  panel of at least :data:`PACK_MIN_K` rows). Its rows are otherwise ``N`` floats apart:
  each step of the reduction touches another page.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType

from xtvm.dialects.te import PlaceholderOp, ReadOp
from xtvm.topi.schedule import Axis, Schedule, Stage
from xtvm.topi.x86.default import DefaultScheduleConfig, schedule_stage
from xtvm.topi.x86.registry import register_schedule

MIN_K_CHUNK = 16  # shorter reduction chunks cost more in accumulator reloads than they save
MAX_K_CHUNKS = 6  # tile_k candidates besides 0
PACK_MIN_ROW_TILES = 4
PACK_MIN_K = 256
"""``pack_b`` is the default from :data:`PACK_MIN_ROW_TILES` row tiles per panel and a
reduction of ``PACK_MIN_K`` up. Measured (one thread, AVX2): a 1024^3 product of runtime
operands 56 -> 25 ms packed, [4, 64, 256] x [4, 256, 256] 0.47 -> 0.41 ms; packing lost
with two row tiles (12 x 1024 x 1024: 0.63 -> 0.84 ms) and with a short reduction, whose
unpacked panel stays in L1 anyway ([2, 640, 32] x [2, 32, 640]: 0.61 -> 0.90 ms)."""


def row_block(m: int, vectors_per_row: int, registers: int) -> int:
    """Rows per register tile: as many as the accumulators allow (keeping a few registers
    for the weight vectors and the broadcast), preferring a divisor of ``m``."""
    budget = max(1, (registers - vectors_per_row - 1) // vectors_per_row)
    budget = min(budget, m)
    for mb in range(budget, max(1, budget - 1) - 1, -1):
        if m % mb == 0:
            return mb
    return budget  # a ragged last tile recomputes a few rows (clamped start), no guards


def k_chunks(k: int) -> list[int]:
    """``tile_k`` candidates: divisors of ``k`` from :data:`MIN_K_CHUNK` to ``k / 2``, each
    at least twice the previous (a few cache-blocking sizes, not every divisor)."""
    out: list[int] = []
    for d in range(MIN_K_CHUNK, k // 2 + 1):
        if k % d == 0 and (not out or d >= 2 * out[-1]):
            out.append(d)
    return out[-MAX_K_CHUNKS:]


@dataclass(frozen=True)
class GemmChoice:
    """The knob values of one GEMM schedule."""

    mb: int
    tn: int
    tile_k: int
    order: str
    unroll_m: bool
    parallel: str
    pack_b: bool


def gemm_knobs(
    cfg: DefaultScheduleConfig, m: int, n: int, k: int, bn: int, lanes: int, packable: bool
) -> GemmChoice:
    """Declare the GEMM template's knobs (defaults: the hand-picked schedule) and read them."""
    kn = cfg.tuning()
    widths = [w for w in range(lanes, bn + 1, lanes) if bn % w == 0]
    tn = kn.knob("tile_n", widths, bn)
    # the narrowest tile leaves the most registers for rows
    budget = max(1, min(m, cfg.registers() - 2))
    mb = kn.knob("tile_m", list(range(1, budget + 1)), row_block(m, bn // lanes, cfg.registers()))
    tile_k = kn.knob("tile_k", [0, *k_chunks(k)], 0)
    order = kn.knob("order", ["nm", "mn"], "nm")
    unroll_m = kn.knob("unroll_m", [True, False], True)
    parallel = kn.knob("parallel", ["outer", "fused", "none"], "outer")
    pack_b = False
    if packable:
        # a copy of B pays off once several row tiles read each panel
        reuse = m >= PACK_MIN_ROW_TILES * mb and n > bn and k >= PACK_MIN_K
        pack_b = kn.knob("pack_b", [False, True], reuse)
    return GemmChoice(mb, tn, tile_k, order, unroll_m, parallel, pack_b)


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
    rows (or, with ``pack_b``, packed copies of its panels). Falls back to the default rules
    when ``n`` is not whole vectors."""
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
    schedule_gemm(mm, epilogue, cfg, bn, s, _rhs_name(mm))


def _rhs_name(mm: Stage) -> str | None:
    """The name of a batch_matmul's right-hand side when it is a kernel argument."""
    assert mm.compute is not None
    reads = [op for op in mm.compute.walk() if isinstance(op, ReadOp)]
    owner = reads[-1].tensor.owner
    return owner.tensor_name.data if isinstance(owner, PlaceholderOp) else None


def schedule_gemm(
    dense: Stage,
    epilogue: Stage | None,
    cfg: DefaultScheduleConfig,
    bn: int,
    s: Schedule | None = None,
    rhs: str | None = None,
) -> None:
    """Register-blocked ``[..., M, N] = sum_k`` schedule with ``bn`` output columns per
    panel; ``rhs`` (with ``s``) names a right-hand side ``[..., K, N]`` that ``pack_b`` may
    copy panel by panel."""
    assert dense.compute is not None
    t = dense.compute.result.type
    assert isinstance(t, TensorType)
    lanes = cfg.lanes(t.element_type)
    k_ext = dense.reduce_extents[0]
    if bn % lanes:
        lanes = bn  # an odd panel: one (partial) vector per row
    shape = dense.shape
    has_m = len(shape) >= 2
    m_ext = shape[-2] if has_m else 1
    n_ext = shape[-1]
    ch = gemm_knobs(cfg, m_ext, n_ext, k_ext, bn, lanes, s is not None and rhs is not None)
    if epilogue is None:
        local = dense.cache_write()
        out = dense
    else:
        local, out = dense, epilogue
    pack = s.cache_read(rhs) if ch.pack_b and s is not None and rhs is not None else None
    # output loops: lead..., [no, mo] (or [mo, no]), mi, nio (unrolled), nii (vectorized)
    *lead, m, n = out.axes if has_m else (None, *out.axes)
    no, ni = out.split(n, ch.tn)
    tiles = [no]
    if m is not None:
        mo, mi = out.split(m, ch.mb)
        tiles = [no, mo] if ch.order == "nm" else [mo, no]
        out.reorder(*tiles, mi, ni)
    nio, nii = out.split(ni, lanes)
    out.unroll(nio)
    out.vectorize(nii)
    work = k_ext
    for d in shape:
        work *= d
    par = ch.parallel if cfg.parallel and work >= cfg.min_parallel_work else "none"
    # with a k split (or a packed panel) the accumulators span a strip of tiles: attach
    # at the outer tile loop; the panel (one chunk of k) is packed inside the strip, once
    # per k chunk, before the tiles that read it
    strip = bool(ch.tile_k or pack is not None) and len(tiles) == 2
    attach = tiles[0] if strip else tiles[-1]
    if par == "fused":
        group = [*lead, *tiles[: 1 if strip else 2]]
        attach = out.fuse(*group) if len(group) > 1 else group[0]
        out.parallel(attach)
    local.compute_at(out, attach)
    ko = _schedule_local(local, ch, lanes, has_m, strip, k_ext)
    if pack is not None:
        pack.compute_at(local, ko)
        pack.vectorize(pack.axes[-1])
    if par == "outer":
        for ax in [*lead, *tiles]:
            if ax.extent > 1:
                out.parallel(ax)
                break


def _schedule_local(
    local: Stage, ch: GemmChoice, lanes: int, has_m: bool, strip: bool, k_ext: int
) -> Axis:
    """The accumulator tile: k outermost, then rows and vectors (unrolled), lanes
    (vectorized). As a strip: ``k_outer, tile loop, k_inner, tile``. Returns the
    outermost reduction loop."""
    *lead, n = local.axes
    (k,) = local.reduce_axes
    rows = lead[-1:] if has_m else []
    outer_lead = lead[:-1] if has_m else lead
    red = [k]
    strip_loops: list[Axis] = []
    if ch.tile_k or strip:
        ko, ki = local.split(k, ch.tile_k or k_ext)
        red = [ko, ki]
    if strip and ch.order == "nm":
        so, si = local.split(rows[0], ch.mb)
        strip_loops, rows = [so], [si]
    elif strip:
        so, n = local.split(n, ch.tn)
        strip_loops = [so]
    no_, ni_ = local.split(n, lanes)
    local.reorder(*outer_lead, *red[:-1], *strip_loops, red[-1], *rows, no_, ni_)
    if ch.unroll_m:
        for r in rows:
            local.unroll(r)
    local.unroll(no_)
    local.vectorize(ni_)
    return red[0]


def _panel_width(dense: Stage) -> int:
    """``bn`` of the packed weight: the last dim of the compute's second operand (``wp``)."""
    assert dense.compute is not None
    reads = [op for op in dense.compute.walk() if isinstance(op, ReadOp)]
    ty = reads[-1].tensor.type
    assert isinstance(ty, TensorType)
    return ty.get_shape()[-1]
