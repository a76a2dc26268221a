"""2-D convolution in the blocked channel layout (TVM's ``NCHW[x]c``).

data ``[N, C/cb, H, W, cb]`` (layout ``NCHW{cb}c``), kernel ``[O/ob, C/ib, KH, KW, ib, ob]``
(``OIHW{ib}i{ob}o``), result ``[N, O/ob, OH, OW, ob]``. The innermost ``ob`` channels are
contiguous, so the x86 schedule vectorizes over them and broadcasts one input element per
FMA for any stride. Depthwise convolutions use kernel ``[C/cb, 1, KH, KW, 1, cb]``.
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
) -> Tensor:
    """``out[n, ob, y, x, oi] = sum_{icb, ky, kx, ii} pad(data)[n, icb, y*sh + ky*dh,
    x*sw + kx*dw, ii] * kernel[ob, icb, ky, kx, ii, oi]`` (padding ``[top, left, bottom,
    right]``); with ``depthwise`` each output channel reads only its own input channel."""
    n, cblocks, h, w, cb = data.shape
    oblocks, icblocks, kh, kw, ib, ob = kernel.shape
    sh, sw = strides
    dh, dw = dilation
    top, left, bottom, right = padding
    if depthwise:
        if (icblocks, ib) != (1, 1) or (oblocks, ob) != (cblocks, cb):
            raise ValueError(f"depthwise conv2d_nchwc: kernel {kernel.shape} vs data {data.shape}")
    elif (icblocks, ib) != (cblocks, cb):
        raise ValueError(f"conv2d_nchwc: kernel {kernel.shape} does not fit data {data.shape}")
    oh = _out_size(h, top, bottom, kh, sh, dh)
    ow = _out_size(w, left, right, kw, sw, dw)
    src = data
    if any(padding):
        src = pad(data, (0, 0, top, left, 0), (0, 0, bottom, right, 0), 0.0)

    if depthwise:

        def dw_body(b: Expr, oc: Expr, y: Expr, x: Expr, oi: Expr) -> Expr:
            return sum_(
                lambda ry, rx: src[b, oc, y * sh + ry * dh, x * sw + rx * dw, oi]
                * kernel[oc, 0, ry, rx, 0, oi],
                (kh, kw),
            )

        return data.builder.compute(
            (n, oblocks, oh, ow, ob), dw_body, name, tag="depthwise_conv2d_nchwc"
        )

    def body(b: Expr, oc: Expr, y: Expr, x: Expr, oi: Expr) -> Expr:
        return sum_(
            lambda rc, ry, rx, ri: src[b, rc, y * sh + ry * dh, x * sw + rx * dw, ri]
            * kernel[oc, rc, ry, rx, ri, oi],
            (cblocks, kh, kw, cb),
        )

    return data.builder.compute((n, oblocks, oh, ow, ob), body, name, tag="conv2d_nchwc")
