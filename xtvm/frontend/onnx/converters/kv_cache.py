"""TensorScatter (opset 24): write a KV-cache update at per-batch sequence offsets.

Rather than scattering, every cache position j reads the update row ``j - write_index[b]``
(mod the cache length in ``circular`` mode) when that row exists, and keeps the past value
otherwise: a gather plus a select, with the write indices a run-time tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]


@converter("TensorScatter", since=24)
def tensor_scatter(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> SSAValue:
    past, update = ins[0], ins[1]
    assert past is not None and update is not None
    indices = ins[2] if len(ins) > 2 else None
    mode = attrs.get("mode", "linear")
    if mode not in ("linear", "circular"):
        raise ctx.attr_error("mode", mode, "linear or circular")
    sp, su = shape_of(past), shape_of(update)
    rank = len(sp)
    if rank < 2 or len(su) != rank:
        raise ctx.error(f"past_cache {sp} and update {su} must have the same rank >= 2")
    axis = normalize_axis(ctx, int(attrs.get("axis", -2)), rank)
    if axis == 0:
        raise ctx.error("axis must not be the batch axis 0")
    if any(a != b for d, (a, b) in enumerate(zip(sp, su)) if d != axis) or su[axis] > sp[axis]:
        raise ctx.error(f"update {su} does not fit past_cache {sp} along axis {axis}")
    if elt_of(update) != elt_of(past):
        raise ctx.error("past_cache and update must have the same element type")
    length, rows = sp[axis], su[axis]
    if indices is None:
        indices = ctx.constant(np.zeros(sp[0], dtype=np.int64))
    if shape_of(indices) != (sp[0],):
        raise ctx.error(f"write_indices must be [{sp[0]}], got {shape_of(indices)}")
    if elt_of(indices) != elt_of(ctx.constant(np.int64(0))):
        indices = ctx.emit(relay.CastOp(indices, np.dtype("int64")))
    pos_shape = [1] * rank
    pos_shape[axis] = length
    pos = ctx.constant(np.arange(length, dtype=np.int64).reshape(pos_shape))
    start = reshape(ctx, indices, [sp[0]] + [1] * (rank - 1))
    src = ctx.emit(relay.SubtractOp(pos, start))
    if mode == "circular":
        src = ctx.emit(relay.ModOp(src, ctx.constant(np.int64(length)), False))
    zero = ctx.constant(np.int64(0))
    valid = ctx.emit(
        relay.LogicalAndOp(
            ctx.emit(relay.GreaterEqualOp(src, zero)),
            ctx.emit(relay.LessOp(src, ctx.constant(np.int64(rows)))),
        )
    )
    src = ctx.emit(relay.WhereOp(valid, src, zero))
    full = list(sp)
    src = ctx.emit(relay.BroadcastToOp(src, full))
    valid = ctx.emit(relay.BroadcastToOp(valid, full))
    gathered = ctx.emit(relay.GatherElementsOp(update, src, axis))
    return ctx.emit(relay.WhereOp(valid, gathered, past))
