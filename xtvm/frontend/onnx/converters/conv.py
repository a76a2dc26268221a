"""Windowed ONNX ops on NCHW tensors: Conv, MaxPool, AveragePool, GlobalAveragePool.

Only the 2-D forms map to relay; 1-D and 3-D variants are reported against the node.
ONNX ``pads`` are [x1_begin, x2_begin, x1_end, x2_end], which is relay's [top, left,
bottom, right].
"""

from __future__ import annotations

from typing import Any

from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import int_list, require_rank, reshape, window_pads
from xtvm.frontend.onnx.registry import converter


@converter("Conv", since=11)
def conv(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    rank = len(shape_of(x))
    if rank != 4 or len(shape_of(w)) != 4:
        raise ctx.error(f"only 2-D convolution is supported (input has rank {rank})")
    _, _, h, wd = shape_of(x)
    kernel = list(shape_of(w)[2:])
    if "kernel_shape" in attrs and [int(k) for k in attrs["kernel_shape"]] != kernel:
        raise ctx.error(f"kernel_shape {attrs['kernel_shape']} differs from the weight's {kernel}")
    strides = int_list(ctx, attrs, "strides", [1, 1], 2)
    dilations = int_list(ctx, attrs, "dilations", [1, 1], 2)
    pads = window_pads(ctx, attrs, [h, wd], kernel, strides, dilations)
    group = int(attrs.get("group", 1))
    y = ctx.emit(relay.Conv2dOp(x, w, strides, pads, dilations, group))
    bias = ins[2] if len(ins) > 2 else None
    if bias is None:
        return y
    (c,) = require_rank(ctx, bias, 1, "a 1-D bias")
    return ctx.emit(relay.AddOp(y, reshape(ctx, bias, [1, c, 1, 1])))


def _pool_attrs(ctx: ConversionContext, x: SSAValue, attrs: dict[str, Any]) -> dict[str, Any]:
    _, _, h, w = require_rank(ctx, x, 4, "2-D pooling (a rank-4 NCHW input)")
    if "kernel_shape" not in attrs:
        raise ctx.error("attribute kernel_shape is required")
    kernel = int_list(ctx, attrs, "kernel_shape", [], 2)
    strides = int_list(ctx, attrs, "strides", [1, 1], 2)
    dilations = int_list(ctx, attrs, "dilations", [1, 1], 2)
    ceil_mode = int(attrs.get("ceil_mode", 0))
    if ceil_mode not in (0, 1):
        raise ctx.attr_error("ceil_mode", ceil_mode, "0 or 1")
    return {
        "pool_size": kernel,
        "strides": strides,
        "padding": window_pads(ctx, attrs, [h, w], kernel, strides, dilations),
        "dilation": dilations,
        "ceil_mode": bool(ceil_mode),
    }


@converter("MaxPool", since=11)
def max_pool(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """The Indices output (second result) is not computed; using it is an error."""
    x = ins[0]
    assert x is not None
    if int(attrs.get("storage_order", 0)) != 0:
        raise ctx.attr_error("storage_order", attrs["storage_order"], "only 0: row major")
    return ctx.emit(relay.MaxPool2dOp(x, **_pool_attrs(ctx, x, attrs)))


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
    return ctx.emit(relay.AvgPool2dOp(x, count_include_pad=bool(include), **pool))


@converter("GlobalAveragePool", since=1)
def global_avg_pool(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    require_rank(ctx, x, 4, "2-D global pooling (a rank-4 NCHW input)")
    return ctx.emit(relay.GlobalAvgPool2dOp(x))
