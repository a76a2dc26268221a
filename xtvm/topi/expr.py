"""Scalar expressions of the tensor-expression builder: Python operators that emit IR.

An :class:`Expr` wraps one SSA value inside a ``te.compute`` (or ``te.reduce``) body. Its
operators append ``arith``/``math`` ops to the body being built, which is the top of a small
stack of blocks (a compute body, then any reduce body inside it). Index arithmetic folds the
trivial cases (``x + 0``, ``x * 1``, constant operands) so the IR stays readable.

Semantics worth knowing:

- ``//`` and ``%`` on ``index`` (and integer) values emit ``arith.divsi`` / ``arith.remsi``,
  which truncate toward zero. They agree with floor division only when both operands are
  non-negative, which is the only way the operator library uses them.
- ``/`` is float division (``arith.divf``); on integer element types it is ``arith.divsi``.
- Comparisons return ``i1`` expressions; use ``a.eq(b)`` / ``a.ne(b)`` for equality (``==``
  keeps Python's identity meaning so expressions stay hashable).
- Float ``max_``/``min_`` are ``arith.maximumf``/``arith.minimumf`` (NaN-propagating).
"""

from __future__ import annotations

import math as pymath
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    Signedness,
    f32,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

Number = int | float | bool
index = IndexType()


# ----------------------------------------------------------------------------------------------
# where ops go
# ----------------------------------------------------------------------------------------------


@dataclass
class _Frame:
    block: Block
    consts: dict[tuple[Attribute, str | int], SSAValue] = field(default_factory=dict)


class _State(threading.local):
    """The stack of bodies being built, per thread (tuning may build kernels in threads)."""

    def __init__(self) -> None:
        self.frames: list[_Frame] = []


_STATE = _State()


class emitting_into:
    """Context manager: ops built by expressions are appended to ``block`` while it is open."""

    def __init__(self, block: Block):
        self.block = block

    def __enter__(self) -> Block:
        _STATE.frames.append(_Frame(self.block))
        return self.block

    def __exit__(self, *exc: object) -> None:
        _STATE.frames.pop()
        if exc[0] is None:
            drop_dead_ops(self.block)


def drop_dead_ops(block: Block) -> None:
    """Erase unused side-effect-free ops (e.g. constants that folding made unnecessary)."""
    for op in reversed(list(block.ops)):
        dead = op.results and all(not r.uses for r in op.results)
        if dead and op.name.split(".")[0] in ("arith", "math", "te") and op.name != "te.yield":
            block.erase_op(op)


def _emit(op: Operation) -> Operation:
    if not _STATE.frames:
        raise RuntimeError("tensor expressions can only be built inside a compute body")
    _STATE.frames[-1].block.add_op(op)
    return op


emit = _emit


def is_float(t: Attribute) -> bool:
    return isinstance(t, AnyFloat)


def is_unsigned(t: Attribute) -> bool:
    """Unsigned integers (``ui8``...) share signless storage; ops choose the unsigned forms."""
    return isinstance(t, IntegerType) and t.signedness.data == Signedness.UNSIGNED


def const(value: Number, dtype: Attribute = f32) -> Expr:
    """A scalar constant of ``dtype`` (reused within a body so each value appears once)."""
    key_val: str | int = repr(float(value)) if is_float(dtype) else int(value)  # -0.0 != 0.0
    key = (dtype, key_val)
    for frame in reversed(_STATE.frames):
        if key in frame.consts:
            return Expr(frame.consts[key])
    if is_float(dtype):
        attr: Attribute = FloatAttr(float(value), dtype)  # type: ignore[arg-type]
    elif is_unsigned(dtype):
        # arith.constant takes only signless integers: emit the bits, then reinterpret
        width = dtype.width.data  # type: ignore[attr-defined]
        bits = IntegerType(width)
        raw = _emit(arith.ConstantOp(IntegerAttr(int(value) % (1 << width), bits), bits))
        v = _emit(arith.BitcastOp(raw.results[0], dtype)).results[0]
        _STATE.frames[-1].consts[key] = v
        return Expr(v)
    else:
        attr = IntegerAttr(int(value), dtype)  # type: ignore[arg-type]
    v = _emit(arith.ConstantOp(attr, dtype)).results[0]  # type: ignore[arg-type]
    _STATE.frames[-1].consts[key] = v
    return Expr(v)


