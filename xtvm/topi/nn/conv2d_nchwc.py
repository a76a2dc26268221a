"""2-D convolution in the blocked channel layout (TVM's ``NCHW[x]c``).

data ``[N, C/cb, H, W, cb]`` (layout ``NCHW{cb}c``), kernel ``[O/ob, C/ib, KH, KW, ib, ob]``
(``OIHW{ib}i{ob}o``), result ``[N, O/ob, OH, OW, ob]``. The innermost ``ob`` channels are
contiguous, so the x86 schedule vectorizes over them and broadcasts one input element per
FMA for any stride. Depthwise convolutions use kernel ``[C/cb, 1, KH, KW, 1, cb]``.

A grouped convolution (``groups = G``) keeps the same compute with whole blocks per group:
kernel ``[O/ob, C/G/ib, KH, KW, ib, ob]``, and output block ``k`` of group
``g = k // (O/ob/G)`` reduces over input blocks ``g * (C/cb/G) + rc``. Its tag stays
``conv2d_nchwc``, so the register-blocked x86 schedule applies to it as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import sum_
from xtvm.topi.nn.pad import pad


def _out_size(size: int, lo: int, hi: int, k: int, s: int, d: int) -> int:
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def conv2d_nchwc(
    data: Tensor,
    kernel: Tensor,
    strides: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0, 0, 0),
    dilation: Sequence[int] = (1, 1),
    depthwise: bool = False,
    name: str = "conv2d_nchwc",
    *,
    groups: int = 1,
) -> Tensor:
    """``out[n, ob, y, x, oi] = sum_{icb, ky, kx, ii} pad(data)[n, g*ICB + icb, y*sh + ky*dh,
    x*sw + kx*dw, ii] * kernel[ob, icb, ky, kx, ii, oi]`` (padding ``[top, left, bottom,
    right]``) with ``ICB = C/cb/groups`` and ``g = ob // (O/ob/groups)`` (``g = 0`` without
    groups); with ``depthwise`` each output channel reads only its own input channel."""
    n, cblocks, h, w, cb = data.shape
    oblocks, icblocks, kh, kw, ib, ob = kernel.shape
    sh, sw = strides
    dh, dw = dilation
    top, left, bottom, right = padding
    if depthwise:
        if (icblocks, ib) != (1, 1) or (oblocks, ob) != (cblocks, cb):
            raise ValueError(f"depthwise conv2d_nchwc: kernel {kernel.shape} vs data {data.shape}")
        if groups != 1:
            raise ValueError("depthwise conv2d_nchwc takes no groups")
    elif groups < 1 or (icblocks * groups, ib) != (cblocks, cb) or oblocks % groups:
        raise ValueError(
            f"conv2d_nchwc: kernel {kernel.shape} in {groups} groups does not fit data {data.shape}"
        )
    oh = _out_size(h, top, bottom, kh, sh, dh)
    ow = _out_size(w, left, right, kw, sw, dw)
    src = data
    if any(padding):
        src = pad(data, (0, 0, top, left, 0), (0, 0, bottom, right, 0), 0.0)

    if depthwise:

        def dw_body(b: Expr, oc: Expr, y: Expr, x: Expr, oi: Expr) -> Expr:
            return sum_(
                lambda ry, rx: (
                    src[b, oc, y * sh + ry * dh, x * sw + rx * dw, oi]
                    * kernel[oc, 0, ry, rx, 0, oi]
                ),
                (kh, kw),
            )

        return data.builder.compute(
            (n, oblocks, oh, ow, ob), dw_body, name, tag="depthwise_conv2d_nchwc"
        )

    per_group = oblocks // groups

    def body(b: Expr, oc: Expr, y: Expr, x: Expr, oi: Expr) -> Expr:
        def term(rc: Expr, ry: Expr, rx: Expr, ri: Expr) -> Expr:
            ic = rc if groups == 1 else (oc // per_group) * icblocks + rc
            return (
                src[b, ic, y * sh + ry * dh, x * sw + rx * dw, ri] * kernel[oc, rc, ry, rx, ri, oi]
            )

        return sum_(term, (icblocks, kh, kw, cb))

    return data.builder.compute((n, oblocks, oh, ow, ob), body, name, tag="conv2d_nchwc")
