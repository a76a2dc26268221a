"""Windowed ONNX ops on NC[D]HW tensors: Conv, MaxPool, AveragePool, GlobalAveragePool.

relay has 2-D forms only; the other ranks are rewritten onto them exactly:
1-D inputs become 2-D with H = 1; a 3-D pool is separable (max / sum over a box is the max /
sum over D of the max / sum over H x W, and the divisor is the product of per-dim counts), so
it runs as a 2-D pool over (H, W) followed by one over (D, H*W); a 3-D convolution is the sum
over the kernel's depth taps of 2-D convolutions of strided depth slices.
ONNX ``pads`` are [x1_begin, x2_begin, ..., x1_end, x2_end].
"""

from __future__ import annotations

from typing import Any

from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import (
    int_list,
    require_rank,
    reshape,
    transpose,
    window_pads,
)
from xtvm.frontend.onnx.registry import converter


def _conv_attrs(ctx: ConversionContext, attrs: dict[str, Any], sizes, kernel) -> tuple:
    nd = len(sizes)
    if "kernel_shape" in attrs and [int(k) for k in attrs["kernel_shape"]] != list(kernel):
        raise ctx.error(f"kernel_shape {attrs['kernel_shape']} differs from the weight's {kernel}")
    strides = int_list(ctx, attrs, "strides", [1] * nd, nd)
    dilations = int_list(ctx, attrs, "dilations", [1] * nd, nd)
    pads = window_pads(ctx, attrs, sizes, kernel, strides, dilations)
    return strides, dilations, pads


def _conv3d(ctx, x, w, strides, dilations, pads, group) -> SSAValue:
    """Sum over depth taps ``kd`` of conv2d(x[:, :, kd*dd + od*sd], w[:, :, kd])."""
    n, c, d, h, wd = shape_of(x)
    o, wi, kd_, kh, kw = shape_of(w)
    (sd, sh, sw), (dd, dh, dw) = strides, dilations
    if pads[0] or pads[3]:
        x = ctx.emit(relay.PadOp(x, [0, 0, pads[0], 0, 0], [0, 0, pads[3], 0, 0]))
    dp = d + pads[0] + pads[3]
    od = (dp - (kd_ - 1) * dd - 1) // sd + 1
    if od <= 0:
        raise ctx.error("the kernel is larger than the padded input")
    xt = transpose(ctx, x, [0, 2, 1, 3, 4])  # N, D, C, H, W
    acc: SSAValue | None = None
    for k in range(kd_):
        sl = ctx.emit(
            relay.StridedSliceOp(xt, [0, k * dd, 0, 0, 0], [1, sd, 1, 1, 1], (n, od, c, h, wd))
        )
        wk = ctx.emit(relay.StridedSliceOp(w, [0, 0, k, 0, 0], [1] * 5, (o, wi, 1, kh, kw)))
        y = ctx.emit(
            relay.Conv2dOp(
                reshape(ctx, sl, [n * od, c, h, wd]),
                reshape(ctx, wk, [o, wi, kh, kw]),
                [sh, sw],
                [pads[1], pads[2], pads[4], pads[5]],
                [dh, dw],
                group,
            )
        )
        acc = y if acc is None else ctx.emit(relay.AddOp(acc, y))
    assert acc is not None
    _, _, oh, ow = shape_of(acc)
    return transpose(ctx, reshape(ctx, acc, [n, od, o, oh, ow]), [0, 2, 1, 3, 4])


