"""Dense and batch_matmul on a GPU: shared-memory tiles of both operands, a register block
of outputs per thread.

A block computes a ``(ty*rm) x (tx*rn)`` tile of the output; each of its ``ty x tx``
threads accumulates an ``rm x rn`` block in local memory (registers) over the reduction
in steps of ``bk``. Per step the block's threads copy the ``bk``-wide slices of both
operands into shared memory together (fused, split by the thread count), a barrier, the
``rm x rn x bk`` multiply-adds from shared memory, a barrier before the next copy.
"""

from __future__ import annotations

from xtvm.dialects.te import ComputeOp, PlaceholderOp, ReadOp
from xtvm.topi.cuda.config import CudaScheduleConfig
from xtvm.topi.cuda.registry import register_cuda_schedule
from xtvm.topi.schedule import Axis, Schedule, Stage

THREAD_CHOICES = (4, 8, 16, 32)
REG_CHOICES = (1, 2, 4, 8)
BK_CHOICES = (4, 8, 16, 32)


def _fit(extent: int, want: int) -> int:
    """``want`` or, for a short axis, the smallest power of two covering it."""
    f = 1
    while f < min(extent, want):
        f *= 2
    return f


def placeholder_reads(st: Stage) -> list[str]:
    """Names of the kernel inputs ``st``'s compute reads, directly or through the computes
    it reads (inlined ones: a padding), in order of first read."""
    names: list[str] = []
    assert st.compute is not None
    todo, seen = [st.compute], set()
    while todo:
        c = todo.pop(0)
        if c in seen:
            continue
        seen.add(c)
        for op in c.walk():
            if not isinstance(op, ReadOp):
                continue
            owner = op.tensor.owner
            if isinstance(owner, PlaceholderOp) and owner.tensor_name.data not in names:
                names.append(owner.tensor_name.data)
            elif isinstance(owner, ComputeOp) and st.schedule.is_inlined(owner):
                todo.append(owner)
    return names


def cooperative_load(cache: Stage, threads: list[tuple[str, int]]) -> None:
    """The block's threads (``(tag, count)``, innermost first) copy the cached tile together,
    consecutive ``threadIdx.x`` taking consecutive elements of its last (contiguous) axis."""
    rest = cache.fuse(*cache.axes) if len(cache.axes) > 1 else cache.axes[0]
    for tag, n in threads:
        rest, t = cache.split(rest, n)
        cache.bind(t, tag)


def accumulator(anchor: Stage, epilogue: Stage | None) -> tuple[Stage, Stage]:
    """``(per-thread accumulator, stage that gets the threads)``: the anchor computed into
    local memory and copied out, or the anchor itself inside its epilogue's threads."""
    if epilogue is None:
        return anchor.cache_write("local"), anchor
    return anchor, epilogue


@register_cuda_schedule("dense", "batch_matmul")
def schedule_dense(
    s: Schedule, anchor: Stage, epilogue: Stage | None, cfg: CudaScheduleConfig
) -> list[Stage]:
    """The GEMM template for ``dense`` (``x[i,k] * w[j,k]``) and ``batch_matmul`` anchors."""
    kn = cfg.tuning()
    acc, out = accumulator(anchor, epilogue)
    *batch, i, j = out.axes
    (k,) = acc.reduce_axes
    ty = kn.knob("ty", THREAD_CHOICES, _fit(i.extent, 8))
    narrow = ty < 8  # few rows (a batch-1 layer): wider blocks, one output per thread
    tx = kn.knob("tx", (*THREAD_CHOICES, 64, 128), _fit(j.extent, 64 if narrow else 16))
    rm = kn.knob("rm", REG_CHOICES, min(4, _fit(-(-i.extent // ty), 4)))
    rn = kn.knob("rn", REG_CHOICES, 1 if narrow else min(4, _fit(-(-j.extent // tx), 4)))
    bk = kn.knob("bk", BK_CHOICES, min(8, _fit(k.extent, 8)))
    io, ii = out.split(i, ty * rm)
    yi, ri = out.split(ii, rm)
    jo, ji = out.split(j, tx * rn)
    xi, rj = out.split(ji, rn)
    out.reorder(*batch, io, jo, yi, xi, ri, rj)
    if batch:
        bz: Axis = out.fuse(*batch) if len(batch) > 1 else batch[0]
        out.bind(bz, "blockIdx.z")
    out.bind(io, "blockIdx.y")
    out.bind(jo, "blockIdx.x")
    out.bind(yi, "threadIdx.y")
    out.bind(xi, "threadIdx.x")
    acc.compute_at(out, xi)
    *_, ai, aj = acc.axes
    ko, ki = acc.split(acc.reduce_axes[0], bk)
    acc.reorder(*acc.axes[:-2], ko, ki, ai, aj)
    if kn.knob("unroll", [True, False], True):
        acc.unroll(ai)
        acc.unroll(aj)
    # the thread loops a short axis really gets (a tile wider than the axis is clamped)
    ty_eff = -(-min(i.extent, ty * rm) // rm)
    tx_eff = -(-min(j.extent, tx * rn) // rn)
    for name in placeholder_reads(acc):
        cache = s.cache_read(name, "shared")
        cache.compute_at(acc, ko)
        cooperative_load(cache, [("threadIdx.x", tx_eff), ("threadIdx.y", ty_eff)])
    return [acc, out]
