"""numpy evaluators of the bounded-output relay ops (constant folding at import time).

They produce exactly the bounded buffers the compiled kernels write: real entries first,
then zeros, so a folded constant and a computed tensor are interchangeable.
"""

from __future__ import annotations

import numpy as np

from xtvm.dialects.relay.dynamic import MaskPositionsOp, NmsOp, UniqueOp
from xtvm.passes.relay.evaluate import register_evaluator


def _pad(values: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, np.int64)
    out[: len(values)] = values
    return out


@register_evaluator(MaskPositionsOp)
def _mask_positions(op: MaskPositionsOp, mask: np.ndarray) -> np.ndarray:
    return _pad(np.flatnonzero(mask), mask.shape[0])


@register_evaluator(UniqueOp)
def _unique(op: UniqueOp, x: np.ndarray) -> np.ndarray:
    n = x.shape[0]

    # NaN sorts last; it equals NaN between elements of a 1-D x (numpy's flat unique), but
    # a row holding NaN equals no other row (numpy's unique along an axis)
    def key(r: int) -> tuple:
        vals = np.atleast_1d(x[r]).tolist()
        flat = tuple((v != v, 0.0 if v != v else v) for v in vals)
        return flat if x.ndim == 1 or all(v == v for v in vals) else (*flat, "row", r)

    rows = [key(r) for r in range(n)]
    first: dict[tuple, int] = {}
    for r, key in enumerate(rows):
        first.setdefault(key, r)
    order = sorted(first.values())
    if op.is_sorted:
        order = sorted(order, key=lambda r: rows[r])
    out = op.output.data
    if out == "count":
        return np.array(len(order), np.int64)
    if out == "indices":
        return _pad(np.array(order, np.int64), n)
    position = {rows[r]: k for k, r in enumerate(order)}
    if out == "inverse":
        return np.array([position[key] for key in rows], np.int64)
    counts = np.bincount([position[key] for key in rows], minlength=len(order))
    return _pad(counts.astype(np.int64), n)


def _suppresses(a: np.ndarray, b: np.ndarray, center: bool, threshold: float) -> bool:
    if center:
        a = np.array([a[1] - a[3] / 2, a[0] - a[2] / 2, a[1] + a[3] / 2, a[0] + a[2] / 2])
        b = np.array([b[1] - b[3] / 2, b[0] - b[2] / 2, b[1] + b[3] / 2, b[0] + b[2] / 2])
    y0, x0, y1, x1 = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
    v0, u0, v1, u1 = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
    ih, iw = min(y1, v1) - max(y0, v0), min(x1, u1) - max(x0, u0)
    area_a, area_b = (y1 - y0) * (x1 - x0), (v1 - v0) * (u1 - u0)
    inter = ih * iw
    union = area_a + area_b - inter
    if ih <= 0 or iw <= 0 or area_a <= 0 or area_b <= 0 or union <= 0:
        return False
    return bool(inter / union > threshold)


@register_evaluator(NmsOp)
def _nms(op: NmsOp, boxes, scores, max_per_class, iou, score_threshold) -> np.ndarray:
    center = bool(op.center_point_box.value.data)
    limit = max(int(max_per_class), 0)
    rows = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c]
            order = sorted(
                (i for i in range(len(s)) if s[i] > score_threshold), key=lambda i: -s[i]
            )
            kept: list[int] = []
            for i in order:
                if len(kept) >= limit:
                    break
                if not any(_suppresses(boxes[b, i], boxes[b, j], center, float(iou)) for j in kept):
                    kept.append(i)
            rows += [(b, c, i) for i in kept]
    if op.output.data == "count":
        return np.array(len(rows), np.int64)
    out = np.zeros((op.bound, 3), np.int64)
    out[: len(rows)] = np.array(rows, np.int64).reshape(-1, 3)
    return out