@converter("Conv", since=11)
def conv(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    rank = len(shape_of(x))
    if rank not in (3, 4, 5) or len(shape_of(w)) != rank:
        raise ctx.error(f"only 1-D, 2-D and 3-D convolution is supported (input has rank {rank})")
    sizes = list(shape_of(x)[2:])
    kernel = list(shape_of(w)[2:])
    strides, dilations, pads = _conv_attrs(ctx, attrs, sizes, kernel)
    group = int(attrs.get("group", 1))
    if rank == 3:
        n, c, length = shape_of(x)
        o, i, k = shape_of(w)
        y = ctx.emit(
            relay.Conv2dOp(
                reshape(ctx, x, [n, c, 1, length]),
                reshape(ctx, w, [o, i, 1, k]),
                [1, strides[0]],
                [0, pads[0], 0, pads[1]],
                [1, dilations[0]],
                group,
            )
        )
        y = reshape(ctx, y, [n, o, shape_of(y)[3]])
    elif rank == 5:
        y = _conv3d(ctx, x, w, strides, dilations, pads, group)
    else:
        y = ctx.emit(relay.Conv2dOp(x, w, strides, pads, dilations, group))
    bias = ins[2] if len(ins) > 2 else None
    if bias is None:
        return y
    (c,) = require_rank(ctx, bias, 1, "a 1-D bias")
    return ctx.emit(relay.AddOp(y, reshape(ctx, bias, [1, c] + [1] * (rank - 2))))


def _pool_attrs(ctx: ConversionContext, x: SSAValue, attrs: dict[str, Any]) -> dict[str, Any]:
    rank = len(shape_of(x))
    if rank not in (3, 4, 5):
        raise ctx.error(f"only 1-D, 2-D and 3-D pooling is supported (input has rank {rank})")
    sizes = list(shape_of(x)[2:])
    nd = len(sizes)
    if "kernel_shape" not in attrs:
        raise ctx.error("attribute kernel_shape is required")
    kernel = int_list(ctx, attrs, "kernel_shape", [], nd)
    strides = int_list(ctx, attrs, "strides", [1] * nd, nd)
    dilations = int_list(ctx, attrs, "dilations", [1] * nd, nd)
    ceil_mode = int(attrs.get("ceil_mode", 0))
    if ceil_mode not in (0, 1):
        raise ctx.attr_error("ceil_mode", ceil_mode, "0 or 1")
    return {
        "pool_size": kernel,
        "strides": strides,
        "padding": window_pads(ctx, attrs, sizes, kernel, strides, dilations),
        "dilation": dilations,
        "ceil_mode": bool(ceil_mode),
    }


def _pool(ctx: ConversionContext, op_cls: type, x: SSAValue, pool: dict, **extra) -> SSAValue:
    """A 1-, 2- or 3-D pool through relay's 2-D pooling ops (see the module docstring)."""
    shape = shape_of(x)
    ks, st, pd, dl = pool["pool_size"], pool["strides"], pool["padding"], pool["dilation"]
    cm = pool["ceil_mode"]
    if len(shape) == 4:
        return ctx.emit(op_cls(x, ks, strides=st, padding=pd, dilation=dl, ceil_mode=cm, **extra))
    if len(shape) == 3:
        n, c, length = shape
        y = ctx.emit(
            op_cls(
                reshape(ctx, x, [n, c, 1, length]),
                [1, ks[0]],
                strides=[1, st[0]],
                padding=[0, pd[0], 0, pd[1]],
                dilation=[1, dl[0]],
                ceil_mode=cm,
                **extra,
            )
        )
        return reshape(ctx, y, [n, c, shape_of(y)[3]])
    n, c, d, h, w = shape
    hw = ctx.emit(
        op_cls(
            reshape(ctx, x, [n, c * d, h, w]),
            ks[1:],
            strides=st[1:],
            padding=[pd[1], pd[2], pd[4], pd[5]],
            dilation=dl[1:],
            ceil_mode=cm,
            **extra,
        )
    )
    _, _, oh, ow = shape_of(hw)
    y = ctx.emit(
        op_cls(
            reshape(ctx, hw, [n, c, d, oh * ow]),
            [ks[0], 1],
            strides=[st[0], 1],
            padding=[pd[0], 0, pd[3], 0],
            dilation=[dl[0], 1],
            ceil_mode=cm,
            **extra,
        )
    )
    return reshape(ctx, y, [n, c, shape_of(y)[2], oh, ow])


@converter("MaxPool", since=11)
def max_pool(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """The Indices output (second result) is not computed; using it is an error. int8 and
    uint8 inputs (opset 12) pool in float32, which holds every such value exactly."""
    x = ins[0]
    assert x is not None
    if int(attrs.get("storage_order", 0)) != 0:
        raise ctx.attr_error("storage_order", attrs["storage_order"], "only 0: row major")
    elt = relay.elt_of(x)
    if relay.numpy_dtype_of(elt).kind in "iu":
        wide = ctx.emit(relay.CastOp(x, "float32"))
        y = _pool(ctx, relay.MaxPool2dOp, wide, _pool_attrs(ctx, wide, attrs))
        return ctx.emit(relay.CastOp(y, elt))
    return _pool(ctx, relay.MaxPool2dOp, x, _pool_attrs(ctx, x, attrs))


@converter("AveragePool", since=11)
def avg_pool(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """``dilations`` exists from opset 19 (the ONNX checker rejects it earlier)."""
    x = ins[0]
    assert x is not None
    include = int(attrs.get("count_include_pad", 0))
    if include not in (0, 1):
        raise ctx.attr_error("count_include_pad", include, "0 or 1")
    pool = _pool_attrs(ctx, x, attrs)
    return _pool(ctx, relay.AvgPool2dOp, x, pool, count_include_pad=bool(include))


@converter("GlobalAveragePool", since=1)
def global_avg_pool(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """Any spatial rank: the spatial dims are flattened into H (W = 1) first."""
    x = ins[0]
    assert x is not None
    shape = shape_of(x)
    if len(shape) < 3:
        raise ctx.error(f"expects an [N, C, ...] input of rank >= 3, got rank {len(shape)}")
    if len(shape) == 4:
        return ctx.emit(relay.GlobalAvgPool2dOp(x))
    n, c = shape[:2]
    size = 1
    for s in shape[2:]:
        size *= s
    y = ctx.emit(relay.GlobalAvgPool2dOp(reshape(ctx, x, [n, c, size, 1])))
    return reshape(ctx, y, [n, c] + [1] * (len(shape) - 2))
