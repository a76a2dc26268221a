"""``arith`` (scalars and vectors; ``index`` as i64) -> ``llvm`` (+ ``llvmx``) ops."""

from __future__ import annotations

from xdsl.dialects import arith, llvm
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    VectorType,
)
from xdsl.ir import Attribute, Operation, SSAValue

from xtvm.dialects import llvmx
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm import half_casts
from xtvm.lowering.tir_to_llvm.state import FuncLowering, lower_type, lowers

_INT_BINARY: dict[type[Operation], type[Operation]] = {
    arith.AddiOp: llvm.AddOp,
    arith.SubiOp: llvm.SubOp,
    arith.MuliOp: llvm.MulOp,
    arith.DivSIOp: llvm.SDivOp,
    arith.DivUIOp: llvm.UDivOp,
    arith.RemSIOp: llvm.SRemOp,
    arith.RemUIOp: llvm.URemOp,
    arith.AndIOp: llvm.AndOp,
    arith.OrIOp: llvm.OrOp,
    arith.XOrIOp: llvm.XOrOp,
    arith.ShLIOp: llvm.ShlOp,
    arith.ShRSIOp: llvm.AShrOp,
    arith.ShRUIOp: llvm.LShrOp,
}
_FLOAT_BINARY: dict[type[Operation], type[Operation]] = {
    arith.AddfOp: llvm.FAddOp,
    arith.SubfOp: llvm.FSubOp,
    arith.MulfOp: llvm.FMulOp,
    arith.DivfOp: llvm.FDivOp,
}
_INT_MINMAX = {
    arith.MinSIOp: "slt",
    arith.MaxSIOp: "sgt",
    arith.MinUIOp: "ult",
    arith.MaxUIOp: "ugt",
}


def fastmath(op: Operation, contract: bool = False) -> llvm.FastMathAttr:
    """The op's fastmath flags; ``contract`` adds ``contract`` (a multiply feeding an add may
    become one fused multiply-add: one rounding instead of two, which is what every BLAS and
    onnxruntime kernel does, and twice the throughput)."""
    flags = op.properties.get("fastmath")
    names = {getattr(f, "value", f) for f in (getattr(flags, "data", None) or ())}
    if contract:
        names.add("contract")
    return llvm.FastMathAttr([llvm.FastMathFlag(n) for n in sorted(names)] or None)


def intrinsic_suffix(t: Attribute) -> str:
    """LLVM's overload suffix: f32, v16f32, i64, v8i64."""
    if isinstance(t, VectorType):
        return f"v{t.get_shape()[0]}{intrinsic_suffix(t.element_type)}"
    if isinstance(t, IntegerType):
        return f"i{t.width.data}"
    return str(t)  # f16, f32, f64


def call_intrinsic(fl: FuncLowering, base: str, args: list[SSAValue], ret: Attribute) -> SSAValue:
    """``llvm.call_intrinsic "llvm.<base>.<suffix of ret>"``."""
    name = f"llvm.{base}.{intrinsic_suffix(ret)}"
    return fl.emit(llvm.CallIntrinsicOp(name, args, [ret]))


@lowers(arith.ConstantOp)
def _constant(fl: FuncLowering, op: arith.ConstantOp) -> None:
    t = lower_type(op.result.type)
    value = op.value
    if isinstance(value, IntegerAttr):
        value = IntegerAttr(value.value.data, t)
    elif isinstance(value, DenseIntOrFPElementsAttr):
        if not isinstance(t, VectorType):
            raise CompileError(f"@{fl.name}: dense constants must be vectors here, got {t}")
    elif not isinstance(value, FloatAttr):
        raise CompileError(f"@{fl.name}: unsupported constant {value}")
    fl.set(op.result, fl.constant(value, t))


@lowers(*_INT_BINARY)
def _int_binary(fl: FuncLowering, op: Operation) -> None:
    a, b = (fl.get(v) for v in op.operands)
    fl.set(op.results[0], fl.emit(_INT_BINARY[type(op)](a, b)))


