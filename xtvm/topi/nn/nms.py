"""Greedy non-maximum suppression (ONNX NonMaxSuppression) as a fixed chain of stages.

Greedy NMS is sequential: a box is kept when no kept box ahead of it in score order overlaps
it too much. Without loop-carried state in a compute, the kept set is found by iterating
``keep[i] = candidate[i] and no kept j ahead of i suppresses i`` from ``keep = candidate``:
after ``t`` rounds the first ``t + 1`` boxes in score order are final, so ``N - 1`` rounds
are exact. Each round is one ``N x N`` stage per (batch, class); the frontend caps ``N``
(``MAX_NMS_BOXES``) so kernels stay small. The output rows are then gathered per row: which
(batch, class) group the row falls in, then which kept box of that group.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IndexType, i1, i64

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const
from xtvm.topi.intrin import cast, clamp, max_, min_, select, sum_

MAX_NMS_BOXES = 128


def _count(cond: Expr) -> Expr:
    return select(cond, const(1, i64), const(0, i64))


def _corners(boxes: Tensor, b: Expr, i: Expr, center: bool) -> tuple[Expr, Expr, Expr, Expr]:
    """(y_min, x_min, y_max, x_max) of box ``i`` of batch ``b``."""
    c = [boxes[b, i, k] for k in range(4)]
    if center:  # [x_center, y_center, width, height]
        hw, hh = c[2] * 0.5, c[3] * 0.5
        return c[1] - hh, c[0] - hw, c[1] + hh, c[0] + hw
    return min_(c[0], c[2]), min_(c[1], c[3]), max_(c[0], c[2]), max_(c[1], c[3])


def _suppresses(boxes: Tensor, iou: Tensor, b: Expr, i: Expr, j: Expr, center: bool) -> Expr:
    """Box ``j`` overlaps box ``i`` more than the IoU threshold (ONNX's reference rules:
    empty boxes and empty intersections never suppress)."""
    y0, x0, y1, x1 = _corners(boxes, b, i, center)
    v0, u0, v1, u1 = _corners(boxes, b, j, center)
    ih = min_(y1, v1) - max_(y0, v0)
    iw = min_(x1, u1) - max_(x0, u0)
    inter = ih * iw
    area_i = (y1 - y0) * (x1 - x0)
    area_j = (v1 - v0) * (u1 - u0)
    union = area_i + area_j - inter
    ok = (ih > 0.0) & (iw > 0.0) & (area_i > 0.0) & (area_j > 0.0) & (union > 0.0)
    ratio = inter / select(ok, union, 1.0)
    return ok & (ratio > iou[()])


def nms(
    boxes: Tensor,
    scores: Tensor,
    max_per_class: Tensor,
    iou: Tensor,
    score_threshold: Tensor | None,
    center: bool,
    per_class: int,
    output: str,
    name: str = "nms",
) -> Tensor:
    """``indices`` (``[B * C * per_class, 3]`` rows of batch, class, box, zeros past the
    count) or ``count`` (a scalar) of ONNX NonMaxSuppression."""
    nb, nc, n = scores.shape
    kb = boxes.builder

    def candidate(b: Expr, c: Expr, i: Expr) -> Expr:
        s = scores[b, c, i]
        return s > score_threshold[()] if score_threshold is not None else const(1, i1)

    def ahead(b: Expr, c: Expr, j: Expr, i: Expr) -> Expr:
        sj, si = scores[b, c, j], scores[b, c, i]
        return (sj > si) | (sj.eq(si) & (j < i))

    # which box blocks which, computed once: inlined into every round, the IoU math made
    # LLVM's work grow with rounds x boxes^2
    blocks = kb.compute(
        (nb, nc, n, n),
        lambda b, c, i, j: _suppresses(boxes, iou, b, i, j, center) & ahead(b, c, j, i),
        f"{name}_blocks",
        tag="materialize",
        dtype=i1,
    )
    keep = kb.compute((nb, nc, n), candidate, f"{name}_keep0", dtype=i1)
    for t in range(max(n - 1, 0)):
        prev = keep

        def hits(b: Expr, c: Expr, i: Expr, prev: Tensor = prev) -> Expr:
            return sum_(lambda j: _count(prev[b, c, j] & blocks[b, c, i, j]), (n,))

        hit = kb.compute((nb, nc, n), hits, f"{name}_hits{t + 1}")
        keep = kb.compute(
            (nb, nc, n),
            lambda b, c, i, hit=hit: candidate(b, c, i) & hit[b, c, i].eq(0),
            f"{name}_keep{t + 1}",
            dtype=i1,
        )

    limit = kb.compute((), lambda: max_(max_per_class[()], const(0, i64)), f"{name}_limit")

    def kept_rank(b: Expr, c: Expr, i: Expr) -> Expr:
        return sum_(lambda j: _count(keep[b, c, j] & ahead(b, c, j, i)), (n,))

    rank = kb.compute((nb, nc, n), kept_rank, f"{name}_rank")

    def selected(b: Expr, c: Expr, i: Expr) -> Expr:
        return keep[b, c, i] & (rank[b, c, i] < limit[()])

    group = kb.compute(
        (nb, nc), lambda b, c: sum_(lambda i: _count(selected(b, c, i)), (n,)), f"{name}_group"
    )
    if output == "count":
        return kb.compute((), lambda: sum_(lambda b, c: group[b, c], (nb, nc)), name)

    def start(b: Expr, c: Expr) -> Expr:  # rows of the groups before (b, c)
        flat = b * nc + c
        return sum_(
            lambda b2, c2: select(b2 * nc + c2 < flat, group[b2, c2], const(0, i64)), (nb, nc)
        )

    offset = kb.compute((nb, nc), start, f"{name}_offset")

    def group_of(r: Expr) -> Expr:  # flat (batch, class) index of output row r
        row = cast(r, i64)
        return sum_(lambda b, c: _count(offset[b, c] + group[b, c] <= row), (nb, nc))

    owner = kb.compute((nb * nc * per_class,), group_of, f"{name}_owner")

    # the reduction over boxes must be the yielded value, so pick the field outside it
    def field_box(r: Expr) -> Expr:
        g = cast(clamp(owner[r], 0, nb * nc - 1), IndexType())
        b, c = g // nc, g % nc
        want = cast(r, i64) - offset[b, c]
        return sum_(
            lambda i: select(
                selected(b, c, i) & rank[b, c, i].eq(want), cast(i, i64), const(0, i64)
            ),
            (n,),
        )

    box = kb.compute((nb * nc * per_class,), field_box, f"{name}_box")

    def row(r: Expr, f: Expr) -> Expr:
        g = owner[r]
        gi = cast(clamp(g, 0, nb * nc - 1), IndexType())
        value = select(
            f.eq(0),
            cast(gi // nc, i64),
            select(f.eq(1), cast(gi % nc, i64), box[r]),
        )
        return select(g < nb * nc, value, const(0, i64))

    return kb.compute((nb * nc * per_class, 3), row, name, tag="compaction")
