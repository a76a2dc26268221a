"""Lowerings of the image family: pad, resize, depth/space moves, einsum, conv2d_transpose."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.conv_transpose import conv2d_transpose_nchw
from xtvm.topi.nn.einsum import einsum
from xtvm.topi.nn.image import depth_to_space, pad, resize, space_to_depth


@lowers(relay.PadOp)
def _pad(op: relay.PadOp, args: Sequence[Tensor], name: str) -> Tensor:
    before, after = op.widths
    return pad(args[0], before, after, op.mode.data, op.value, name)


@lowers(relay.ResizeOp)
def _resize(op: relay.ResizeOp, args: Sequence[Tensor], name: str) -> Tensor:
    return resize(
        args[0],
        relay.shape_of(op.result),
        op.scale_values,
        op.roi_values,
        op.method.data,
        op.coord_mode,
        op.nearest_mode.data,
        op.cubic_coeff_a.value.data,
        bool(op.exclude_outside.value.data),
        op.extrapolation_value.value.data,
        name,
    )


@lowers(relay.DepthToSpaceOp)
def _depth_to_space(op: relay.DepthToSpaceOp, args: Sequence[Tensor], name: str) -> Tensor:
    return depth_to_space(args[0], op.block, op.mode.data, name)


@lowers(relay.SpaceToDepthOp)
def _space_to_depth(op: relay.SpaceToDepthOp, args: Sequence[Tensor], name: str) -> Tensor:
    return space_to_depth(args[0], op.block, op.mode.data, name)


@lowers(relay.EinsumOp)
def _einsum(op: relay.EinsumOp, args: Sequence[Tensor], name: str) -> Tensor:
    return einsum(args, op.equation.data, name)


@lowers(relay.Conv2dTransposeOp)
def _conv2d_transpose(op: relay.Conv2dTransposeOp, args: Sequence[Tensor], name: str) -> Tensor:
    strides, padding, dilation, _, groups = op.attrs
    return conv2d_transpose_nchw(
        args[0], args[1], relay.shape_of(op.result), strides, padding, dilation, groups, name
    )
