"""relay -> te for the indexing ops (take, gather_elements/_nd, scatter_nd/_elements, tile,
broadcast_to)."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn import indexing


@lowers(relay.TakeOp)
def _take(op: relay.TakeOp, args: Sequence[Tensor], name: str) -> Tensor:
    return indexing.take(args[0], args[1], op.axis.value.data, name)


@lowers(relay.GatherElementsOp)
def _gather_elements(op: relay.GatherElementsOp, args: Sequence[Tensor], name: str) -> Tensor:
    return indexing.gather_elements(args[0], args[1], op.axis.value.data, name)


@lowers(relay.ScatterNdOp)
def _scatter_nd(op: relay.ScatterNdOp, args: Sequence[Tensor], name: str) -> Tensor:
    return indexing.scatter_nd(args[0], args[1], args[2], op.reduction.data, name)


@lowers(relay.TileOp)
def _tile(op: relay.TileOp, args: Sequence[Tensor], name: str) -> Tensor:
    return indexing.tile(args[0], op.repeats, name)


@lowers(relay.BroadcastToOp)
def _broadcast_to(op: relay.BroadcastToOp, args: Sequence[Tensor], name: str) -> Tensor:
    return indexing.broadcast_to(args[0], relay.shape_of(op.result), name)


@lowers(relay.GatherNdOp)
def _gather_nd(op: relay.GatherNdOp, args: Sequence[Tensor], name: str) -> Tensor:
    return indexing.gather_nd(args[0], args[1], op.batch_dims.value.data, name)


@lowers(relay.ScatterElementsOp)
def _scatter_elements(op: relay.ScatterElementsOp, args: Sequence[Tensor], name: str) -> Tensor:
    axis, reduction = op.axis.value.data, op.reduction.data
    return indexing.scatter_elements(args[0], args[1], args[2], axis, reduction, name)