@lowers(*_FLOAT_BINARY)
def _float_binary(fl: FuncLowering, op: Operation) -> None:
    a, b = (fl.get(v) for v in op.operands)
    contract = isinstance(op, arith.AddfOp | arith.SubfOp | arith.MulfOp)
    fl.set(op.results[0], fl.emit(_FLOAT_BINARY[type(op)](a, b, fastmath(op, contract))))


@lowers(arith.NegfOp)
def _negf(fl: FuncLowering, op: arith.NegfOp) -> None:
    fl.set(op.result, fl.emit(llvm.FNegOp(fl.get(op.operand), fastmath(op))))


@lowers(*_INT_MINMAX)
def _int_minmax(fl: FuncLowering, op: Operation) -> None:
    a, b = (fl.get(v) for v in op.operands)
    fl.set(op.results[0], fl.select(fl.icmp(_INT_MINMAX[type(op)], a, b), a, b))


@lowers(arith.FloorDivSIOp, arith.CeilDivSIOp)
def _floor_ceil_div(fl: FuncLowering, op: Operation) -> None:
    """q = a / b (truncating); step q by -1 (floor) or +1 (ceil) when the remainder is
    non-zero and the exact quotient is negative (floor) / positive (ceil)."""
    a, b = (fl.get(v) for v in op.operands)
    t = a.type
    zero = fl.emit(llvm.ConstantOp(_splat(0, t), t))
    one = fl.emit(llvm.ConstantOp(_splat(1, t), t))
    q = fl.emit(llvm.SDivOp(a, b))
    r = fl.emit(llvm.SRemOp(a, b))
    nonzero = fl.icmp("ne", r, zero)
    signs = fl.emit(llvm.XOrOp(r, b))
    floor = isinstance(op, arith.FloorDivSIOp)
    # floor: the exact quotient is negative <=> r and b differ in sign; ceil: the reverse.
    wrong_way = fl.icmp("slt" if floor else "sge", signs, zero)
    fix = fl.emit(llvm.AndOp(nonzero, wrong_way))
    adj = fl.emit((llvm.SubOp if floor else llvm.AddOp)(q, one))
    fl.set(op.results[0], fl.select(fix, adj, q))


def _splat(value: int, t: Attribute) -> Attribute:
    if isinstance(t, VectorType):
        return DenseIntOrFPElementsAttr.from_list(t, [value] * t.get_shape()[0])
    return IntegerAttr(value, t)


@lowers(arith.CmpiOp)
def _cmpi(fl: FuncLowering, op: arith.CmpiOp) -> None:
    a, b = fl.get(op.lhs), fl.get(op.rhs)
    pred = IntegerAttr(op.predicate.value.data, 64)  # same order as llvm.icmp's
    fl.set(op.result, fl.emit(llvm.ICmpOp(a, b, pred)))


@lowers(arith.CmpfOp)
def _cmpf(fl: FuncLowering, op: arith.CmpfOp) -> None:
    a, b = fl.get(op.lhs), fl.get(op.rhs)
    index = op.predicate.value.data  # same order as llvm.fcmp's predicates
    if isinstance(a.type, VectorType):
        fl.set(op.result, fl.emit(llvmx.FCmpOp(a, b, llvmx.FCMP_PREDICATES[index])))
    else:
        fl.set(op.result, fl.emit(llvm.FCmpOp(a, b, IntegerAttr(index, 64))))


@lowers(arith.SelectOp)
def _select(fl: FuncLowering, op: arith.SelectOp) -> None:
    fl.set(op.result, fl.select(fl.get(op.cond), fl.get(op.lhs), fl.get(op.rhs)))


