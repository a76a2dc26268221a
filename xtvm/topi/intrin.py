"""Scalar intrinsics of the tensor-expression builder: select, casts, math, reductions.

``max_``/``min_`` serve two purposes, told apart by their first argument: two values give an
elementwise max/min, a callable and extents give a ``te.reduce``. A reduction must be the value
its compute yields (a dialect rule); its init value is implied by its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.dialects import math as mathd
from xdsl.dialects.builtin import IndexType, IntegerType, f32, i1
from xdsl.ir import Attribute, Block, Operation, Region

from xtvm.dialects.te import ReduceOp, YieldOp
from xtvm.topi.expr import (
    Expr,
    Number,
    as_expr,
    binary_op,
    coerce_pair,
    const,
    constant_value,
    emit,
    emitting_into,
    index,
    is_float,
    is_unsigned,
)


def select(cond: Expr | bool, a: Expr | Number, b: Expr | Number) -> Expr:
    """``cond ? a : b``; a constant condition picks its branch without emitting a select."""
    x, y = coerce_pair(a, b)
    c = constant_value(cond)
    if c is not None:
        return x if c else y
    assert isinstance(cond, Expr)
    if cond.type != i1:
        raise TypeError(f"select condition must be i1, got {cond.type}")
    return Expr(emit(arith.SelectOp(cond.value, x.value, y.value)).results[0])


def clamp(x: Expr, lo: Expr | Number, hi: Expr | Number) -> Expr:
    """``min(max(x, lo), hi)``."""
    return binary_op("min", binary_op("max", x, lo), hi)


def _unary(op_cls: type[Operation], x: Expr | Number) -> Expr:
    e = as_expr(x, f32)
    if not is_float(e.type):
        raise TypeError(f"{op_cls.name} needs a float operand, got {e.type}")  # type: ignore[attr-defined]
    return Expr(emit(op_cls(e.value)).results[0])  # type: ignore[call-arg]


def exp(x: Expr | Number) -> Expr:
    return _unary(mathd.ExpOp, x)


def log(x: Expr | Number) -> Expr:
    return _unary(mathd.LogOp, x)


def tanh(x: Expr | Number) -> Expr:
    return _unary(mathd.TanhOp, x)


def sqrt(x: Expr | Number) -> Expr:
    return _unary(mathd.SqrtOp, x)


def abs_(x: Expr) -> Expr:
    return _unary(mathd.AbsFOp, x)


def sigmoid(x: Expr) -> Expr:
    """``1 / (1 + exp(-x))``."""
    return 1.0 / (1.0 + exp(-x))


def cast(x: Expr | Number, dtype: Attribute) -> Expr:
    """Convert between index, integer and float types (float -> int truncates)."""
    e = x if isinstance(x, Expr) else const(x, dtype if not isinstance(x, float) else f32)
    src = e.type
    if src == dtype:
        return e
    c = constant_value(e)
    if c is not None and not isinstance(c, bool):
        if is_float(dtype):
            return const(float(c), dtype)
        if not is_float(src):
            return const(int(c), dtype)
    if isinstance(src, IndexType):
        if isinstance(dtype, IntegerType):
            return Expr(emit(arith.IndexCastOp(e.value, dtype)).results[0])
        return cast(cast(e, IntegerType(64)), dtype)
    if isinstance(dtype, IndexType):
        return Expr(emit(arith.IndexCastOp(cast(e, IntegerType(64)).value, dtype)).results[0])
    if is_float(src) and is_float(dtype):
        wider = dtype.bitwidth > src.bitwidth  # type: ignore[attr-defined]
        op = arith.ExtFOp(e.value, dtype) if wider else arith.TruncFOp(e.value, dtype)
        return Expr(emit(op).results[0])
    if is_float(src):
        to_int = arith.FPToUIOp if is_unsigned(dtype) else arith.FPToSIOp
        return Expr(emit(to_int(e.value, dtype)).results[0])  # type: ignore[arg-type]
    if is_float(dtype):
        to_fp = arith.UIToFPOp if is_unsigned(src) else arith.SIToFPOp
        return Expr(emit(to_fp(e.value, dtype)).results[0])  # type: ignore[arg-type]
    assert isinstance(src, IntegerType) and isinstance(dtype, IntegerType)
    if dtype.width.data > src.width.data:
        # the source's signedness decides how it widens (numpy: int8 -1 -> uint32 2**32-1)
        ext = arith.ExtUIOp if is_unsigned(src) or src.width.data == 1 else arith.ExtSIOp
        return Expr(emit(ext(e.value, dtype)).results[0])
    if dtype.width.data == src.width.data:  # signed <-> unsigned: same bits
        return Expr(emit(arith.BitcastOp(e.value, dtype)).results[0])
    return Expr(emit(arith.TruncIOp(e.value, dtype)).results[0])


def _reduce(
    kind: str,
    fbody: Callable[..., Expr | Number],
    extents: Sequence[int],
    dtype: Attribute | None = None,
) -> Expr:
    ext = [int(e) for e in extents]
    block = Block(arg_types=[index] * len(ext))
    for i, a in enumerate(block.args):
        a.name_hint = f"r{i}"
    with emitting_into(block):
        v = fbody(*(Expr(a) for a in block.args))
        val = as_expr(v, dtype or f32)
        if dtype is not None and val.type != dtype:
            val = cast(val, dtype)
        block.add_op(YieldOp(val.value))
    return Expr(emit(ReduceOp(kind, ext, val.type, Region(block))).results[0])


def sum_(fbody: Callable[..., Expr | Number], extents: Sequence[int], dtype=None) -> Expr:
    """``te.reduce "sum"``: ``fbody(*reduce_axes)`` summed over ``extents``; must be the value
    a compute yields."""
    return _reduce("sum", fbody, extents, dtype)


te_sum = sum_


def prod_(fbody: Callable[..., Expr | Number], extents: Sequence[int], dtype=None) -> Expr:
    return _reduce("prod", fbody, extents, dtype)


def max_(a, b=None, dtype=None) -> Expr:
    """``max_(x, y)``: elementwise maximum; ``max_(fbody, extents)``: a max reduction."""
    if callable(a):
        return _reduce("max", a, b, dtype)
    return binary_op("max", a, b)


def min_(a, b=None, dtype=None) -> Expr:
    """``min_(x, y)``: elementwise minimum; ``min_(fbody, extents)``: a min reduction."""
    if callable(a):
        return _reduce("min", a, b, dtype)
    return binary_op("min", a, b)
