"""2-D pooling over NCHW: max, average (with or without counting padding), global average.

Padding goes through a ``pad`` stage (``-inf`` for max, ``0`` for average) that also covers
the extra right/bottom rows a ``ceil_mode`` window can reach, so every read is in bounds.
The average divides a ``sum`` stage by the number of window positions counted: a constant
when it is the same for every output position, else computed per position in index
arithmetic from the window's clipped extent and cast to float.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xtvm.dialects.relay.base import pool_out_dim
from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const
from xtvm.topi.intrin import cast, max_, min_, sum_
from xtvm.topi.nn.pad import pad


def _window_counts(size: int, k: int, s: int, lo_pad: int, d: int, out: int, lo: int, hi: int):
    """Per output position: how many of the k window taps land in [lo, hi)."""
    counts = []
    for y in range(out):
        start = y * s - lo_pad
        counts.append(sum(1 for j in range(k) if lo <= start + j * d < hi))
    return counts


def _count_expr(y: Expr, k: int, s: int, lo_pad: int, d: int, lo: int, hi: int) -> Expr:
    """``_window_counts`` for one dim in index arithmetic (all divisions on non-negatives)."""
    # first tap index >= lo: ceil(max(lo - start, 0) / d); last tap index < hi: (hi-1-start)//d
    first = (max_(lo + lo_pad - y * s, 0) + (d - 1)) // d
    last = min_((hi - 1 + lo_pad - y * s) // d, k - 1)
    return last - first + 1


def _pool_input(
    data: Tensor,
    ks: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    out_hw: tuple[int, int],
    value: float,
) -> Tensor:
    """``data`` padded so that every window of every output position is in bounds."""
    _, _, h, w = data.shape
    top, left = padding[0], padding[1]
    need_h = (out_hw[0] - 1) * strides[0] + (ks[0] - 1) * dilation[0] + 1
    need_w = (out_hw[1] - 1) * strides[1] + (ks[1] - 1) * dilation[1] + 1
    bottom = max(0, need_h - h - top)
    right = max(0, need_w - w - left)
    if top == left == bottom == right == 0:
        return data
    return pad(data, (0, 0, top, left), (0, 0, bottom, right), value)


def pool_out_hw(h: int, w: int, ks, strides, padding, dilation, ceil_mode: bool) -> tuple[int, int]:
    """Output height and width of a 2-D pool over an ``h x w`` input (any layout)."""
    return (
        pool_out_dim(h, ks[0], strides[0], padding[0], padding[2], dilation[0], ceil_mode),
        pool_out_dim(w, ks[1], strides[1], padding[1], padding[3], dilation[1], ceil_mode),
    )


def _out_hw(data, ks, strides, padding, dilation, ceil_mode) -> tuple[int, int]:
    _, _, h, w = data.shape
    return pool_out_hw(h, w, ks, strides, padding, dilation, ceil_mode)


def window_divisor(
    dtype, hw, out_hw, pool_size, strides, padding, dilation, count_include_pad: bool
) -> Callable[[Expr, Expr], Expr]:
    """``count(y, x)``: the average pool's divisor at output ``(y, x)``, a constant when every
    window counts the same taps (see ``avg_pool2d``; shared by the blocked layout)."""
    (h, w), (oh, ow), (kh, kw) = hw, out_hw, pool_size
    (sh, sw), (dh, dw) = strides, dilation
    top, left, bottom, right = padding
    lo_h, hi_h = (-top, h + bottom) if count_include_pad else (0, h)
    lo_w, hi_w = (-left, w + right) if count_include_pad else (0, w)
    ch_ = _window_counts(h, kh, sh, top, dh, oh, lo_h, hi_h)
    cw_ = _window_counts(w, kw, sw, left, dw, ow, lo_w, hi_w)

    def count(y: Expr, x: Expr) -> Expr:
        if len(set(ch_)) == 1 and len(set(cw_)) == 1:
            return const(float(ch_[0] * cw_[0]), dtype)
        cy = (
            const(ch_[0], y.type)
            if len(set(ch_)) == 1
            else _count_expr(y, kh, sh, top, dh, lo_h, hi_h)
        )
        cx = (
            const(cw_[0], x.type)
            if len(set(cw_)) == 1
            else _count_expr(x, kw, sw, left, dw, lo_w, hi_w)
        )
        return cast(cy * cx, dtype)

    return count


def max_pool2d(
    data: Tensor,
    pool_size: Sequence[int],
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
    name: str = "max_pool2d",
) -> Tensor:
    """Max over each window; padded positions are ``-inf`` and never win."""
    n, c, _, _ = data.shape
    oh, ow = _out_hw(data, pool_size, strides, padding, dilation, ceil_mode)
    src = _pool_input(data, pool_size, strides, padding, dilation, (oh, ow), float("-inf"))
    (sh, sw), (dh, dw) = strides, dilation

    def body(b: Expr, ch: Expr, y: Expr, x: Expr) -> Expr:
        return max_(lambda ry, rx: src[b, ch, y * sh + ry * dh, x * sw + rx * dw], tuple(pool_size))

    return data.builder.compute((n, c, oh, ow), body, name, tag="pool_max")


def avg_pool2d(
    data: Tensor,
    pool_size: Sequence[int],
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
    count_include_pad: bool = False,
    name: str = "avg_pool2d",
) -> Tensor:
    """Mean over each window. With ``count_include_pad`` the divisor counts taps inside the
    declared padding (not the extra ``ceil_mode`` area); without it only taps in the input."""
    n, c, h, w = data.shape
    kh, kw = pool_size
    oh, ow = _out_hw(data, pool_size, strides, padding, dilation, ceil_mode)
    src = _pool_input(data, pool_size, strides, padding, dilation, (oh, ow), 0.0)
    (sh, sw), (dh, dw) = strides, dilation
    top, left, bottom, right = padding

    def window_sum(b: Expr, ch: Expr, y: Expr, x: Expr) -> Expr:
        return sum_(lambda ry, rx: src[b, ch, y * sh + ry * dh, x * sw + rx * dw], (kh, kw))

    total = data.builder.compute((n, c, oh, ow), window_sum, f"{name}_sum", tag="pool_sum")
    count = window_divisor(
        data.dtype, (h, w), (oh, ow), pool_size, strides, padding, dilation, count_include_pad
    )

    def divide(b: Expr, ch: Expr, y: Expr, x: Expr) -> Expr:
        return total[b, ch, y, x] / count(y, x)

    return data.builder.compute((n, c, oh, ow), divide, name, tag="elemwise")


def global_avg_pool2d(data: Tensor, name: str = "global_avg_pool2d") -> Tensor:
    """Mean over H and W: ``[N, C, H, W] -> [N, C, 1, 1]``."""
    n, c, h, w = data.shape

    def window_sum(b: Expr, ch: Expr, y: Expr, x: Expr) -> Expr:
        return sum_(lambda ry, rx: data[b, ch, ry, rx], (h, w))

    total = data.builder.compute((n, c, 1, 1), window_sum, f"{name}_sum", tag="pool_sum")
    return data.builder.compute(
        (n, c, 1, 1), lambda *i: total[i] / const(float(h * w), data.dtype), name, tag="elemwise"
    )
