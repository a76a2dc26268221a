"""Math functions on the GPU without libdevice.

NVPTX has instructions for sqrt, fabs, floor/ceil/trunc/round, min/max, fma and copysign,
which ``convert-tir-to-llvm`` emits as LLVM intrinsics. The transcendental ones have no
libm to call in PTX (LLVM aborts the process on ``llvm.exp.f32`` for nvptx), and
libdevice ships only with the CUDA toolkit. So f32 exp/log/tanh/erf/sigmoid-style math is
built here: exp/log/pow from the hardware's approximate base-2 units (``ex2.approx``,
``lg2.approx``, about 2 ulp), as CUDA's fast-math ``__expf``/``__logf`` are (relative error
around 1e-6 for the arguments models see); tanh and erf as the rational approximations of
``tir-expand-math`` (absolute error below 5e-7); sin and cos as ``sin.approx``/``cos.approx``
after reducing the argument to [-pi, pi]. Other types and functions are a CompileError naming them.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import llvm, math
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, f32, i64
from xdsl.ir import Operation, SSAValue

from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.state import FuncLowering
from xtvm.passes.tir.expand_math import ERF, TANH

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
RationalSpec = tuple[float, float, tuple[float, ...], tuple[float, ...]]


def _c(fl: FuncLowering, value: float) -> SSAValue:
    return fl.constant(FloatAttr(value, f32), f32)


def _call(fl: FuncLowering, name: str, x: SSAValue) -> SSAValue:
    return fl.emit(llvm.CallIntrinsicOp(name, [x], [f32]))


def _mul(fl: FuncLowering, a: SSAValue, b: SSAValue) -> SSAValue:
    return fl.emit(llvm.FMulOp(a, b))


def exp2(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return _call(fl, "llvm.nvvm.ex2.approx.f", x)


def exp(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return exp2(fl, _mul(fl, x, _c(fl, LOG2E)))


def log2(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return _call(fl, "llvm.nvvm.lg2.approx.f", x)


def log(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return _mul(fl, log2(fl, x), _c(fl, LN2))


def odd_rational(fl: FuncLowering, x: SSAValue, spec: RationalSpec) -> SSAValue:
    """``clamp(x) * P(x^2) / Q(x^2)``, exactly ``copysign(1, x)`` where the function rounds
    to +-1: the scalar form of ``tir-expand-math``'s approximations (same coefficients)."""
    clamp, saturate, num, den = spec
    low = fl.select(_fcmp(fl, "olt", x, _c(fl, -clamp)), _c(fl, -clamp), x)
    xc = fl.select(_fcmp(fl, "ogt", low, _c(fl, clamp)), _c(fl, clamp), low)
    t = _mul(fl, xc, xc)

    def horner(cs: tuple[float, ...]) -> SSAValue:
        acc = _c(fl, cs[0])
        for c in cs[1:]:
            acc = fl.emit(llvm.FAddOp(_mul(fl, acc, t), _c(fl, c)))
        return acc

    r = fl.emit(llvm.FDivOp(_mul(fl, xc, horner(num)), horner(den)))
    ax = fl.emit(llvm.FAbsOp(x, f32))
    one = fl.emit(llvm.FCopySignOp(_c(fl, 1.0), x))
    return fl.select(_fcmp(fl, "oge", ax, _c(fl, saturate)), one, r)


