"""``math`` and ``vector`` (broadcast/fma/reduction) -> ``llvm`` ops.

exp/log/sqrt/fabs/floor/ceil/sin/cos/exp2/log2/pow/fma/copysign are xDSL's llvm intrinsic
ops; tanh/tan/asin/.../round/trunc/log10 are LLVM intrinsics called by name (LLVM expands
them, calling libm per lane where the target has no instruction); erf/expm1/log1p/cbrt have
no intrinsic and call libm's ``erff``/... once per lane.
"""

from __future__ import annotations

from xdsl.dialects import llvm, math, vector
from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerType,
    VectorType,
    f64,
    i32,
    i64,
)
from xdsl.dialects.llvm import FastMathAttr, FastMathFlag
from xdsl.ir import Attribute, Operation, SSAValue

from xtvm.dialects import llvmx
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.arith_ops import call_intrinsic, fastmath, intrinsic_suffix
from xtvm.lowering.tir_to_llvm.state import FuncLowering, lower_type, lowers

_XDSL_INTRINSICS: dict[type[Operation], type[Operation]] = {
    math.ExpOp: llvm.FExpOp,
    math.Exp2Op: llvm.FExp2Op,
    math.LogOp: llvm.FLogOp,
    math.Log2Op: llvm.FLog2Op,
    math.SqrtOp: llvm.FSqrtOp,
    math.AbsFOp: llvm.FAbsOp,
    math.FloorOp: llvm.FFloorOp,
    math.CeilOp: llvm.FCeilOp,
    math.SinOp: llvm.FSinOp,
    math.CosOp: llvm.FCosOp,
    math.PowFOp: llvm.FPowOp,
    math.CopySignOp: llvm.FCopySignOp,
    math.FmaOp: llvm.FMAOp,
}
_NAMED_INTRINSICS: dict[type[Operation], str] = {
    math.TanhOp: "tanh",
    math.TanOp: "tan",
    math.AsinOp: "asin",
    math.AcosOp: "acos",
    math.AtanOp: "atan",
    math.SinhOp: "sinh",
    math.CoshOp: "cosh",
    math.Log10Op: "log10",
    math.RoundOp: "round",
    math.RoundEvenOp: "roundeven",
    math.TruncOp: "trunc",
    math.Atan2Op: "atan2",
}
_LIBM: dict[type[Operation], str] = {
    math.ErfOp: "erf",
    math.ExpM1Op: "expm1",
    math.Log1pOp: "log1p",
    math.CbrtOp: "cbrt",
    math.AsinhOp: "asinh",
    math.AcoshOp: "acosh",
    math.AtanhOp: "atanh",
}


@lowers(*_XDSL_INTRINSICS)
def _intrinsic(fl: FuncLowering, op: Operation) -> None:
    args = [fl.get(v) for v in op.operands]
    if isinstance(op, math.AbsFOp):  # the only one whose constructor takes the result type
        fl.set(op.results[0], fl.emit(llvm.FAbsOp(args[0], args[0].type, fastmath(op))))
        return
    fl.set(op.results[0], fl.emit(_XDSL_INTRINSICS[type(op)](*args, fastmath(op))))


@lowers(*_NAMED_INTRINSICS)
def _named(fl: FuncLowering, op: Operation) -> None:
    args = [fl.get(v) for v in op.operands]
    fl.set(op.results[0], call_intrinsic(fl, _NAMED_INTRINSICS[type(op)], args, args[0].type))


@lowers(math.RsqrtOp)
def _rsqrt(fl: FuncLowering, op: math.RsqrtOp) -> None:
    x = fl.get(op.operand)
    root = fl.emit(llvm.FSqrtOp(x))
    fl.set(op.result, fl.emit(llvm.FDivOp(splat_float(fl, 1.0, x.type), root)))


def _libm_name(base: str, t: Attribute) -> str:
    return base if t == f64 else f"{base}f"


@lowers(*_LIBM)
def _libm(fl: FuncLowering, op: Operation) -> None:
    """A libm call per lane (no LLVM intrinsic exists for these)."""
    x = fl.get(op.operands[0])
    t = x.type
    elem = t.element_type if isinstance(t, VectorType) else t
    name = fl.module.declare(_libm_name(_LIBM[type(op)], elem), [elem], elem)
    if not isinstance(t, VectorType):
        fl.set(op.results[0], fl.call(name, [x], elem))
        return
    out = fl.emit(llvm.UndefOp(t))
    for lane in range(t.get_shape()[0]):
        pos = fl.const(lane, i64)
        y = fl.call(name, [fl.emit(llvmx.ExtractElementOp(x, pos))], elem)
        out = fl.emit(llvm.InsertElementOp(out, y, pos))
    fl.set(op.results[0], out)


