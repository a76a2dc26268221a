"""Image operators: padding with modes, resize (nearest / linear / cubic), depth/space moves.

Every read index is clamped into the input, so no read needs a guard. Resize maps each output
index to an input coordinate in float32 with the same operation order as onnxruntime, so
rounding at ``.5`` ties lands on the same side; :func:`source_coordinate` serves both the
kernel and the numpy evaluator.

Coordinates are known at compile time, so resize works out each dim's map with numpy first
and emits integer index arithmetic where the map allows (:mod:`xtvm.topi.nn.resize_maps`):
a nearest map ``j // s`` or ``k * j + o`` (integer up- and downsampling) costs no float math
and a split by ``s`` makes it a copy, and a linear map along the last axis that repeats every
``s`` outputs (integer upsampling) reads an edge-padded copy of the input at ``j // s + d``
with per-phase constant weights, so its rows are affine loops that vectorize.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import math as mathd
from xdsl.dialects.builtin import f32, i32

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, emit, index, is_float
from xtvm.topi.intrin import cast, clamp, min_, select
from xtvm.topi.nn.pad import pad as constant_pad
from xtvm.topi.nn.resize_maps import PhasedTaps, integer_form, phased_form


def _f32(v: float) -> float:
    return float(np.float32(v))


# ----------------------------------------------------------------------------------------------
# pad
# ----------------------------------------------------------------------------------------------


def _mode_index(ax: Expr, size: int, before: int, after: int, mode: str) -> Expr:
    """Input index read by output index ``ax`` along a dim padded in ``mode``.

    Pads shorter than the dim (the usual case) need one mirror or wrap per side: two
    compares and selects; longer ones fold by a true modulo."""
    j = ax - before
    if mode == "edge" or (mode == "reflect" and size == 1):
        return clamp(j, 0, size - 1)
    short = before < size and after < size
    if short and mode == "reflect":
        inner = select(j < 0, 0 - j, j) if before else j
        return select(inner > size - 1, 2 * (size - 1) - inner, inner) if after else inner
    if short and mode == "wrap":
        inner = select(j < 0, j + size, j) if before else j
        return select(inner > size - 1, inner - size, inner) if after else inner
    period = size if mode == "wrap" else 2 * (size - 1)
    shift = period * (-(-before // period))  # makes j + shift >= 0, so % is a true modulo
    m = (j + shift) % period
    if mode == "wrap":
        return m
    return select(m < size, m, period - m)


def pad(
    x: Tensor,
    before: Sequence[int],
    after: Sequence[int],
    mode: str = "constant",
    value: float = 0.0,
    name: str = "pad",
) -> Tensor:
    """``x`` grown by ``before[d]`` / ``after[d]`` along each dim (numpy ``np.pad`` modes
    ``constant``, ``edge``, ``reflect``, ``wrap``)."""
    if mode == "constant":
        v: float | int = float(value) if is_float(x.dtype) else int(value)
        return constant_pad(x, before, after, v, name)
    shape = tuple(s + b + a for s, b, a in zip(x.shape, before, after))

    def body(*i: Expr) -> Expr:
        idx = [
            ax if b == 0 and a == 0 else _mode_index(ax, s, b, a, mode)
            for ax, s, b, a in zip(i, x.shape, before, after)
        ]
        return x[idx]

    return x.builder.compute(shape, body, name, tag="injective,pad")


# ----------------------------------------------------------------------------------------------
# resize
# ----------------------------------------------------------------------------------------------


def source_coordinate(
    x: Any, mode: str, in_size: int, out_size: int, scale: float, roi: tuple[float, float]
) -> Any:
    """Input coordinate of output coordinate ``x`` (a float32 Expr or numpy array)."""
    s = _f32(scale)
    if mode == "half_pixel":
        return (x + 0.5) / s - 0.5
    if mode == "half_pixel_symmetric":
        out_width = np.float32(s) * np.float32(in_size)
        adjustment = np.float32(out_size) / out_width
        offset = _f32(np.float32(in_size / 2) * (np.float32(1) - adjustment))
        return offset + (x + 0.5) / s - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / s - 0.5 if out_size > 1 else x * 0.0
    if mode == "align_corners":
        return x * float(in_size - 1) / float(out_size - 1) if out_size > 1 else x * 0.0
    if mode == "asymmetric":
        return x / s
    if mode == "tf_crop_and_resize":
        lo, hi = np.float32(roi[0]), np.float32(roi[1])
        if out_size == 1:
            return x * 0.0 + _f32(np.float32(0.5) * (lo + hi) * np.float32(in_size - 1))
        start = _f32(lo * np.float32(in_size - 1))
        return x * _f32(hi - lo) * float(in_size - 1) / float(out_size - 1) + start
    raise ValueError(f"unknown coordinate transformation mode {mode!r}")


def cubic_weights(r: Any, a: float) -> list[Any]:
    """Keys cubic weights of the taps at offsets -1, 0, 1, 2 for fraction ``r``."""

    def near(t: Any) -> Any:  # |t| <= 1
        return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0

    def far(t: Any) -> Any:  # 1 < |t| < 2
        return ((t * a - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a

    return [far(r + 1.0), near(r), near(1.0 - r), far(2.0 - r)]


def resize_axes(
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    scales: Sequence[float],
    roi: Sequence[float],
    mode: str,
) -> list[int]:
    """Dims that are not the identity (ONNX's rule: scale 1, same size, full roi)."""
    r = len(in_shape)
    axes = []
    for d in range(r):
        full = mode != "tf_crop_and_resize" or (roi[d] == 0.0 and roi[r + d] == 1.0)
        if not (in_shape[d] == out_shape[d] and np.isclose(scales[d], 1.0) and full):
            axes.append(d)
    return axes


_ROUNDING = {
    "round_prefer_floor": lambda c: np.ceil(c - np.float32(0.5)),
    "round_prefer_ceil": lambda c: np.floor(c + np.float32(0.5)),
    "floor": np.floor,
    "ceil": np.ceil,
}


def _coordinates(coord_mode: str, n: int, out: int, scale: float) -> np.ndarray:
    """Every output index's input coordinate, as the kernel's float32 arithmetic gives it."""
    xs = np.arange(out, dtype=np.float32)
    return np.asarray(source_coordinate(xs, coord_mode, n, out, scale, (0.0, 1.0)), np.float32)


def integer_nearest(
    coord_mode: str, nearest_mode: str, n: int, out: int, scale: float
) -> tuple[int, int, int] | None:
    """``(s, k, o)`` when a dim's nearest map (not ``tf_crop_and_resize``) is exactly
    ``(k * j + o) // s`` (see :func:`~xtvm.topi.nn.resize_maps.integer_form`)."""
    c = _coordinates(coord_mode, n, out, scale)
    return integer_form(np.clip(_ROUNDING[nearest_mode](c).astype(np.int64), 0, n - 1), n)


def phased_linear(coord_mode: str, n: int, out: int, scale: float) -> PhasedTaps | None:
    """The phase form of a dim's linear map (not ``tf_crop_and_resize``), if it has one
    (see :func:`~xtvm.topi.nn.resize_maps.phased_form`)."""
    c = np.clip(_coordinates(coord_mode, n, out, scale), np.float32(0), np.float32(n - 1))
    lo = np.floor(c)
    return phased_form(lo.astype(np.int64), (c - lo).astype(np.float32), n)


def _floor(v: Expr) -> Expr:
    return Expr(emit(mathd.FloorOp(v.value)).results[0])


def _ceil(v: Expr) -> Expr:
    return Expr(emit(mathd.CeilOp(v.value)).results[0])


def _as_index(v: Expr, size: int) -> Expr:
    return clamp(cast(v, index), 0, size - 1)


def resize(
    x: Tensor,
    out_shape: Sequence[int],
    scales: Sequence[float],
    roi: Sequence[float],
    method: str = "nearest",
    coord_mode: str = "half_pixel",
    nearest_mode: str = "round_prefer_floor",
    cubic_a: float = -0.75,
    exclude_outside: bool = False,
    extrapolation_value: float = 0.0,
    name: str = "resize",
) -> Tensor:
    """ONNX Resize without antialiasing: separable taps over the non-identity dims."""
    r = x.ndim
    axes = resize_axes(x.shape, out_shape, scales, roi, coord_mode)
    exact = coord_mode != "tf_crop_and_resize"  # no extrapolation: maps known exactly
    maps: dict[int, tuple[int, int, int]] = {}
    if exact and method == "nearest":
        for d in axes:
            m = integer_nearest(coord_mode, nearest_mode, x.shape[d], out_shape[d], scales[d])
            if m is not None:
                maps[d] = m
    phased: PhasedTaps | None = None
    src = x
    if exact and method == "linear" and r - 1 in axes:
        phased = phased_linear(coord_mode, x.shape[-1], out_shape[-1], scales[-1])
    if phased is not None:
        n, pl, pr = x.shape[-1], phased.pad_before, phased.pad_after
        src = x.builder.compute(
            (*x.shape[:-1], n + pl + pr),
            lambda *i: x[[*i[:-1], clamp(i[-1] - pl, 0, n - 1)]],
            f"{name}_edge",
            tag="injective,materialize",
        )

    def axis_taps(d: int, i: Expr) -> tuple[list[Expr], list[Expr | None], Expr | None]:
        """(indices, weights (None: 1), out-of-roi flag) along dim ``d``."""
        n = x.shape[d]
        if d in maps:
            s, k, o = maps[d]
            return [(i * k + o) // s], [None], None
        if phased is not None and d == r - 1:
            return phased.taps(i)
        if columns is not None and d == r - 1:
            first = cast(columns[0][i], index)
            if method == "nearest":
                return [first], [None], None
            w1 = columns[1][i]
            return [first, min_(first + 1, n - 1)], [1.0 - w1, w1], None
        return formula_taps(d, i)

    def formula_taps(d: int, i: Expr) -> tuple[list[Expr], list[Expr | None], Expr | None]:
        """The taps from the coordinate formula, in float32 arithmetic on ``i``."""
        n = x.shape[d]
        xf = cast(i, f32)
        c = source_coordinate(xf, coord_mode, n, out_shape[d], scales[d], (roi[d], roi[r + d]))
        outside = None
        if coord_mode == "tf_crop_and_resize":
            outside = (c < 0.0) | (c > float(n - 1))
        if method == "nearest":
            rounded = {
                "round_prefer_floor": lambda: _ceil(c - 0.5),
                "round_prefer_ceil": lambda: _floor(c + 0.5),
                "floor": lambda: _floor(c),
                "ceil": lambda: _ceil(c),
            }[nearest_mode]()
            return [_as_index(rounded, n)], [None], outside
        if method == "linear":
            if coord_mode != "tf_crop_and_resize":
                c = clamp(c, 0.0, float(n - 1))
            lo = _floor(c)
            w1 = c - lo
            base = cast(lo, index)
            return [clamp(base, 0, n - 1), clamp(base + 1, 0, n - 1)], [1.0 - w1, w1], outside
        lo = _floor(c)
        base = cast(lo, index)
        ws = cubic_weights(c - lo, cubic_a)
        raw = [base + (k - 1) for k in range(4)]
        if exclude_outside:
            ws = [select((t >= 0) & (t < n), w, 0.0) for t, w in zip(raw, ws)]
            total = ws[0] + ws[1] + ws[2] + ws[3]
            ws = [w / total for w in ws]
        return [clamp(t, 0, n - 1) for t in raw], ws, outside

    # any other last-dim map of nearest or linear: one table of first input columns (and
    # weights) computed once per call, so a row's outputs cost loads instead of float math
    columns: list[Tensor] | None = None
    if exact and method in ("nearest", "linear") and r - 1 in axes and r - 1 not in maps:
        if phased is None:
            out_n = out_shape[-1]

            def first_column(j: Expr) -> Expr:
                return cast(formula_taps(r - 1, j)[0][0], i32)

            columns = [
                x.builder.compute(
                    (out_n,), first_column, f"{name}_cols", "injective,materialize", i32
                )
            ]
            if method == "linear":

                def weight(j: Expr) -> Expr:
                    w = formula_taps(r - 1, j)[1][1]
                    assert w is not None
                    return w

                columns.append(
                    x.builder.compute((out_n,), weight, f"{name}_colw", "injective,materialize")
                )

    def body(*i: Expr) -> Expr:
        taps = {d: axis_taps(d, i[d]) for d in axes}
        combos: list[tuple[dict[int, Expr], Expr | None]] = [({}, None)]
        for d in axes:
            idxs, ws, _ = taps[d]
            combos = [
                ({**sel, d: t}, w if acc is None else acc if w is None else acc * w)
                for sel, acc in combos
                for t, w in zip(idxs, ws)
            ]
        total: Expr | None = None
        for sel, w in combos:
            v = src[[sel.get(d, i[d]) for d in range(r)]]
            # taps and weights are float32 arithmetic (as onnxruntime's); other element
            # types take the weight converted
            term = v if w is None else v * (cast(w, x.dtype) if isinstance(w, Expr) else w)
            total = term if total is None else total + term
        assert total is not None
        flags = [taps[d][2] for d in axes if taps[d][2] is not None]
        if flags:
            out = flags[0]
            for f in flags[1:]:
                out = out | f
            total = select(out, const(extrapolation_value, x.dtype), total)
        return total

    return x.builder.compute(tuple(out_shape), body, name, tag="injective,resize")


# ----------------------------------------------------------------------------------------------
# depth_to_space / space_to_depth
# ----------------------------------------------------------------------------------------------


def depth_to_space(
    x: Tensor, block: int, mode: str = "DCR", name: str = "depth_to_space"
) -> Tensor:
    """[N, C*b*b, H, W] -> [N, C, H*b, W*b]."""
    n, c, h, w = x.shape
    oc = c // (block * block)

    def body(b: Expr, ch: Expr, y: Expr, xx: Expr) -> Expr:
        off = (y % block) * block + xx % block
        src = off * oc + ch if mode == "DCR" else ch * (block * block) + off
        return x[b, src, y // block, xx // block]

    return x.builder.compute((n, oc, h * block, w * block), body, name, tag="injective")


def space_to_depth(
    x: Tensor, block: int, mode: str = "DCR", name: str = "space_to_depth"
) -> Tensor:
    """[N, C, H*b, W*b] -> [N, C*b*b, H, W], depth ordered (b, b, C) or, for CRD, (C, b, b)."""
    n, c, h, w = x.shape
    bb = block * block

    def body(b: Expr, ch: Expr, y: Expr, xx: Expr) -> Expr:
        src, off = (ch % c, ch // c) if mode == "DCR" else (ch // bb, ch % bb)
        return x[b, src, y * block + off // block, xx * block + off % block]

    return x.builder.compute((n, c * bb, h // block, w // block), body, name, tag="injective")
