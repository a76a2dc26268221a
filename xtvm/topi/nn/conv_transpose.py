"""Transposed 2-D convolution as a direct reduction (NCHW data, [C, O/groups, kh, kw] weights).

``out[n, o, y, x] = sum_{c, ky, kx} data[n, c, iy, ix] * w[c, o % opg, ky, kx]`` over the taps
with ``iy * stride = y + pad_top - ky * dilation`` (and likewise for x). With dilation 1 the
taps that hit an input row are exactly ``ky = (y + pad) % stride + t * stride``, so the
reduction runs over ``ceil(k / stride)`` taps per dim instead of ``k`` (no work is spent on the
zeros that a dilate-then-convolve form multiplies). Other dilations test every tap. Reads are
clamped and invalid taps selected away, so no read leaves its buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import clamp, select, sum_

# per spatial dim: (reduction extent, (out index, tap) -> (input index, kernel index, valid))
_Tap = Callable[[Expr, Expr], tuple[Expr, Expr, Expr | None]]


def _dim_taps(size: int, k: int, stride: int, pad: int, dilation: int) -> tuple[int, _Tap]:
    if dilation == 1:

        def phase(y: Expr, t: Expr) -> tuple[Expr, Expr, Expr | None]:
            p = y + pad
            kk = p % stride + t * stride
            ii = p // stride - t
            valid = (ii >= 0) & (ii < size)
            if k % stride:
                valid = valid & (kk < k)
            return clamp(ii, 0, size - 1), clamp(kk, 0, k - 1), valid

        return -(-k // stride), phase

    def direct(y: Expr, kk: Expr) -> tuple[Expr, Expr, Expr | None]:
        num = y + pad - kk * dilation
        ii = num // stride
        valid = (num >= 0) & (ii < size)
        if stride > 1:
            valid = valid & (num % stride).eq(0)
        return clamp(ii, 0, size - 1), kk, valid

    return k, direct


def conv2d_transpose_nchw(
    data: Tensor,
    weight: Tensor,
    out_shape: Sequence[int],
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    groups: int = 1,
    name: str = "conv2d_transpose",
) -> Tensor:
    """See the module docstring; ``out_shape`` (with output_padding applied) is given."""
    _, c, h, w = data.shape
    _, opg, kh, kw = weight.shape
    cpg = c // groups
    th, tap_h = _dim_taps(h, kh, strides[0], padding[0], dilation[0])
    tw, tap_w = _dim_taps(w, kw, strides[1], padding[1], dilation[1])

    def body(b: Expr, oc: Expr, y: Expr, x: Expr) -> Expr:
        o = oc if groups == 1 else oc % opg

        def term(rc: Expr, ty: Expr, tx: Expr) -> Expr:
            ic = rc if groups == 1 else (oc // opg) * cpg + rc
            iy, ky, vy = tap_h(y, ty)
            ix, kx, vx = tap_w(x, tx)
            prod = data[b, ic, iy, ix] * weight[ic, o, ky, kx]
            valid = vy if vx is None else vx if vy is None else vy & vx
            return prod if valid is None else select(valid, prod, 0.0)

        return sum_(term, (cpg, th, tw))

    return data.builder.compute(tuple(out_shape), body, name, tag="conv2d_transpose_nchw")