@lowers(arith.MaximumfOp, arith.MinimumfOp)
def _maximum(fl: FuncLowering, op: Operation) -> None:
    # llvm.maximum/minimum propagate NaN like arith (and numpy); maxnum would not.
    a, b = (fl.get(v) for v in op.operands)
    base = "maximum" if isinstance(op, arith.MaximumfOp) else "minimum"
    fl.set(op.results[0], call_intrinsic(fl, base, [a, b], a.type))


@lowers(arith.MaxnumfOp, arith.MinnumfOp)
def _maxnum(fl: FuncLowering, op: Operation) -> None:
    a, b = (fl.get(v) for v in op.operands)
    cls = llvm.VectorFMaxOp if isinstance(op, arith.MaxnumfOp) else llvm.VectorFMinOp
    fl.set(op.results[0], fl.emit(cls(a, b)))


def _int_resize(fl: FuncLowering, value: SSAValue, to: Attribute, signed: bool) -> SSAValue:
    src = value.type.element_type if isinstance(value.type, VectorType) else value.type
    dst = to.element_type if isinstance(to, VectorType) else to
    assert isinstance(src, IntegerType) and isinstance(dst, IntegerType)
    if src.width.data == dst.width.data:
        return value
    if src.width.data > dst.width.data:
        return fl.emit(llvm.TruncOp(value, to))
    return fl.emit((llvm.SExtOp if signed else llvm.ZExtOp)(value, to))


@lowers(arith.IndexCastOp, arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp)
def _int_cast(fl: FuncLowering, op: Operation) -> None:
    signed = not isinstance(op, arith.ExtUIOp)
    to = lower_type(op.results[0].type)
    fl.set(op.results[0], _int_resize(fl, fl.get(op.operands[0]), to, signed))


_CASTS: dict[type[Operation], type[Operation]] = {
    arith.SIToFPOp: llvm.SIToFPOp,
    arith.UIToFPOp: llvmx.UIToFPOp,
    arith.FPToSIOp: llvmx.FPToSIOp,
    arith.FPToUIOp: llvmx.FPToUIOp,
    arith.ExtFOp: llvm.FPExtOp,
    arith.TruncFOp: llvm.FPTruncOp,
    arith.BitcastOp: llvm.BitcastOp,
    llvmx.SIToFPOp: llvm.SIToFPOp,
    llvmx.UIToFPOp: llvmx.UIToFPOp,
    llvmx.FPToSIOp: llvmx.FPToSIOp,
    llvmx.FPToUIOp: llvmx.FPToUIOp,
}


@lowers(*_CASTS)
def _cast(fl: FuncLowering, op: Operation) -> None:
    res = op.results[0]
    to = lower_type(res.type)
    src = op.operands[0].type
    if isinstance(src, IndexType) or isinstance(res.type, IndexType):
        raise CompileError(f"@{fl.name}: '{op.name}' on index values")
    if isinstance(op, arith.ExtFOp | arith.TruncFOp) and half_casts.is_bf16(src):
        fl.set(res, half_casts.widen(fl, fl.get(op.operands[0]), to))
        return
    if isinstance(op, arith.ExtFOp | arith.TruncFOp) and half_casts.is_bf16(res.type):
        fl.set(res, half_casts.narrow(fl, fl.get(op.operands[0])))
        return
    if isinstance(op, arith.TruncFOp) and half_casts.is_f64_to_half(src, res.type):
        fl.set(res, half_casts.f64_to_half(fl, fl.get(op.operands[0]), to))
        return
    fl.set(res, fl.emit(_CASTS[type(op)](fl.get(op.operands[0]), to)))


@lowers(llvmx.FCmpOp, llvmx.SelectOp, llvmx.ExtractElementOp)
def _llvmx(fl: FuncLowering, op: Operation) -> None:
    """Already llvm-level: rebuild over the lowered operands."""
    new = op.clone(value_mapper={v: fl.get(v) for v in op.operands})
    fl.emit(new)
    fl.set(op.results[0], new.results[0])
