"""Lowerings of the blocked-layout relay ops (see :mod:`xtvm.dialects.relay.layout`)."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.conv2d_nchwc import conv2d_nchwc
from xtvm.topi.nn.dense import dense_pack
from xtvm.topi.nn.layout import layout_transform
from xtvm.topi.nn.pool_nchwc import avg_pool2d_nchwc, global_avg_pool2d_nchwc, max_pool2d_nchwc


@lowers(relay.LayoutTransformOp)
def _layout_transform(op: relay.LayoutTransformOp, args: Sequence[Tensor], name: str) -> Tensor:
    src, dst = op.layouts
    return layout_transform(args[0], src, dst, name)


@lowers(relay.Conv2dNchwcOp)
def _conv2d_nchwc(op: relay.Conv2dNchwcOp, args: Sequence[Tensor], name: str) -> Tensor:
    strides, padding, dilation, depthwise = op.attrs
    return conv2d_nchwc(
        args[0], args[1], strides, padding, dilation, depthwise, name, groups=op.group_count
    )


@lowers(relay.DensePackOp)
def _dense_pack(op: relay.DensePackOp, args: Sequence[Tensor], name: str) -> Tensor:
    return dense_pack(args[0], args[1], name)


@lowers(relay.MaxPool2dNchwcOp, relay.AvgPool2dNchwcOp)
def _pool2d_nchwc(op: relay.Pool2dOp, args: Sequence[Tensor], name: str) -> Tensor:
    ks, strides, padding, dilation, ceil_mode = op.attrs
    if isinstance(op, relay.AvgPool2dNchwcOp):
        return avg_pool2d_nchwc(
            args[0], ks, strides, padding, dilation, ceil_mode, op.include_pad, name
        )
    return max_pool2d_nchwc(args[0], ks, strides, padding, dilation, ceil_mode, name)


@lowers(relay.GlobalAvgPool2dNchwcOp)
def _global_avg_pool2d_nchwc(op: relay.RelayOp, args: Sequence[Tensor], name: str) -> Tensor:
    return global_avg_pool2d_nchwc(args[0], name)
