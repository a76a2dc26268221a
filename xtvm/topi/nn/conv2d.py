"""2-D convolution, NCHW data x OIHW weights, with strides, padding, dilation and groups."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import sum_
from xtvm.topi.nn.pad import pad


def conv2d_nchw(
    data: Tensor,
    weight: Tensor,
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    groups: int = 1,
    name: str = "conv2d",
) -> Tensor:
    """``out[n, o, y, x] = sum_{c, ky, kx} pad(data)[n, g*C/G + c, y*sh + ky*dh, x*sw + kx*dw]
    * weight[o, c, ky, kx]`` with ``g = o // (O/G)``; padding is ``[top, left, bottom, right]``.

    A nonzero padding becomes a separate ``pad`` stage (zero outside the input).
    """
    n, c, h, w = data.shape
    o, cpg, kh, kw = weight.shape
    sh, sw = strides
    dh, dw = dilation
    top, left, bottom, right = padding
    if cpg * groups != c or o % groups:
        raise ValueError(
            f"conv2d: groups={groups} does not fit data {data.shape}, weight {weight.shape}"
        )
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    src = data
    if any(padding):
        src = pad(data, (0, 0, top, left), (0, 0, bottom, right), 0.0)
    opg = o // groups

    def body(b: Expr, oc: Expr, y: Expr, x: Expr) -> Expr:
        def term(rc: Expr, ry: Expr, rx: Expr) -> Expr:
            ic = rc if groups == 1 else (oc // opg) * cpg + rc
            return src[b, ic, y * sh + ry * dh, x * sw + rx * dw] * weight[oc, rc, ry, rx]

        return sum_(term, (cpg, kh, kw))

    tag = "conv2d_nchw" if groups == 1 else "group_conv2d_nchw"
    if groups == c and cpg == 1:
        tag = "depthwise_conv2d_nchw"
    return data.builder.compute((n, o, oh, ow), body, name, tag=tag)
