"""Lowerings of the bitwise relay ops."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import Operation

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn import bitwise as tb

_BITWISE: dict[type[Operation], str] = {
    relay.BitwiseAndOp: "and",
    relay.BitwiseOrOp: "or",
    relay.BitwiseXorOp: "xor",
}


@lowers(*_BITWISE)
def _bitwise(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return tb.bitwise(args[0], args[1], _BITWISE[type(op)], name)


@lowers(relay.BitwiseNotOp)
def _bitwise_not(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return tb.bitwise_not(args[0], name)


@lowers(relay.LeftShiftOp, relay.RightShiftOp)
def _shift(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return tb.shift(args[0], args[1], isinstance(op, relay.LeftShiftOp), name)


@lowers(relay.ReinterpretOp)
def _reinterpret(op: relay.ReinterpretOp, args: Sequence[Tensor], name: str) -> Tensor:
    return tb.reinterpret(args[0], relay.elt_of(op.result), name)
