"""Elementwise math, comparison, logic, select and cast computes (numpy/ONNX semantics).

Scalar helpers here emit ``arith``/``math`` ops directly for what the expression operators
do not cover (rounding, erf, pow, xor, i1-aware casts). ``i1`` is a value 0/1: casts from
it select 0 or 1 (a sign extension would give -1), casts to it compare with zero.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as mathd
from xdsl.dialects.builtin import f64, i1
from xdsl.ir import Attribute, Operation

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, Number, const, emit, is_float, is_unsigned
from xtvm.topi.intrin import cast as _cast_num
from xtvm.topi.intrin import select
from xtvm.topi.nn.elementwise import binary, broadcast_index, unary

# ----------------------------------------------------------------------------------------------
# scalar helpers
# ----------------------------------------------------------------------------------------------


def _float_unary(op_cls: type[Operation], x: Expr) -> Expr:
    if not is_float(x.type):
        raise TypeError(f"{op_cls.name} needs a float operand, got {x.type}")  # type: ignore[attr-defined]
    return Expr(emit(op_cls(x.value)).results[0])  # type: ignore[call-arg]


def floor(x: Expr) -> Expr:
    return _float_unary(mathd.FloorOp, x)


def ceil(x: Expr) -> Expr:
    return _float_unary(mathd.CeilOp, x)


def round_even(x: Expr) -> Expr:
    """Round half to even."""
    return _float_unary(mathd.RoundEvenOp, x)


def trunc(x: Expr) -> Expr:
    return _float_unary(mathd.TruncOp, x)


def erf(x: Expr) -> Expr:
    return _float_unary(mathd.ErfOp, x)


def sqrt(x: Expr) -> Expr:
    return _float_unary(mathd.SqrtOp, x)


def power(a: Expr, b: Expr) -> Expr:
    """``a ** b`` in ``a``'s type; integer or mixed operands go through double precision."""
    if a.type == b.type and is_float(a.type):
        return Expr(emit(mathd.PowFOp(a.value, b.value)).results[0])
    p = Expr(emit(mathd.PowFOp(cast(a, f64).value, cast(b, f64).value)).results[0])
    return cast(p, a.type)


def xor(a: Expr, b: Expr | bool) -> Expr:
    y = b if isinstance(b, Expr) else const(int(b), a.type)
    return Expr(emit(arith.XOrIOp(a.value, y.value)).results[0])


def abs_(x: Expr) -> Expr:
    if is_float(x.type):
        return _float_unary(mathd.AbsFOp, x)
    return select(x < 0, -x, x)


def sign(x: Expr) -> Expr:
    """-1/0/1; a float NaN (or -0.0) passes through unchanged."""
    one, zero = (1.0, 0.0) if is_float(x.type) else (1, 0)
    rest = select(x < zero, const(-one, x.type), x if is_float(x.type) else const(0, x.type))
    return select(x > zero, const(one, x.type), rest)


def cast(x: Expr, dtype: Attribute) -> Expr:
    """numpy ``astype``: float -> int truncates toward zero, ``!= 0`` -> i1, i1 -> 0/1."""
    if x.type == dtype:
        return x
    if dtype == i1:
        return x.ne(0.0 if is_float(x.type) else 0)
    if x.type == i1:
        one: Number = 1.0 if is_float(dtype) else 1
        return select(x, const(one, dtype), const(0 * one, dtype))
    return _cast_num(x, dtype)


def mod(a: Expr, b: Expr, fmod: bool) -> Expr:
    """Remainder with the sign of ``a`` (``fmod``) or of ``b``; integer ``x % 0`` is 0."""
    if is_float(a.type):
        # C fmod in double precision: exact while the quotient fits the mantissa; a zero
        # quotient keeps a as it is (so an infinite b gives a, not inf * 0)
        a64, b64 = _cast_num(a, f64), _cast_num(b, f64)
        q = trunc(a64 / b64)
        r = select(q.eq(0.0), a64, a64 - q * b64)
        if not fmod:
            r = select(r.ne(0.0) & xor(r < 0.0, b64 < 0.0), r + b64, r)
        return _cast_num(r, a.type)
    zero = b.eq(0)
    safe = select(zero, const(1, b.type), b)
    r = a % safe  # arith.remsi: the sign of a (arith.remui on unsigned types)
    if not fmod and not is_unsigned(a.type):
        fix = r.ne(0) & xor(r < 0, safe < 0)
        r = select(fix, r + safe, r)
    return select(zero, const(0, a.type), r)


# ----------------------------------------------------------------------------------------------
# computes
# ----------------------------------------------------------------------------------------------


_COMPARE: dict[str, Callable[[Expr, Expr], Expr]] = {
    "equal": lambda x, y: x.eq(y),
    "not_equal": lambda x, y: x.ne(y),
    "less": lambda x, y: x < y,
    "less_equal": lambda x, y: x <= y,
    "greater": lambda x, y: x > y,
    "greater_equal": lambda x, y: x >= y,
}


def compare(a: Tensor, b: Tensor, kind: str, name: str | None = None) -> Tensor:
    """An i1 tensor: ``kind`` is equal/not_equal/less/less_equal/greater/greater_equal."""
    return binary(a, b, _COMPARE[kind], name or kind)


def where(c: Tensor, x: Tensor, y: Tensor, name: str = "where") -> Tensor:
    """``c ? x : y`` with three-way numpy broadcasting."""
    shape = tuple(np.broadcast_shapes(c.shape, x.shape, y.shape))
    tag = "elemwise" if c.shape == x.shape == y.shape else "broadcast"

    def body(*i: Expr) -> Expr:
        return select(
            c[broadcast_index(c, shape, i)],
            x[broadcast_index(x, shape, i)],
            y[broadcast_index(y, shape, i)],
        )

    return x.builder.compute(shape, body, name, tag=tag)


def leaky_relu(x: Tensor, alpha: float, name: str = "leaky_relu") -> Tensor:
    return unary(x, lambda v: select(v < const(0.0, x.dtype), v * const(alpha, x.dtype), v), name)


def cast_(x: Tensor, dtype: Attribute, name: str = "cast") -> Tensor:
    return x.builder.compute(x.shape, lambda *i: cast(x[i], dtype), name, tag="elemwise")


def logical(a: Tensor, b: Tensor, kind: str, name: str | None = None) -> Tensor:
    """``kind`` is and/or/xor on i1 tensors."""
    fns: dict[str, Callable[[Expr, Expr], Expr]] = {
        "and": lambda x, y: x & y,
        "or": lambda x, y: x | y,
        "xor": xor,
    }
    return binary(a, b, fns[kind], name or f"logical_{kind}")