def splat_float(fl: FuncLowering, value: float, t: Attribute) -> SSAValue:
    if isinstance(t, VectorType):
        scalar = fl.emit(llvm.ConstantOp(FloatAttr(value, t.element_type), t.element_type))
        return broadcast(fl, scalar, t)
    return fl.emit(llvm.ConstantOp(FloatAttr(value, t), t))


def broadcast(fl: FuncLowering, scalar: SSAValue, t: VectorType) -> SSAValue:
    """insertelement into lane 0, then a zero-mask shufflevector."""
    undef = fl.emit(llvm.UndefOp(t))
    first = fl.emit(llvm.InsertElementOp(undef, scalar, fl.const(0, i32)))
    mask = DenseArrayBase.from_list(i32, [0] * t.get_shape()[0])
    return fl.emit(llvm.ShuffleVectorOp(first, undef, mask, t))


@lowers(vector.BroadcastOp)
def _broadcast(fl: FuncLowering, op: vector.BroadcastOp) -> None:
    src = fl.get(op.source)
    t = lower_type(op.vector.type)
    if isinstance(src.type, VectorType):
        if src.type != t:
            raise CompileError(f"@{fl.name}: vector.broadcast between shapes is not supported")
        fl.set(op.vector, src)
        return
    fl.set(op.vector, broadcast(fl, src, t))


@lowers(vector.FMAOp)
def _vfma(fl: FuncLowering, op: vector.FMAOp) -> None:
    a, b, c = (fl.get(v) for v in (op.lhs, op.rhs, op.acc))
    fl.set(op.res, fl.emit(llvm.FMAOp(a, b, c)))


_REASSOC = FastMathAttr([FastMathFlag.REASSOC])
# kind -> (float intrinsic, int intrinsic, combine with the accumulator)
_REDUCTIONS = {
    "maxnumf": ("fmax", None, llvm.VectorFMaxOp),
    "minnumf": ("fmin", None, llvm.VectorFMinOp),
    "maximumf": ("fmaximum", None, "maximum"),
    "minimumf": ("fminimum", None, "minimum"),
    "add": (None, "add", llvm.AddOp),
    "mul": (None, "mul", llvm.MulOp),
    "maxsi": (None, "smax", None),
    "minsi": (None, "smin", None),
    "and": (None, "and", llvm.AndOp),
    "or": (None, "or", llvm.OrOp),
    "xor": (None, "xor", llvm.XOrOp),
}


@lowers(vector.ReductionOp)
def _reduction(fl: FuncLowering, op: vector.ReductionOp) -> None:
    vec = fl.get(op.vector)
    acc = fl.get(op.acc) if op.acc is not None else None
    vt = vec.type
    assert isinstance(vt, VectorType)
    elem = vt.element_type
    kind = op.kind.data.value
    is_int = isinstance(elem, IntegerType)
    if not is_int and kind in ("add", "mul"):
        # Reassociation lets LLVM reduce with a tree of vector ops instead of in order.
        start = acc if acc is not None else splat_float(fl, -0.0 if kind == "add" else 1.0, elem)
        cls = llvm.VectorReduceFAddOp if kind == "add" else llvm.VectorReduceFMulOp
        fl.set(op.dest, fl.emit(cls(start, vec, _REASSOC)))
        return
    if kind not in _REDUCTIONS or _REDUCTIONS[kind][1 if is_int else 0] is None:
        raise CompileError(f"@{fl.name}: vector.reduction <{kind}> on {elem} is not supported")
    base, ibase, combine = _REDUCTIONS[kind]
    name = f"llvm.vector.reduce.{ibase if is_int else base}.{intrinsic_suffix(vt)}"
    result = fl.emit(llvm.CallIntrinsicOp(name, [vec], [elem]))
    if acc is not None:
        if combine is None:
            pred = "sgt" if kind == "maxsi" else "slt"
            result = fl.select(fl.icmp(pred, result, acc), result, acc)
        elif isinstance(combine, str):
            result = call_intrinsic(fl, combine, [result, acc], elem)
        else:
            result = fl.emit(combine(result, acc))
    fl.set(op.dest, result)
