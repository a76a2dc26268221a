"""Lowerings of the elementwise math, comparison, logic, where and cast relay ops."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.ir import Operation

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import log
from xtvm.topi.nn import math as tm
from xtvm.topi.nn.elementwise import binary, unary

_UNARY: dict[type[Operation], Callable[[Expr], Expr]] = {
    relay.NegativeOp: lambda x: -x,
    relay.AbsOp: tm.abs_,
    relay.SignOp: tm.sign,
    relay.SqrtOp: tm.sqrt,
    relay.LogOp: log,
    relay.FloorOp: tm.floor,
    relay.CeilOp: tm.ceil,
    relay.RoundOp: tm.round_even,
    relay.ErfOp: tm.erf,
    relay.LogicalNotOp: lambda x: tm.xor(x, True),
}


@lowers(*_UNARY)
def _unary(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return unary(args[0], _UNARY[type(op)], name)


@lowers(relay.LeakyReluOp)
def _leaky_relu(op: relay.LeakyReluOp, args: Sequence[Tensor], name: str) -> Tensor:
    return tm.leaky_relu(args[0], op.alpha.value.data, name)


_COMPARE: dict[type[Operation], str] = {
    relay.EqualOp: "equal",
    relay.NotEqualOp: "not_equal",
    relay.LessOp: "less",
    relay.LessEqualOp: "less_equal",
    relay.GreaterOp: "greater",
    relay.GreaterEqualOp: "greater_equal",
}


@lowers(*_COMPARE)
def _compare(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return tm.compare(args[0], args[1], _COMPARE[type(op)], name)


_LOGICAL: dict[type[Operation], str] = {
    relay.LogicalAndOp: "and",
    relay.LogicalOrOp: "or",
    relay.LogicalXorOp: "xor",
}


@lowers(*_LOGICAL)
def _logical(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return tm.logical(args[0], args[1], _LOGICAL[type(op)], name)


@lowers(relay.PowerOp)
def _power(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return binary(args[0], args[1], tm.power, name)


@lowers(relay.ModOp)
def _mod(op: relay.ModOp, args: Sequence[Tensor], name: str) -> Tensor:
    return binary(args[0], args[1], lambda a, b: tm.mod(a, b, op.is_fmod), name)


@lowers(relay.WhereOp)
def _where(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return tm.where(args[0], args[1], args[2], name)


@lowers(relay.CastOp)
def _cast(op: relay.CastOp, args: Sequence[Tensor], name: str) -> Tensor:
    return tm.cast_(args[0], relay.elt_of(op.result), name)
