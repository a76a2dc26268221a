"""GridSample: per-dim coordinate maths shared by the kernel and the numpy evaluator.

The maths is written once against a tiny ops interface (``floor``, ``where``, ``to_index``)
that :class:`ExprOps` implements with te expressions and :class:`NumpyOps` with arrays, so the
compiled kernel and the constant folder agree. Semantics follow the ONNX reference: denormalize,
round half to even (nearest), move out-of-range coordinates to the border or reflect them, then
read the taps with the padding mode (zeros: out-of-range taps read 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects.builtin import f32

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, index
from xtvm.topi.intrin import cast, clamp, select
from xtvm.topi.nn.image import _floor, cubic_weights


class ExprOps:
    floor = staticmethod(_floor)

    @staticmethod
    def where(c: Any, a: Any, b: Any) -> Any:
        return select(c, a, b)

    @staticmethod
    def eq(a: Any, b: float) -> Any:
        return a.eq(b)

    @staticmethod
    def to_index(v: Any, size: int) -> Any:
        return clamp(cast(v, index), 0, size - 1)


class NumpyOps:
    floor = staticmethod(np.floor)

    @staticmethod
    def where(c: Any, a: Any, b: Any) -> Any:
        return np.where(c, a, b).astype(np.float32)

    @staticmethod
    def eq(a: Any, b: float) -> Any:
        return a == np.float32(b)

    @staticmethod
    def to_index(v: Any, size: int) -> Any:
        return np.clip(v.astype(np.int64), 0, size - 1)


def _clampf(ops: Any, v: Any, lo: float, hi: float) -> Any:
    return ops.where(v < lo, lo, ops.where(v > hi, hi, v))


def _rint(ops: Any, c: Any) -> Any:
    """Round half to even."""
    r = ops.floor(c + 0.5)
    odd = ops.eq(r - ops.floor(r * 0.5) * 2.0, 1.0)
    return ops.where(ops.eq(r - c, 0.5) & odd, r - 1.0, r)


def _reflect(ops: Any, v: Any, lo: float, hi: float) -> Any:
    """Mirror ``v`` into [lo, hi] at both borders, repeatedly."""
    rng = hi - lo
    if rng <= 0:
        return v * 0.0 + lo
    t = v - lo
    m = t - ops.floor(t * (1.0 / (2.0 * rng))) * (2.0 * rng)
    m = _clampf(ops, m, 0.0, 2.0 * rng)
    return ops.where(m > rng, 2.0 * rng - m, m) + lo


def _bounds(size: int, align: bool) -> tuple[float, float]:
    return (0.0, float(size - 1)) if align else (-0.5, size - 0.5)


def axis_taps(
    ops: Any, g: Any, size: int, mode: str, padding: str, align: bool
) -> list[tuple[Any, Any, Any]]:
    """Taps of one spatial dim: (index, weight or None, in-range flag or None) each."""
    c = (g + 1.0) * 0.5 * float(size - 1) if align else ((g + 1.0) * float(size) - 1.0) * 0.5
    lo, hi = _bounds(size, align)
    if mode == "nearest":
        c = _rint(ops, c)
    if padding == "border":  # only points beyond [lo, hi] move (matters for cubic taps)
        c = ops.where((c < lo) | (c > hi), _clampf(ops, c, 0.0, float(size - 1)), c)
    elif padding == "reflection":
        c = _reflect(ops, c, lo, hi)
    if mode == "nearest":
        taps, weights = [c], [None]
    else:
        base = ops.floor(c)
        f = c - base
        if mode == "linear":
            taps, weights = [base, base + 1.0], [1.0 - f, f]
        else:
            taps, weights = [base + float(k - 1) for k in range(4)], cubic_weights(f, -0.75)
    out = []
    for t, w in zip(taps, weights):
        valid = None
        if padding == "zeros":
            valid = (t >= 0.0) & (t <= float(size - 1))
        elif padding == "reflection":
            t = _clampf(ops, _reflect(ops, t, lo, hi), 0.0, float(size - 1))
        out.append((ops.to_index(_clampf(ops, t, 0.0, float(size - 1)), size), w, valid))
    return out


def tap_combos(per_dim: list[list[tuple[Any, Any, Any]]]) -> list[tuple[list, Any, Any]]:
    """Cartesian product of the dims' taps: (indices, weight or None, flag or None)."""
    combos: list[tuple[list, Any, Any]] = [([], None, None)]
    for taps in per_dim:
        nxt = []
        for idx, w, v in combos:
            for t, tw, tv in taps:
                w2 = tw if w is None else w if tw is None else w * tw
                v2 = tv if v is None else v if tv is None else v & tv
                nxt.append((idx + [t], w2, v2))
        combos = nxt
    return combos


def grid_sample(
    data: Tensor,
    grid: Tensor,
    mode: str = "linear",
    padding: str = "zeros",
    align: bool = False,
    name: str = "grid_sample",
) -> Tensor:
    """``[N, C, *S]`` sampled at ``grid`` ``[N, *O, nd]`` -> ``[N, C, *O]``."""
    n, ch = data.shape[:2]
    spatial = data.shape[2:]
    nd = len(spatial)
    out_sp = grid.shape[1:-1]

    def body(*i: Expr) -> Expr:
        b, c, o = i[0], i[1], list(i[2:])
        per_dim = []
        for d in range(nd):
            g = grid[[b, *o, nd - 1 - d]]
            if g.type != f32:
                g = cast(g, f32)
            per_dim.append(axis_taps(ExprOps, g, spatial[d], mode, padding, align))
        total: Expr | None = None
        for idx, w, valid in tap_combos(per_dim):
            v = data[[b, c, *idx]]
            if w is not None:
                v = v * w
            if valid is not None:
                v = select(valid, v, const(0.0, data.dtype))
            total = v if total is None else total + v
        assert total is not None
        return total

    return data.builder.compute((n, ch, *out_sp), body, name, tag="injective,grid_sample")


def grid_sample_numpy(
    x: np.ndarray, grid: np.ndarray, mode: str, padding: str, align: bool
) -> np.ndarray:
    """The same maths on arrays (used by the constant folder)."""
    n = x.shape[0]
    spatial = x.shape[2:]
    nd = len(spatial)
    g = grid.astype(np.float32)
    per_dim = [
        axis_taps(NumpyOps, g[..., nd - 1 - d], spatial[d], mode, padding, align) for d in range(nd)
    ]
    bidx = np.arange(n).reshape((n,) + (1,) * (g.ndim - 2))
    total = np.zeros((n, *g.shape[1:-1], x.shape[1]), np.float64)
    for idx, w, valid in tap_combos(per_dim):
        v = np.moveaxis(x, 1, -1)[(bidx, *idx)]
        if w is not None:
            v = v * np.asarray(w, np.float64)[..., None]
        if valid is not None:
            v = np.where(valid[..., None], v, 0.0)
        total += v
    return np.moveaxis(total, -1, 1).astype(x.dtype)
