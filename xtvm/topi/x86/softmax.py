"""x86 schedule of softmax over the last axis: each exponential computed once, rows in cache.

The compute (:func:`xtvm.topi.nn.softmax`) is ``max`` -> ``exp`` (tag ``softmax_exp``) ->
``sum`` -> scaling. Both the sum and the scaling read the exponentials, so that stage cannot
sit inside one consumer's loop (``compute_at`` wants a single reader): it is registered with
``keep`` (the default rules would inline it and evaluate ``exp`` twice), keeps a buffer of
the input's size, and the kernel makes two passes over the rows:

1. per row, the row's maximum (a vector reduction, ``compute_at`` the row loop), then the
   row of ``exp(x - max)`` (vector code once ``tir-expand-math`` inlines ``exp``);
2. per row, the sum of that row of exponentials (``compute_at`` the row loop, so the row is
   still in L1 for the scaling right after it), then the scaling: the kernel output, or an
   elementwise epilogue with the scaling inlined into it.

Rows are the leading axes fused into one loop; both passes run it in parallel when the
stage does at least ``min_parallel_work`` iterations. The last axis is vectorized whole
(``tir-vectorize``: full vectors, then one shorter vector; no guards). Softmax over another
axis, or stages wired differently, get the default rules (the exponentials still keep
their buffer).
"""

from __future__ import annotations

from xtvm.dialects.te import ComputeOp, ReadOp
from xtvm.topi.schedule import Axis, Schedule, Stage
from xtvm.topi.x86.default import (
    DefaultScheduleConfig,
    direct_readers,
    kept_readers,
    schedule_stage,
    stage_work,
)
from xtvm.topi.x86.registry import register_schedule


@register_schedule("softmax_exp", keep=True)
def schedule_softmax(
    s: Schedule, e: Stage, epilogue: Stage | None, cfg: DefaultScheduleConfig
) -> list[Stage]:
    """Schedules ``e`` and, for a last-axis softmax, its max, sum and consumer (returned)."""
    parts = _row_stages(s, e)
    if parts is None or epilogue is not None:
        schedule_stage(e, cfg)
        if epilogue is not None:
            schedule_stage(epilogue, cfg)
        return []
    mx, total, out = parts
    parallel = cfg.parallel and stage_work(e) >= cfg.min_parallel_work
    e_row = _rows(e, parallel)
    mx.compute_at(e, e_row)
    _vectorize_last(e, cfg)
    _vectorize_reduction(mx, cfg)
    out_row = _rows(out, parallel)
    total.compute_at(out, out_row)
    _vectorize_reduction(total, cfg)
    _vectorize_last(out, cfg)
    return [mx, total, out]


def _rows(st: Stage, parallel: bool) -> Axis:
    """The leading axes fused into one row loop, parallel if asked and longer than 1."""
    lead = st.axes[:-1]
    row = st.fuse(*lead) if len(lead) > 1 else lead[0]
    if parallel and row.extent > 1:
        st.parallel(row)
    return row


def _vectorize_last(st: Stage, cfg: DefaultScheduleConfig) -> None:
    last = st.axes[-1]
    if cfg.vectorize and last.extent >= cfg.min_vector_factor:
        st.vectorize(last)


def _vectorize_reduction(st: Stage, cfg: DefaultScheduleConfig) -> None:
    """Per-lane partial results along the row (``tir-vectorize``), combined after it."""
    (r,) = st.reduce_axes
    if cfg.vectorize and r.extent >= cfg.min_vector_factor:
        st.vectorize(r)


def _row_stages(s: Schedule, e: Stage) -> tuple[Stage, Stage, Stage] | None:
    """(max, sum, consumer) when ``e`` is a softmax's exponential over its last axis wired
    as :func:`xtvm.topi.nn.softmax` builds it: ``e`` reads the max, which only ``e`` reads;
    ``e`` is read by the sum and by one other stage of its shape (the output, or an
    epilogue with the output inlined), which alone reads the sum. Otherwise None."""
    c = e.compute
    assert c is not None
    if len(e.shape) < 2:
        return None
    direct = direct_readers(s.kernel)
    readers = {k: kept_readers(direct, k, lambda r: not s.is_inlined(r)) for k in s.kernel.computes}
    maxes = {
        op.tensor.owner
        for op in c.walk()
        if isinstance(op, ReadOp) and _tag(op.tensor.owner) == "softmax_max"
    }
    users = readers.get(c, set())
    sums = [u for u in users if _tag(u) == "softmax_sum"]
    if len(maxes) != 1 or len(users) != 2 or len(sums) != 1:
        return None
    (mx,) = maxes
    (total,) = sums
    (out,) = users - {total}
    assert isinstance(mx, ComputeOp)
    row = ((*e.shape[:-1], 1), (e.shape[-1],))
    for red in (mx, total):
        if red.reduce is None or (red.shape, red.reduce.axis_extents) != row:
            return None
    if readers.get(mx) != {c} or readers.get(total) != {out} or out.reduce is not None:
        return None
    if out.shape != e.shape:
        return None
    return s.stage(mx), s.stage(total), s.stage(out)


def _tag(op: object) -> str | None:
    if not isinstance(op, ComputeOp) or op.tag is None:
        return None
    return op.tag.data
