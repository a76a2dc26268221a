"""RoiAlign with a fixed sampling grid per bin; the per-sample maths (written against the
ops interface of :mod:`xtvm.topi.nn.sampling`) serves the kernel and the numpy evaluator.

A sample outside ``[-1, H] x [-1, W]`` reads nothing (weights 0); otherwise coordinates are
clamped at 0 and the last row/column, as ONNX's reference does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects.builtin import f32

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, index
from xtvm.topi.intrin import cast, clamp, max_
from xtvm.topi.nn.sampling import ExprOps, NumpyOps


def _axis(ops: Any, v: Any, size: int) -> tuple[Any, Any, Any, Any]:
    """(low index, high index, low weight, high weight) along one axis, ``v`` >= -1."""
    v = ops.where(v < 0.0, 0.0, v)
    lo = ops.floor(v)
    last = lo >= float(size - 1)
    lo = ops.where(last, float(size - 1), lo)
    hi = ops.where(last, float(size - 1), lo + 1.0)
    frac = ops.where(last, 0.0, v - lo)
    return ops.to_index(lo, size), ops.to_index(hi, size), 1.0 - frac, frac


def sample_taps(ops: Any, y: Any, x: Any, h: int, w: int) -> list[tuple[Any, Any, Any]]:
    """The four bilinear taps (row, col, weight) of the point (y, x)."""
    inside = (y >= -1.0) & (y <= float(h)) & (x >= -1.0) & (x <= float(w))
    y0, y1, hy, ly = _axis(ops, y, h)
    x0, x1, hx, lx = _axis(ops, x, w)
    pairs = [(y0, x0, hy * hx), (y0, x1, hy * lx), (y1, x0, ly * hx), (y1, x1, ly * lx)]
    return [(r, c, ops.where(inside, wt, 0.0)) for r, c, wt in pairs]


def sample_points(
    ops: Any,
    roi: list[Any],
    ph: Any,
    pw: Any,
    out: tuple[int, int],
    ratio: int,
    scale: float,
    half_pixel: bool,
) -> list[tuple[Any, Any]]:
    """The ratio x ratio sample points (y, x) of bin (ph, pw) of ``roi`` (x1, y1, x2, y2)."""
    off = 0.5 if half_pixel else 0.0
    x1, y1, x2, y2 = (v * scale - off for v in roi)
    rh, rw = y2 - y1, x2 - x1
    if not half_pixel:
        rh = ops.where(rh < 1.0, 1.0, rh)
        rw = ops.where(rw < 1.0, 1.0, rw)
    bh, bw = rh / float(out[0]), rw / float(out[1])
    pts = []
    for iy in range(ratio):
        y = y1 + ph * bh + bh * ((iy + 0.5) / ratio)
        for ix in range(ratio):
            pts.append((y, x1 + pw * bw + bw * ((ix + 0.5) / ratio)))
    return pts


def roi_align(
    data: Tensor,
    rois: Tensor,
    batch_indices: Tensor,
    mode: str,
    out: tuple[int, int],
    ratio: int,
    scale: float,
    half_pixel: bool,
    name: str = "roi_align",
) -> Tensor:
    n, c, h, w = data.shape
    r = rois.shape[0]

    def body(ri: Expr, ch: Expr, ph: Expr, pw: Expr) -> Expr:
        b = clamp(cast(batch_indices[ri], index), 0, n - 1)
        roi = [rois[ri, k] for k in range(4)]
        pts = sample_points(
            ExprOps, roi, cast(ph, f32), cast(pw, f32), out, ratio, scale, half_pixel
        )
        acc: Expr | None = None
        for y, x in pts:
            vals = [data[b, ch, ry, rx] * wt for ry, rx, wt in sample_taps(ExprOps, y, x, h, w)]
            if mode == "avg":
                v = vals[0] + vals[1] + vals[2] + vals[3]
                acc = v if acc is None else acc + v
            else:
                v = max_(max_(vals[0], vals[1]), max_(vals[2], vals[3]))
                acc = v if acc is None else max_(acc, v)
        assert acc is not None
        return acc / const(float(len(pts)), data.dtype) if mode == "avg" else acc

    return data.builder.compute((r, c, *out), body, name, tag="roi_align")


def roi_align_numpy(
    x: np.ndarray,
    rois: np.ndarray,
    bidx: np.ndarray,
    mode: str,
    out: tuple[int, int],
    ratio: int,
    scale: float,
    half_pixel: bool,
) -> np.ndarray:
    """The same maths with numpy, vectorized over the bins."""
    _, c, h, w = x.shape
    res = np.zeros((rois.shape[0], c, *out), np.float32)
    ph = np.arange(out[0], dtype=np.float32)[:, None] + np.zeros(out[1], np.float32)
    pw = np.zeros((out[0], 1), np.float32) + np.arange(out[1], dtype=np.float32)
    for i in range(rois.shape[0]):
        img = x[int(np.clip(bidx[i], 0, x.shape[0] - 1))]
        roi = [np.float32(v) for v in rois[i]]
        acc = None
        for y, xx in sample_points(NumpyOps, roi, ph, pw, out, ratio, scale, half_pixel):
            vals = [img[:, ry, rx] * wt for ry, rx, wt in sample_taps(NumpyOps, y, xx, h, w)]
            if mode == "avg":
                v = vals[0] + vals[1] + vals[2] + vals[3]
                acc = v if acc is None else acc + v
            else:
                v = np.maximum(np.maximum(vals[0], vals[1]), np.maximum(vals[2], vals[3]))
                acc = v if acc is None else np.maximum(acc, v)
        res[i] = acc / (ratio * ratio) if mode == "avg" else acc
    return res
