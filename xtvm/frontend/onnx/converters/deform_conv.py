"""DeformConv (2-D) composed from relay ops: sample, modulate, then a grouped matmul.

Every kernel tap of every output position reads the input bilinearly (zeros outside) at its
regular position plus the learned offset; that is ``relay.grid_sample`` with
``align_corners`` on pixel coordinates normalized by (size - 1), run per offset group. The
sampled columns, scaled by the mask, are multiplied with the weights per group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import int_list, reshape, transpose
from xtvm.frontend.onnx.registry import converter


def _normalized_base(kernel, out, strides, dilations, pads) -> np.ndarray:
    """Regular sampling positions ``[kh, kw, oh, ow, 2]`` as (x, y) pixel coordinates."""
    (kh, kw), (oh, ow) = kernel, out
    ky, kx, oy, ox = np.meshgrid(
        np.arange(kh), np.arange(kw), np.arange(oh), np.arange(ow), indexing="ij"
    )
    y = -pads[0] + strides[0] * oy + dilations[0] * ky
    x = -pads[1] + strides[1] * ox + dilations[1] * kx
    return np.stack([x, y], axis=-1).astype(np.float64)


@converter("DeformConv", since=19)
def deform_conv(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, w, off = ins[0], ins[1], ins[2]
    assert x is not None and w is not None and off is not None
    bias = ins[3] if len(ins) > 3 else None
    mask = ins[4] if len(ins) > 4 else None
    if len(shape_of(x)) != 4:
        raise ctx.error(f"only 2-D DeformConv is supported (input has rank {len(shape_of(x))})")
    n, ic, h, wd = shape_of(x)
    oc, icpg, kh, kw = shape_of(w)
    _, _, oh, ow = shape_of(off)
    if h < 2 or wd < 2:
        raise ctx.error("input height and width must be at least 2")
    strides = int_list(ctx, attrs, "strides", [1, 1], 2)
    dil = int_list(ctx, attrs, "dilations", [1, 1], 2)
    pads = int_list(ctx, attrs, "pads", [0, 0, 0, 0], 4)
    group = int(attrs.get("group", 1))
    og = int(attrs.get("offset_group", 1))
    if ic != icpg * group or oc % group or ic % og:
        raise ctx.error(f"channels {ic} / {oc} do not fit group={group}, offset_group={og}")
    if shape_of(off)[1] != og * kh * kw * 2:
        raise ctx.error(f"offset has {shape_of(off)[1]} channels, expected {og * kh * kw * 2}")
    k, p = kh * kw, oh * ow
    scale = np.array([2.0 / (wd - 1), 2.0 / (h - 1)])
    base = _normalized_base((kh, kw), (oh, ow), strides, dil, pads) * scale - 1.0
    # offsets [N, og, kh, kw, 2 (y, x), oh, ow] -> [N, og, kh, kw, oh, ow, 2 (x, y)]
    o = reshape(ctx, off, [n, og, kh, kw, 2, oh, ow])
    part = [n, og, kh, kw, 1, oh, ow]
    oy = ctx.emit(relay.StridedSliceOp(o, [0] * 7, [1] * 7, part))
    ox = ctx.emit(relay.StridedSliceOp(o, [0, 0, 0, 0, 1, 0, 0], [1] * 7, part))
    o = transpose(ctx, ctx.emit(relay.ConcatenateOp([ox, oy], 4)), [0, 1, 2, 3, 5, 6, 4])
    o = ctx.emit(relay.MultiplyOp(o, ctx.constant(scale.astype(np.float32))))
    grid = ctx.emit(relay.AddOp(o, ctx.constant(base.astype(np.float32)[None, None])))
    grid = reshape(ctx, grid, [n * og, k * oh, ow, 2])
    data = reshape(ctx, x, [n * og, ic // og, h, wd])
    cols = ctx.emit(
        relay.GridSampleOp(data, grid, "linear", "zeros", True)
    )  # [N*og, ic/og, k*oh, ow]
    if mask is not None:
        cols = reshape(ctx, cols, [n, og, ic // og, k, p])
        m = reshape(ctx, mask, [n, og, 1, k, p])
        cols = ctx.emit(relay.MultiplyOp(cols, m))
    # [N, group, icpg * k, P] -> [group, icpg * k, N * P]
    cols = transpose(ctx, reshape(ctx, cols, [n, group, icpg * k, p]), [1, 2, 0, 3])
    cols = reshape(ctx, cols, [group, icpg * k, n * p])
    wm = reshape(ctx, w, [group, oc // group, icpg * k])
    y = ctx.emit(relay.BatchMatmulOp(wm, cols))  # [group, oc/group, N*P]
    y = transpose(ctx, reshape(ctx, y, [oc, n, p]), [1, 0, 2])
    y = reshape(ctx, y, [n, oc, oh, ow])
    if bias is not None:
        y = ctx.emit(relay.AddOp(y, reshape(ctx, bias, [1, oc, 1, 1])))
    return y
