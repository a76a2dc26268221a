"""Conversions LLVM would leave to runtime library calls: bfloat16 <-> float, float64 -> half.

float64 -> half has no x86 instruction; LLVM calls ``__truncdfhf2``, which the JIT does not
resolve. It is done here as float64 -> float32 rounded to odd (an inexact result gets an odd
last bit, so it can never look like a half-precision tie), then the F16C float32 -> half
conversion: that gives the correctly rounded (nearest even) half, as numpy does.


bfloat16 is stored as ``i16`` (``lower_type``): llvmlite's IR layer has no ``bfloat`` type
(it has ``half``), and x86 without AVX512-BF16 has no conversion instruction anyway. The
frontend computes in float32 (frontend/onnx/half.py), so kernels only load, store and
convert bfloat16; the conversions are the bit manipulations numpy's ml_dtypes does:
widening shifts the 16 bits up; narrowing rounds to nearest even and keeps NaNs NaN (quiet).
"""

from __future__ import annotations

from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float64Type,
    IntegerAttr,
    IntegerType,
    VectorType,
    f32,
    i1,
    i16,
    i32,
)
from xdsl.ir import Attribute, SSAValue

from xtvm.dialects import llvmx
from xtvm.lowering.tir_to_llvm.state import FuncLowering


def _elt(t: Attribute) -> Attribute:
    return t.element_type if isinstance(t, VectorType) else t


def is_bf16(t: Attribute) -> bool:
    """A bfloat16 scalar or vector of them."""
    return isinstance(_elt(t), BFloat16Type)


def _like(t: Attribute, elt: Attribute) -> Attribute:
    return VectorType(elt, t.get_shape()) if isinstance(t, VectorType) else elt


def _const(fl: FuncLowering, value: int, t: Attribute) -> SSAValue:
    if isinstance(t, VectorType):
        attr = DenseIntOrFPElementsAttr.from_list(t, [value] * t.get_shape()[0])
        return fl.constant(attr, t)
    assert isinstance(t, IntegerType)
    return fl.constant(IntegerAttr(value, t), t)


def widen(fl: FuncLowering, bits: SSAValue, to: Attribute) -> SSAValue:
    """bfloat16 bits (i16) -> float32 (exact), then ``fpext`` to a wider ``to``."""
    t32 = _like(bits.type, i32)
    wide = fl.emit(llvm.ZExtOp(bits, t32))
    shifted = fl.emit(llvm.ShlOp(wide, _const(fl, 16, t32)))
    value = fl.emit(llvm.BitcastOp(shifted, _like(bits.type, f32)))
    if value.type != to:
        value = fl.emit(llvm.FPExtOp(value, to))
    return value


def narrow(fl: FuncLowering, x: SSAValue) -> SSAValue:
    """float -> bfloat16 bits (i16), round to nearest even. A float64 is first rounded to
    float32 (a rare double rounding: ties that float64 -> float32 creates)."""
    t_f32 = _like(x.type, f32)
    if x.type != t_f32:
        x = fl.emit(llvm.FPTruncOp(x, t_f32))
    t32 = _like(x.type, i32)
    bits = fl.emit(llvm.BitcastOp(x, t32))
    high = fl.emit(llvm.LShrOp(bits, _const(fl, 16, t32)))
    odd = fl.emit(llvm.AndOp(high, _const(fl, 1, t32)))
    bias = fl.emit(llvm.AddOp(odd, _const(fl, 0x7FFF, t32)))
    rounded = fl.emit(llvm.LShrOp(fl.emit(llvm.AddOp(bits, bias)), _const(fl, 16, t32)))
    quiet = fl.emit(llvm.OrOp(high, _const(fl, 0x40, t32)))  # NaN: keep sign and payload
    is_nan = fl.emit(llvmx.FCmpOp(x, x, "uno"))
    chosen = fl.select(is_nan, quiet, rounded)
    return fl.emit(llvm.TruncOp(chosen, _like(x.type, i16)))


def is_f64_to_half(src: Attribute, dst: Attribute) -> bool:
    """A float64 -> float16 conversion (scalar or vector)."""
    elt = lambda t: t.element_type if isinstance(t, VectorType) else t  # noqa: E731
    return isinstance(elt(src), Float64Type) and isinstance(elt(dst), Float16Type)


def f64_to_half(fl: FuncLowering, x: SSAValue, to: Attribute) -> SSAValue:
    """float64 -> half, correctly rounded through a round-to-odd float32."""
    t_f32, t32 = _like(x.type, f32), _like(x.type, i32)
    t = fl.emit(llvm.FPTruncOp(x, t_f32))
    back = fl.emit(llvm.FPExtOp(t, x.type))
    inexact = fl.emit(llvmx.FCmpOp(back, x, "une"))  # NaN too: harmless, stays NaN
    negative = fl.emit(llvmx.FCmpOp(x, _zero(fl, x.type), "olt"))
    away = fl.select(
        negative,
        fl.emit(llvmx.FCmpOp(back, x, "olt")),
        fl.emit(llvmx.FCmpOp(back, x, "ogt")),
    )
    bits = fl.emit(llvm.BitcastOp(t, t32))
    toward = fl.select(
        away,
        fl.emit(llvm.SubOp(bits, _const(fl, 1, t32))),
        fl.emit(llvm.AddOp(bits, _const(fl, 1, t32))),
    )
    odd = fl.emit(llvm.TruncOp(bits, _like(x.type, i1)))
    odd_bits = fl.select(inexact, fl.select(odd, bits, toward), bits)
    return fl.emit(llvm.FPTruncOp(fl.emit(llvm.BitcastOp(odd_bits, t_f32)), to))


def _zero(fl: FuncLowering, t: Attribute) -> SSAValue:
    if isinstance(t, VectorType):
        attr = DenseIntOrFPElementsAttr.from_list(t, [0.0] * t.get_shape()[0])
        return fl.constant(attr, t)
    return fl.const(0.0, t)