def constant_value(e: Expr | Number) -> Number | None:
    """The Python value of a literal or of an expression defined by ``arith.constant``."""
    if isinstance(e, (int, float, bool)):
        return e
    owner = e.value.owner
    if isinstance(owner, arith.BitcastOp) and is_unsigned(e.value.type):
        inner = constant_value(Expr(owner.input))
        return None if inner is None else int(inner) % (1 << e.value.type.width.data)
    if isinstance(owner, arith.ConstantOp):
        v = owner.value
        if isinstance(v, IntegerAttr):
            return v.value.data
        if isinstance(v, FloatAttr):
            return v.value.data
    return None


def as_expr(x: Expr | Number, like: Attribute) -> Expr:
    """``x`` as an expression; Python numbers become constants of type ``like``."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, float) and not is_float(like):
        raise TypeError(f"float literal {x} used where a {like} value is expected")
    return const(x, like)


def coerce_pair(a: Expr | Number, b: Expr | Number) -> tuple[Expr, Expr]:
    if isinstance(a, Expr):
        return a, as_expr(b, a.type)
    if isinstance(b, Expr):
        return as_expr(a, b.type), b
    raise TypeError("at least one operand must be an expression")


# ----------------------------------------------------------------------------------------------
# the expression class
# ----------------------------------------------------------------------------------------------

_FLOAT_BIN = {
    "add": arith.AddfOp,
    "sub": arith.SubfOp,
    "mul": arith.MulfOp,
    "div": arith.DivfOp,
    "max": arith.MaximumfOp,
    "min": arith.MinimumfOp,
}
_INT_BIN = {
    "add": arith.AddiOp,
    "sub": arith.SubiOp,
    "mul": arith.MuliOp,
    "div": arith.DivSIOp,
    "floordiv": arith.DivSIOp,
    "mod": arith.RemSIOp,
    "max": arith.MaxSIOp,
    "min": arith.MinSIOp,
    "and": arith.AndIOp,
    "or": arith.OrIOp,
}
_UINT_BIN = {
    "div": arith.DivUIOp,
    "floordiv": arith.DivUIOp,
    "mod": arith.RemUIOp,
    "max": arith.MaxUIOp,
    "min": arith.MinUIOp,
}
_PY_FOLD: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "floordiv": lambda a, b: int(a / b) if b else 0,
    "div": lambda a, b: int(a / b) if b else 0,
    "mod": lambda a, b: int(pymath.fmod(a, b)) if b else 0,
    "max": max,
    "min": min,
}
_CMP = {"lt": ("slt", "olt"), "le": ("sle", "ole"), "gt": ("sgt", "ogt"), "ge": ("sge", "oge")}
_CMP.update({"eq": ("eq", "oeq"), "ne": ("ne", "une")})


def _fold_int(kind: str, a: Expr | Number, b: Expr | Number, t: Attribute) -> Expr | None:
    """Trivial index/integer identities, checked before any literal becomes a constant op;
    None when an op must be emitted."""
    ca, cb = constant_value(a), constant_value(b)
    if ca is not None and cb is not None and kind in _PY_FOLD:
        if kind in ("div", "floordiv", "mod") and cb == 0:
            return None
        return const(_PY_FOLD[kind](int(ca), int(cb)), t)
    if kind == "add":
        if cb == 0:
            return as_expr(a, t)
        if ca == 0:
            return as_expr(b, t)
    if kind == "sub" and cb == 0:
        return as_expr(a, t)
    if kind == "mul":
        if cb == 1:
            return as_expr(a, t)
        if ca == 1:
            return as_expr(b, t)
        if ca == 0 or cb == 0:
            return const(0, t)
    if kind in ("div", "floordiv") and cb == 1:
        return as_expr(a, t)
    if kind == "mod" and cb == 1:
        return const(0, t)
    return None


def binary_op(kind: str, a: Expr | Number, b: Expr | Number) -> Expr:
    t = a.type if isinstance(a, Expr) else b.type if isinstance(b, Expr) else None
    if t is None:
        raise TypeError("at least one operand must be an expression")
    if not is_float(t):
        if kind == "div" and isinstance(t, IndexType):
            raise TypeError("use // for index division")
        folded = _fold_int(kind, a, b, t)
        if folded is not None:
            return folded
    x, y = coerce_pair(a, b)
    if x.type != y.type:
        raise TypeError(f"operand types differ: {x.type} vs {y.type}")
    if is_float(x.type):
        if kind not in _FLOAT_BIN:
            raise TypeError(f"operator {kind!r} is not defined on {x.type}")
        return Expr(_emit(_FLOAT_BIN[kind](x.value, y.value)).results[0])
    cls = _UINT_BIN.get(kind, _INT_BIN[kind]) if is_unsigned(x.type) else _INT_BIN[kind]
    return Expr(_emit(cls(x.value, y.value)).results[0])


def _compare(kind: str, a: Expr | Number, b: Expr | Number) -> Expr:
    x, y = coerce_pair(a, b)
    ipred, fpred = _CMP[kind]
    if is_float(x.type):
        return Expr(_emit(arith.CmpfOp(x.value, y.value, fpred)).results[0])
    if is_unsigned(x.type) and ipred[0] == "s":
        ipred = "u" + ipred[1:]
    return Expr(_emit(arith.CmpiOp(x.value, y.value, ipred)).results[0])


class Expr:
    """A scalar value inside a compute body (an index, an integer, a float or an i1)."""

    __slots__ = ("value",)

    def __init__(self, value: SSAValue):
        self.value = value

    @property
    def type(self) -> Attribute:
        return self.value.type

    def __repr__(self) -> str:
        return f"Expr({self.value.type})"

    def __bool__(self) -> bool:
        raise TypeError("a tensor expression has no truth value; use select(...)")

    def __add__(self, o: Expr | Number) -> Expr:
        return binary_op("add", self, o)

    def __radd__(self, o: Number) -> Expr:
        return binary_op("add", o, self)

    def __sub__(self, o: Expr | Number) -> Expr:
        return binary_op("sub", self, o)

    def __rsub__(self, o: Number) -> Expr:
        return binary_op("sub", o, self)

    def __mul__(self, o: Expr | Number) -> Expr:
        return binary_op("mul", self, o)

    def __rmul__(self, o: Number) -> Expr:
        return binary_op("mul", o, self)

    def __truediv__(self, o: Expr | Number) -> Expr:
        return binary_op("div", self, o)

    def __rtruediv__(self, o: Number) -> Expr:
        return binary_op("div", o, self)

    def __floordiv__(self, o: Expr | Number) -> Expr:
        return binary_op("floordiv", self, o)

    def __rfloordiv__(self, o: Number) -> Expr:
        return binary_op("floordiv", o, self)

    def __mod__(self, o: Expr | Number) -> Expr:
        return binary_op("mod", self, o)

    def __rmod__(self, o: Number) -> Expr:
        return binary_op("mod", o, self)

    def __neg__(self) -> Expr:
        if is_float(self.type):
            return Expr(_emit(arith.NegfOp(self.value)).results[0])
        return binary_op("sub", 0, self)

    def __and__(self, o: Expr | bool) -> Expr:
        return binary_op("and", self, o)

    def __or__(self, o: Expr | bool) -> Expr:
        return binary_op("or", self, o)

    def __lt__(self, o: Expr | Number) -> Expr:
        return _compare("lt", self, o)

    def __le__(self, o: Expr | Number) -> Expr:
        return _compare("le", self, o)

    def __gt__(self, o: Expr | Number) -> Expr:
        return _compare("gt", self, o)

    def __ge__(self, o: Expr | Number) -> Expr:
        return _compare("ge", self, o)

    def eq(self, o: Expr | Number) -> Expr:
        return _compare("eq", self, o)

    def ne(self, o: Expr | Number) -> Expr:
        return _compare("ne", self, o)

    __hash__ = object.__hash__