def tanh(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return odd_rational(fl, x, TANH)


def erf(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return odd_rational(fl, x, ERF)


# 2*pi as 6.28125 (8 significant bits, so k * C1 is exact for |k| < 2^16) plus the rest
_TWO_PI_HI = 6.28125
_TWO_PI_LO = 0.0019353071795864769
_INV_TWO_PI = 0.15915494309189535


def _reduce_turns(fl: FuncLowering, x: SSAValue) -> SSAValue:
    """``x - 2*pi*rint(x / (2*pi))`` in [-pi, pi] (Cody-Waite, two fused steps): the range
    where ``sin.approx``/``cos.approx`` are accurate (absolute error about 5e-7)."""
    k = fl.emit(llvm.CallIntrinsicOp("llvm.rint.f32", [_mul(fl, x, _c(fl, _INV_TWO_PI))], [f32]))
    neg_k = fl.emit(llvm.FNegOp(k))
    r = fl.emit(llvm.FMAOp(neg_k, _c(fl, _TWO_PI_HI), x))
    return fl.emit(llvm.FMAOp(neg_k, _c(fl, _TWO_PI_LO), r))


def sin(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return _call(fl, "llvm.nvvm.sin.approx.f", _reduce_turns(fl, x))


def cos(fl: FuncLowering, x: SSAValue) -> SSAValue:
    return _call(fl, "llvm.nvvm.cos.approx.f", _reduce_turns(fl, x))


def _fcmp(fl: FuncLowering, pred: str, a: SSAValue, b: SSAValue) -> SSAValue:
    return fl.emit(llvm.FCmpOp(a, b, IntegerAttr(llvm.FCmpPredicateFlag(pred).to_int(), i64)))


def pow_(fl: FuncLowering, x: SSAValue, y: SSAValue) -> SSAValue:
    """x ** y as C's powf: exp2(y * log2 |x|), then 1 for y == 0, the sign of x for an odd
    integer y, NaN for a negative x and a non-integer y."""
    ax = fl.emit(llvm.FAbsOp(x, f32))
    r = exp2(fl, _mul(fl, y, log2(fl, ax)))
    r = fl.select(_fcmp(fl, "oeq", y, _c(fl, 0.0)), _c(fl, 1.0), r)
    whole = fl.emit(llvm.CallIntrinsicOp("llvm.trunc.f32", [y], [f32]))
    half = _mul(fl, y, _c(fl, 0.5))
    half_whole = fl.emit(llvm.CallIntrinsicOp("llvm.trunc.f32", [half], [f32]))
    integer = _fcmp(fl, "oeq", whole, y)
    odd = fl.emit(llvm.AndOp(integer, _fcmp(fl, "one", half_whole, half)))
    negative = _fcmp(fl, "olt", x, _c(fl, 0.0))
    r = fl.select(fl.emit(llvm.AndOp(negative, odd)), fl.emit(llvm.FNegOp(r)), r)
    not_integer = _fcmp(fl, "une", whole, y)
    nan = _c(fl, float("nan"))
    return fl.select(fl.emit(llvm.AndOp(negative, not_integer)), nan, r)


_F32: dict[type[Operation], Callable[..., SSAValue]] = {
    math.ExpOp: exp,
    math.Exp2Op: exp2,
    math.LogOp: log,
    math.Log2Op: log2,
    math.TanhOp: tanh,
    math.ErfOp: erf,
    math.PowFOp: pow_,
    math.SinOp: sin,
    math.CosOp: cos,
}
# functions whose LLVM lowering would be a libm call, which PTX cannot make
_NEEDS_LIBM = (
    math.TanOp,
    math.AsinOp,
    math.AcosOp,
    math.AtanOp,
    math.Atan2Op,
    math.SinhOp,
    math.CoshOp,
    math.Log10Op,
    math.ExpM1Op,
    math.Log1pOp,
    math.CbrtOp,
    math.AsinhOp,
    math.AcoshOp,
    math.AtanhOp,
)


def _lower(fl: FuncLowering, op: Operation) -> None:
    args = [fl.get(v) for v in op.operands]
    if any(a.type != f32 for a in args):
        raise CompileError(
            f"@{fl.name}: '{op.name}' on {args[0].type} has no cuda lowering (f32 only)"
        )
    fl.set(op.results[0], _F32[type(op)](fl, *args))


def _refuse(fl: FuncLowering, op: Operation) -> None:
    raise CompileError(f"@{fl.name}: '{op.name}' has no cuda lowering yet")


def handler(op: Operation) -> Callable[[FuncLowering, Operation], None] | None:
    """The GPU lowering of a math op, or None to use ``convert-tir-to-llvm``'s."""
    if type(op) in _F32:
        return _lower
    if isinstance(op, _NEEDS_LIBM):
        return _refuse
    return None
