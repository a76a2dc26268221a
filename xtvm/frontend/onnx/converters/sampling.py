"""Sampling and windowing ONNX ops composed from relay ops: CausalConvWithState,
CenterCropPad, AffineGrid, Col2Im (GridSample has its own relay op).

Col2Im is a grouped transposed convolution whose weights are one-hot over the block
positions: channel ``c * K + k`` of the columns adds its value at kernel offset ``k`` of image
channel ``c``. AffineGrid's base grid depends on sizes only, so it is a constant and the
affine map is one ``dense`` against ``theta``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import (
    int_list,
    normalize_axis,
    reshape,
    transpose,
)
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]


@converter("CausalConvWithState", since=27)
def causal_conv_with_state(
    ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs
) -> list[SSAValue]:
    """Depthwise causal conv1d over ``concat(past_state or zeros, input)``; the last k-1
    positions of that sequence are ``present_state``."""
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    bias = ins[2] if len(ins) > 2 else None
    past = ins[3] if len(ins) > 3 else None
    activation = attrs.get("activation", "none")
    if isinstance(activation, bytes):
        activation = activation.decode()
    if activation not in ("none", "silu", "swish"):
        raise ctx.attr_error("activation", activation, "none, silu or swish")
    if len(shape_of(x)) != 3 or len(shape_of(w)) != 3:
        raise ctx.error("input and weight must be rank 3")
    b, c, length = shape_of(x)
    k = shape_of(w)[2]
    if shape_of(w)[:2] != (c, 1):
        raise ctx.error(f"weight must have shape ({c}, 1, k), got {list(shape_of(w))}")
    if past is not None:
        padded = ctx.emit(relay.ConcatenateOp([past, x], 2)) if k > 1 else x
    elif k > 1:
        padded = ctx.emit(relay.PadOp(x, [0, 0, k - 1], [0, 0, 0]))
    else:
        padded = x
    total = shape_of(padded)[2]
    y = ctx.emit(
        relay.Conv2dOp(
            reshape(ctx, padded, [b, c, 1, total]),
            reshape(ctx, w, [c, 1, 1, k]),
            [1, 1],
            [0, 0, 0, 0],
            [1, 1],
            c,
        )
    )
    y = reshape(ctx, y, [b, c, length])
    if bias is not None:
        y = ctx.emit(relay.AddOp(y, reshape(ctx, bias, [1, c, 1])))
    if activation != "none":
        y = ctx.emit(relay.MultiplyOp(y, ctx.emit(relay.SigmoidOp(y))))
    if k == 1:
        return [y, ctx.empty((b, c, 0), elt_of(x))]  # present_state holds no positions
    state = ctx.emit(
        relay.StridedSliceOp(padded, [0, 0, total - (k - 1)], [1, 1, 1], (b, c, k - 1))
    )
    return [y, state]


@converter("CenterCropPad", since=18)
def center_crop_pad(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Crop (``[d, d + size)``, d = floor((dim - size) / 2)) then zero-pad to ``shape``."""
    x = ins[0]
    assert x is not None
    in_shape = list(shape_of(x))
    rank = len(in_shape)
    target = ctx.ints(ins[1], "shape")
    axes = [normalize_axis(ctx, int(a), rank) for a in attrs.get("axes", range(rank))]
    if len(axes) != len(target):
        raise ctx.error(f"shape has {len(target)} values for {len(axes)} axes")
    begin, crop = [0] * rank, list(in_shape)
    before, after = [0] * rank, [0] * rank
    for a, size in zip(axes, target):
        dim = in_shape[a]
        if size <= 0:
            raise ctx.error(f"target size {size} must be positive")
        if size < dim:
            begin[a], crop[a] = (dim - size) // 2, size
        elif size > dim:
            before[a] = (size - dim) // 2
            after[a] = size - dim - before[a]
    if crop != in_shape:
        x = ctx.emit(relay.StridedSliceOp(x, begin, [1] * rank, crop))
    if any(before) or any(after):
        x = ctx.emit(relay.PadOp(x, before, after))
    return x


