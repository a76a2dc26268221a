"""2-D pooling over blocked ``NCHW{cb}c`` data ``[N, C/cb, H, W, cb]``.

The same windows, padding and divisors as :mod:`xtvm.topi.nn.pool` (its count helpers are
reused); the channel block rides along as the innermost axis, which keeps the vector lanes
on contiguous channels.
"""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const
from xtvm.topi.intrin import max_, sum_
from xtvm.topi.nn.pad import pad
from xtvm.topi.nn.pool import pool_out_hw, window_divisor


def _out_hw(data: Tensor, ks, strides, padding, dilation, ceil_mode) -> tuple[int, int]:
    _, _, h, w, _ = data.shape
    return pool_out_hw(h, w, ks, strides, padding, dilation, ceil_mode)


def _padded(data: Tensor, ks, strides, padding, dilation, out_hw, value: float) -> Tensor:
    """``data`` padded so that every window of every output position is in bounds."""
    _, _, h, w, _ = data.shape
    top, left = padding[0], padding[1]
    need_h = (out_hw[0] - 1) * strides[0] + (ks[0] - 1) * dilation[0] + 1
    need_w = (out_hw[1] - 1) * strides[1] + (ks[1] - 1) * dilation[1] + 1
    bottom = max(0, need_h - h - top)
    right = max(0, need_w - w - left)
    if top == left == bottom == right == 0:
        return data
    return pad(data, (0, 0, top, left, 0), (0, 0, bottom, right, 0), value)


def max_pool2d_nchwc(
    data: Tensor,
    pool_size: Sequence[int],
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
    name: str = "max_pool2d_nchwc",
) -> Tensor:
    """Max over each window; padded positions are ``-inf`` and never win."""
    n, cblocks, _, _, cb = data.shape
    oh, ow = _out_hw(data, pool_size, strides, padding, dilation, ceil_mode)
    src = _padded(data, pool_size, strides, padding, dilation, (oh, ow), float("-inf"))
    (sh, sw), (dh, dw) = strides, dilation

    def body(b: Expr, c: Expr, y: Expr, x: Expr, ci: Expr) -> Expr:
        return max_(
            lambda ry, rx: src[b, c, y * sh + ry * dh, x * sw + rx * dw, ci], tuple(pool_size)
        )

    return data.builder.compute((n, cblocks, oh, ow, cb), body, name, tag="pool_max")


def avg_pool2d_nchwc(
    data: Tensor,
    pool_size: Sequence[int],
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
    count_include_pad: bool = False,
    name: str = "avg_pool2d_nchwc",
) -> Tensor:
    """Mean over each window, divided as ``avg_pool2d`` divides."""
    n, cblocks, h, w, cb = data.shape
    kh, kw = pool_size
    oh, ow = _out_hw(data, pool_size, strides, padding, dilation, ceil_mode)
    src = _padded(data, pool_size, strides, padding, dilation, (oh, ow), 0.0)
    (sh, sw), (dh, dw) = strides, dilation
    top, left, bottom, right = padding

    def window_sum(b: Expr, c: Expr, y: Expr, x: Expr, ci: Expr) -> Expr:
        return sum_(lambda ry, rx: src[b, c, y * sh + ry * dh, x * sw + rx * dw, ci], (kh, kw))

    shape = (n, cblocks, oh, ow, cb)
    total = data.builder.compute(shape, window_sum, f"{name}_sum", tag="pool_sum")
    count = window_divisor(
        data.dtype, (h, w), (oh, ow), pool_size, strides, padding, dilation, count_include_pad
    )

    def divide(b: Expr, c: Expr, y: Expr, x: Expr, ci: Expr) -> Expr:
        return total[b, c, y, x, ci] / count(y, x)

    return data.builder.compute(shape, divide, name, tag="elemwise")


def global_avg_pool2d_nchwc(data: Tensor, name: str = "global_avg_pool2d_nchwc") -> Tensor:
    """Mean over H and W: ``[N, C/cb, H, W, cb] -> [N, C/cb, 1, 1, cb]``."""
    n, cblocks, h, w, cb = data.shape
    shape = (n, cblocks, 1, 1, cb)

    def window_sum(b: Expr, c: Expr, y: Expr, x: Expr, ci: Expr) -> Expr:
        return sum_(lambda ry, rx: data[b, c, ry, rx, ci], (h, w))

    total = data.builder.compute(shape, window_sum, f"{name}_sum", tag="pool_sum")
    return data.builder.compute(
        shape, lambda *i: total[i] / const(float(h * w), data.dtype), name, tag="elemwise"
    )
