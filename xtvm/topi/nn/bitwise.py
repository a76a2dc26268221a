"""Bitwise computes on integer tensors: and/or/xor/not, ONNX-style shifts, reinterpretation.

LLVM's shifts are poison for amounts outside ``[0, width)``; ONNX (opset 28) defines them as
what sign extension alone gives, so the amount is clamped and the result selected.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, i1
from xdsl.ir import Attribute, Operation

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, emit, is_unsigned
from xtvm.topi.intrin import select
from xtvm.topi.nn.elementwise import binary, unary

_BITWISE: dict[str, type[Operation]] = {
    "and": arith.AndIOp,
    "or": arith.OrIOp,
    "xor": arith.XOrIOp,
}


def _int_op(cls: type[Operation], a: Expr, b: Expr) -> Expr:
    return Expr(emit(cls(a.value, b.value)).results[0])  # type: ignore[call-arg]


def bitwise(a: Tensor, b: Tensor, kind: str, name: str) -> Tensor:
    """``kind`` is and, or or xor."""
    return binary(a, b, lambda x, y: _int_op(_BITWISE[kind], x, y), name)


def bitwise_not(x: Tensor, name: str = "bitwise_not") -> Tensor:
    # -1 is all ones (for unsigned types ``const`` takes it modulo 2**width)
    return unary(x, lambda v: _int_op(arith.XOrIOp, v, const(-1, v.type)), name)


def _shift(x: Expr, s: Expr, left: bool) -> Expr:
    t = x.type
    assert isinstance(t, IntegerType)
    width = t.width.data
    in_range = s < width if is_unsigned(t) else (s >= 0) & (s < width)
    safe = select(in_range, s, const(0, t))
    if left:
        return select(in_range, _int_op(arith.ShLIOp, x, safe), const(0, t))
    if is_unsigned(t):
        return select(in_range, _int_op(arith.ShRUIOp, x, safe), const(0, t))
    fill = _int_op(arith.ShRSIOp, x, const(width - 1, t))  # -1 or 0
    return select(in_range, _int_op(arith.ShRSIOp, x, safe), fill)


def shift(a: Tensor, b: Tensor, left: bool, name: str) -> Tensor:
    return binary(a, b, lambda x, s: _shift(x, s, left), name)


def _reinterpret(x: Expr, dtype: Attribute) -> Expr:
    if x.type == i1:  # a bool sits in a byte holding 0 or 1
        return Expr(emit(arith.ExtUIOp(x.value, dtype)).results[0])
    if x.type == dtype:
        return x
    return Expr(emit(arith.BitcastOp(x.value, dtype)).results[0])


def reinterpret(x: Tensor, dtype: Attribute, name: str = "reinterpret") -> Tensor:
    return unary(x, lambda v: _reinterpret(v, dtype), name)