def _base_grid(sizes: list[int], align_corners: bool) -> np.ndarray:
    """``[prod(sizes), nd + 1]`` rows of (x, y[, z], 1), the innermost size varying fastest."""
    axes = []
    for s in sizes:
        if align_corners:
            a = np.linspace(-1.0, 1.0, s) if s > 1 else np.array([-1.0])
        else:
            a = (np.arange(s, dtype=np.float64) * 2.0 + 1.0) / s - 1.0
        axes.append(a)
    mesh = np.meshgrid(*axes, indexing="ij")
    coords = [m.reshape(-1) for m in reversed(mesh)]  # x first
    coords.append(np.ones(mesh[0].size))
    return np.stack(coords, axis=1).astype(np.float32)


@converter("AffineGrid", since=20)
def affine_grid(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    theta = ins[0]
    assert theta is not None
    size = ctx.ints(ins[1], "size")
    if len(size) not in (4, 5):
        raise ctx.error(f"size must hold 4 (2-D) or 5 (3-D) values, got {size}")
    align = int(attrs.get("align_corners", 0))
    if align not in (0, 1):
        raise ctx.attr_error("align_corners", align, "0 or 1")
    n, spatial = size[0], size[2:]
    nd = len(spatial)
    if shape_of(theta) != (n, nd, nd + 1):
        raise ctx.error(f"theta must have shape {[n, nd, nd + 1]}, got {list(shape_of(theta))}")
    base = ctx.constant(_base_grid(spatial, bool(align)))  # [P, nd + 1]
    points = int(np.prod(spatial))
    y = ctx.emit(relay.DenseOp(base, reshape(ctx, theta, [n * nd, nd + 1])))  # [P, n * nd]
    y = transpose(ctx, reshape(ctx, y, [points, n, nd]), [1, 0, 2])
    return reshape(ctx, y, [n, *spatial, nd])


@converter("Col2Im", since=18)
def col2im(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x = ins[0]
    assert x is not None
    image = ctx.ints(ins[1], "image_shape")
    block = ctx.ints(ins[2], "block_shape")
    nd = len(image)
    if nd not in (1, 2) or len(block) != nd:
        raise ctx.error(f"only 1-D and 2-D images are supported (image_shape {image})")
    dil = int_list(ctx, attrs, "dilations", [1] * nd, nd)
    pads = int_list(ctx, attrs, "pads", [0] * 2 * nd, 2 * nd)
    strides = int_list(ctx, attrs, "strides", [1] * nd, nd)
    if nd == 1:
        image, block, dil, strides = [1, *image], [1, *block], [1, *dil], [1, *strides]
        pads = [0, pads[0], 0, pads[1]]
    n, ck, length = shape_of(x)
    kk = block[0] * block[1]
    if ck % kk:
        raise ctx.error(f"input dim 1 ({ck}) is not a multiple of the block size {kk}")
    c = ck // kk
    blocks = [
        (image[i] + pads[i] + pads[i + 2] - dil[i] * (block[i] - 1) - 1) // strides[i] + 1
        for i in range(2)
    ]
    if blocks[0] < 1 or blocks[1] < 1 or blocks[0] * blocks[1] != length:
        raise ctx.error(f"input dim 2 ({length}) does not match {blocks[0]} x {blocks[1]} blocks")
    weight = np.zeros((c * kk, 1, block[0], block[1]), np.float32)
    for ch in range(c):
        for k in range(kk):
            weight[ch * kk + k, 0, k // block[1], k % block[1]] = 1.0
    extra = [
        image[i]
        - ((blocks[i] - 1) * strides[i] + dil[i] * (block[i] - 1) + 1 - pads[i] - pads[i + 2])
        for i in range(2)
    ]
    y = ctx.emit(
        relay.Conv2dTransposeOp(
            reshape(ctx, x, [n, ck, *blocks]),
            ctx.constant(weight),
            strides,
            pads,
            dil,
            extra,
            c,
        )
    )
    return reshape(ctx, y, [n, c, *ctx.ints(ins[1], "image_shape")])


_GRID_MODES = {"bilinear": "linear", "linear": "linear", "nearest": "nearest"}
_GRID_MODES.update({"bicubic": "cubic", "cubic": "cubic"})


def _str_attr(attrs: Attrs, name: str, default: str) -> str:
    v = attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else str(v)


@converter("GridSample", since=16)
def grid_sample(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Opset 16 names the modes bilinear / bicubic, opset 20 linear / cubic (and adds N-D)."""
    x, grid = ins[0], ins[1]
    assert x is not None and grid is not None
    mode = _str_attr(attrs, "mode", "linear" if ctx.opset >= 20 else "bilinear")
    if mode not in _GRID_MODES:
        raise ctx.attr_error("mode", mode, "linear, nearest or cubic")
    padding = _str_attr(attrs, "padding_mode", "zeros")
    if padding not in ("zeros", "border", "reflection"):
        raise ctx.attr_error("padding_mode", padding, "zeros, border or reflection")
    align = int(attrs.get("align_corners", 0))
    if align not in (0, 1):
        raise ctx.attr_error("align_corners", align, "0 or 1")
    rank = len(shape_of(x))
    if rank not in (4, 5):
        raise ctx.error(f"only 2-D and 3-D sampling is supported (input has rank {rank})")
    if _GRID_MODES[mode] == "cubic" and rank != 4:
        raise ctx.attr_error("mode", mode, "cubic needs a rank-4 input")
    return ctx.emit(relay.GridSampleOp(x, grid, _GRID_MODES[mode], padding, bool(align)))


@converter("MaxUnpool", since=11)
def max_unpool(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Scatter X into zeros at its flat indices (over the whole inferred output, as MaxPool's
    Indices output counts them); a larger ``output_shape`` pads zeros at the ends."""
    x, idx = ins[0], ins[1]
    assert x is not None and idx is not None
    shape = list(shape_of(x))
    nd = len(shape) - 2
    if nd < 1:
        raise ctx.error(f"expects an [N, C, ...] input, got rank {len(shape)}")
    kernel = int_list(ctx, attrs, "kernel_shape", [], nd)
    strides = int_list(ctx, attrs, "strides", [1] * nd, nd)
    pads = int_list(ctx, attrs, "pads", [0] * 2 * nd, 2 * nd)
    out = shape[:2] + [
        (shape[2 + i] - 1) * strides[i] - pads[i] - pads[nd + i] + kernel[i] for i in range(nd)
    ]
    target = out
    if len(ins) > 2 and ins[2] is not None:  # zeros appended after the inferred extent
        target = ctx.ints(ins[2], "output_shape")
        if len(target) != len(shape) or any(t < o for t, o in zip(target, out)):
            raise ctx.error(f"output_shape {target} is smaller than the inferred {out}")
    if shape_of(idx) != tuple(shape):
        raise ctx.error("indices must have the input's shape")
    total = int(np.prod(out))
    count = int(np.prod(shape))
    zeros = ctx.constant(np.zeros(total, np.float32))
    flat_idx = reshape(ctx, idx, [count, 1])
    y = ctx.emit(relay.ScatterNdOp(zeros, flat_idx, reshape(ctx, x, [count])))
    y = reshape(ctx, y, out)
    if target != out:
        y = ctx.emit(relay.PadOp(y, [0] * len(out), [t - o for t, o in zip(target, out)]))
    return y


@converter("RoiAlign", since=10)
def roi_align(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Opset 16 added ``coordinate_transformation_mode`` (default half_pixel); before it the
    behaviour is output_half_pixel. The adaptive grid (``sampling_ratio`` 0) depends on the
    roi values, so it needs constant rois."""
    x, rois, bidx = ins[0], ins[1], ins[2]
    assert x is not None and rois is not None and bidx is not None
    mode = _str_attr(attrs, "mode", "avg")
    if mode not in ("avg", "max"):
        raise ctx.attr_error("mode", mode, "avg or max")
    default_ctm = "half_pixel" if ctx.opset >= 16 else "output_half_pixel"
    ctm = _str_attr(attrs, "coordinate_transformation_mode", default_ctm)
    if ctm not in ("half_pixel", "output_half_pixel"):
        raise ctx.attr_error(
            "coordinate_transformation_mode", ctm, "half_pixel or output_half_pixel"
        )
    ratio = int(attrs.get("sampling_ratio", 0))
    if ratio <= 0:
        raise ctx.attr_error("sampling_ratio", ratio, "a fixed grid >= 1; 0 (adaptive) is not")
    out = (int(attrs.get("output_height", 1)), int(attrs.get("output_width", 1)))
    scale = float(attrs.get("spatial_scale", 1.0))
    if len(shape_of(x)) != 4:
        raise ctx.error(f"expects an NCHW input, got rank {len(shape_of(x))}")
    return ctx.emit(relay.RoiAlignOp(x, rois, bidx, mode, out, ratio, scale, ctm == "half_pixel"))
