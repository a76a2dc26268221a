"""``arith`` and ``math`` for the tir interpreter, on numpy scalars and vectors.

xDSL's own arith/math interpreter functions compute floats in double precision, cover a
handful of ops and no vectors; these compute in the op's element type (so f32 rounds like
compiled code) and accept numpy vectors, which lets tests run ``tir-vectorize`` output.
Integers are Python ints (wrapped to their width) or numpy arrays; floats are numpy values.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    VectorType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Attribute

from xtvm.backends.interpreter.dtypes import np_dtype


def _scalar_type(t: Attribute) -> Attribute:
    return t.element_type if isinstance(t, VectorType) else t  # type: ignore[return-value]


def _width(t: Attribute) -> int:
    t = _scalar_type(t)
    if isinstance(t, IndexType):
        return 64
    assert isinstance(t, IntegerType), t
    return t.width.data


def _wrap(v: Any, width: int, unsigned: bool = False) -> Any:
    if isinstance(v, np.ndarray):
        return v
    v = int(v) & ((1 << width) - 1)
    if width == 1 or unsigned:
        return v
    return v - (1 << width) if v >> (width - 1) else v


def _unsigned(v: Any, width: int) -> Any:
    if isinstance(v, np.ndarray):
        return v.astype(np.dtype(f"uint{max(8, width)}")) if width > 1 else v
    return int(v) & ((1 << width) - 1)


def _as(t: Attribute, v: Any) -> Any:
    """Represent ``v`` as a value of type ``t``."""
    st = _scalar_type(t)
    if isinstance(st, IntegerType | IndexType):
        if isinstance(v, np.ndarray):
            return v.astype(np_dtype(st))
        return _wrap(v, _width(st))
    dt = np_dtype(st)
    return np.asarray(v, dtype=dt) if isinstance(v, np.ndarray) else dt.type(v)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


_erf = np.vectorize(pymath.erf, otypes=[np.float64])

_FLOAT_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    arith.AddfOp: np.add,
    arith.SubfOp: np.subtract,
    arith.MulfOp: np.multiply,
    arith.DivfOp: np.divide,
    arith.MaximumfOp: np.maximum,
    arith.MinimumfOp: np.minimum,
    arith.MaxnumfOp: np.fmax,
    arith.MinnumfOp: np.fmin,
    math.PowFOp: np.power,
    math.Atan2Op: np.arctan2,
    math.CopySignOp: np.copysign,
}

_FLOAT_UNARY: dict[type, Callable[[Any], Any]] = {
    arith.NegfOp: np.negative,
    math.AbsFOp: np.abs,
    math.AcosOp: np.arccos,
    math.AcoshOp: np.arccosh,
    math.AsinOp: np.arcsin,
    math.AsinhOp: np.arcsinh,
    math.AtanOp: np.arctan,
    math.AtanhOp: np.arctanh,
    math.CbrtOp: np.cbrt,
    math.CeilOp: np.ceil,
    math.CosOp: np.cos,
    math.CoshOp: np.cosh,
    math.ErfOp: lambda x: _erf(x),
    math.Exp2Op: np.exp2,
    math.ExpM1Op: np.expm1,
    math.ExpOp: np.exp,
    math.FloorOp: np.floor,
    math.Log10Op: np.log10,
    math.Log1pOp: np.log1p,
    math.Log2Op: np.log2,
    math.LogOp: np.log,
    math.RoundEvenOp: np.rint,
    math.RoundOp: _round_half_away,
    math.RsqrtOp: lambda x: 1 / np.sqrt(x),
    math.SinOp: np.sin,
    math.SinhOp: np.sinh,
    math.SqrtOp: np.sqrt,
    math.TanOp: np.tan,
    math.TanhOp: np.tanh,
    math.TruncOp: np.trunc,
}

# integer ops: f(a, b, width) on signed Python ints (or numpy arrays)
_INT_BINARY: dict[type, Callable[[Any, Any, int], Any]] = {
    arith.AddiOp: lambda a, b, w: a + b,
    arith.SubiOp: lambda a, b, w: a - b,
    arith.MuliOp: lambda a, b, w: a * b,
    arith.AndIOp: lambda a, b, w: a & b,
    arith.OrIOp: lambda a, b, w: a | b,
    arith.XOrIOp: lambda a, b, w: a ^ b,
    arith.MaxSIOp: lambda a, b, w: np.maximum(a, b) if isinstance(a, np.ndarray) else max(a, b),
    arith.MinSIOp: lambda a, b, w: np.minimum(a, b) if isinstance(a, np.ndarray) else min(a, b),
    arith.MaxUIOp: lambda a, b, w: max(_unsigned(a, w), _unsigned(b, w)),
    arith.MinUIOp: lambda a, b, w: min(_unsigned(a, w), _unsigned(b, w)),
    arith.DivSIOp: lambda a, b, w: _trunc_div(a, b),
    arith.RemSIOp: lambda a, b, w: a - _trunc_div(a, b) * b,
    arith.FloorDivSIOp: lambda a, b, w: a // b,
    arith.CeilDivSIOp: lambda a, b, w: -((-a) // b),
    arith.DivUIOp: lambda a, b, w: _unsigned(a, w) // _unsigned(b, w),
    arith.RemUIOp: lambda a, b, w: _unsigned(a, w) % _unsigned(b, w),
    arith.CeilDivUIOp: lambda a, b, w: -(-_unsigned(a, w) // _unsigned(b, w)),
    arith.ShLIOp: lambda a, b, w: a << b,
    arith.ShRSIOp: lambda a, b, w: a >> b,
    arith.ShRUIOp: lambda a, b, w: _unsigned(a, w) >> b,
}

_CMPI = ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"]
_CMP = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
_CMPF = ["false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord"]
_CMPF += ["ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true"]


def _bool(v: Any) -> Any:
    return v if isinstance(v, np.ndarray) else bool(v)


class ArithMathFunctions(InterpreterFunctions):
    @impl(arith.ConstantOp)
    def run_constant(self, interp: Interpreter, op: arith.ConstantOp, args):
        v = op.value
        if isinstance(v, DenseIntOrFPElementsAttr):
            t = op.result.type
            vals = np.array(v.get_values(), dtype=np_dtype(_scalar_type(t)))
            shape = tuple(t.get_shape())  # type: ignore[attr-defined]
            return (np.broadcast_to(vals, shape).copy() if vals.size == 1 else vals.reshape(shape),)
        if isinstance(v, IntegerAttr):
            return (_as(op.result.type, v.value.data),)
        if isinstance(v, FloatAttr):
            return (_as(op.result.type, v.value.data),)
        raise NotImplementedError(f"arith.constant {v}")

    @impl(arith.CmpiOp)
    def run_cmpi(self, interp: Interpreter, op: arith.CmpiOp, args):
        pred = _CMPI[op.predicate.value.data]
        a, b = args
        if pred[0] == "u":
            w = _width(op.lhs.type)
            a, b = _unsigned(a, w), _unsigned(b, w)
        return (_bool(_CMP[pred[-2:]](a, b)),)

    @impl(arith.CmpfOp)
    def run_cmpf(self, interp: Interpreter, op: arith.CmpfOp, args):
        pred = _CMPF[op.predicate.value.data]
        a, b = args
        unordered = np.isnan(a) | np.isnan(b)
        if pred in ("false", "true"):
            r = np.full(np.shape(a), pred == "true")
        elif pred == "ord":
            r = ~unordered
        elif pred == "uno":
            r = unordered
        else:
            r = _CMP[pred[1:]](a, b)
            r = (r | unordered) if pred[0] == "u" else (r & ~unordered)
        return (_bool(r),)

    @impl(arith.SelectOp)
    def run_select(self, interp: Interpreter, op: arith.SelectOp, args):
        c, a, b = args
        if isinstance(c, np.ndarray):
            return (_as(op.result.type, np.where(c, a, b)),)
        return (a if c else b,)

    @impl(math.FmaOp)
    def run_fma(self, interp: Interpreter, op: math.FmaOp, args):
        a, b, c = args
        return (_as(op.result.type, a * b + c),)

    @impl(arith.ExtFOp)
    def run_extf(self, interp, op, args):
        return (_as(op.result.type, args[0]),)

    @impl(arith.TruncFOp)
    def run_truncf(self, interp, op, args):
        return (_as(op.result.type, args[0]),)

    @impl(arith.SIToFPOp)
    def run_sitofp(self, interp, op, args):
        return (_as(op.result.type, args[0]),)

    @impl(arith.UIToFPOp)
    def run_uitofp(self, interp, op, args):
        return (_as(op.result.type, _unsigned(args[0], _width(op.input.type))),)

    @impl(arith.FPToSIOp)
    def run_fptosi(self, interp, op, args):
        v = np.trunc(args[0])
        return (_as(op.result.type, v.astype(np.int64) if isinstance(v, np.ndarray) else int(v)),)

    @impl(arith.FPToUIOp)
    def run_fptoui(self, interp, op, args):
        v = np.trunc(args[0])
        return (_as(op.result.type, v.astype(np.int64) if isinstance(v, np.ndarray) else int(v)),)

    @impl(arith.ExtSIOp)
    def run_extsi(self, interp, op, args):
        return (_as(op.result.type, args[0]),)

    @impl(arith.ExtUIOp)
    def run_extui(self, interp, op, args):
        return (_as(op.result.type, _unsigned(args[0], _width(op.input.type))),)

    @impl(arith.TruncIOp)
    def run_trunci(self, interp, op, args):
        return (_as(op.result.type, args[0]),)

    @impl(arith.IndexCastOp)
    def run_index_cast(self, interp, op, args):
        return (_as(op.result.type, args[0]),)


def _make_impl(table: dict, kind: str):
    def run(self, interp: Interpreter, op, args):
        f = table[type(op)]
        t = op.results[0].type
        if kind == "fbin":
            return (_as(t, f(args[0], args[1])),)
        if kind == "fun":
            return (_as(t, f(args[0])),)
        w = _width(t)
        return (_as(t, f(args[0], args[1], w)),)

    return run


for _table, _kind in ((_FLOAT_BINARY, "fbin"), (_FLOAT_UNARY, "fun"), (_INT_BINARY, "ibin")):
    for _cls in _table:
        setattr(ArithMathFunctions, f"run_{_cls.__name__}", impl(_cls)(_make_impl(_table, _kind)))
ArithMathFunctions = register_impls(ArithMathFunctions)
