"""``tir-expand-math``: vector ``math.erf`` / ``math.tanh`` on f32 as inline rational
approximations.

Expects tir after ``tir-vectorize``. LLVM has no vector ``erf`` or ``tanh``: without a vector
math library each lane becomes a libm call, which makes a GELU (``erf``) or an LSTM cell
(``tanh``) cost more than the matrix products around it. Both functions are odd and
saturate, so ``x * P(x^2) / Q(x^2)`` on a clamped ``x`` approximates them well:

- ``erf``: clamp to [-4, 4], numerator degree 13, denominator degree 8 (the coefficients
  XLA and TensorFlow use for f32 erf);
- ``tanh``: clamp to [-7.9053, 7.9053], numerator degree 13, denominator degree 6 (Eigen's
  f32 ``ptanh`` coefficients).

Measured against double precision over [-10, 10]: largest absolute error 4.2e-7 (erf) and
3.9e-7 (tanh), relative error below 4.2e-7 away from 0; beyond the point where the
function rounds to +-1 in f32 the result is exactly +-1. NaN stays NaN.

Vector f32 ``math.exp`` becomes Cephes' polynomial scheme (``expand_exp.py``).

Guarantees: every ``math.erf`` / ``math.tanh`` / ``math.exp`` on ``vector<N x f32>`` is
replaced; scalar and f64 ones are left to libm.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, VectorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import llvmx
from xtvm.passes.registry import register_pass
from xtvm.passes.tir.expand_exp import exp_f32

# highest degree first (Horner); polynomials in t = x^2
ERF = (
    4.0,
    3.92,  # from here on erf(x) rounds to +-1 in f32
    (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    ),
    (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    ),
)
TANH = (
    7.90531110763549805,
    9.0,  # from here on tanh(x) rounds to +-1 in f32
    (
        -2.76076847742355e-16,
        2.00018790482477e-13,
        -8.60467152213735e-11,
        5.12229709037114e-08,
        1.48572235717979e-05,
        6.37261928875436e-04,
        4.89352455891786e-03,
    ),
    (
        1.19825839466702e-06,
        1.18534705686654e-04,
        2.26843463243900e-03,
        4.89352518554385e-03,
    ),
)


def expand_odd_rational(
    x: SSAValue, spec: tuple[float, float, tuple[float, ...], tuple[float, ...]], ip: InsertPoint
) -> SSAValue:
    """``clamp(x) * P(t) / Q(t)`` with ``t = clamp(x)^2``, emitted before ``ip``; exactly
    ``copysign(1, x)`` where the function rounds to +-1 (so ``1 + tanh(-400)`` is 0, as with
    libm, not one ulp)."""
    vt = x.type
    assert isinstance(vt, VectorType)
    clamp, saturate, num, den = spec

    def emit(op: Operation) -> SSAValue:
        Rewriter.insert_op(op, ip)
        return op.results[0]

    def const(c: float) -> SSAValue:
        return emit(
            arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(vt, [c] * vt.get_shape()[0]))
        )

    xc = emit(arith.MinimumfOp(emit(arith.MaximumfOp(x, const(-clamp))), const(clamp)))
    t = emit(arith.MulfOp(xc, xc))

    def horner(cs: tuple[float, ...]) -> SSAValue:
        acc = const(cs[0])
        for c in cs[1:]:
            acc = emit(arith.AddfOp(emit(arith.MulfOp(acc, t)), const(c)))
        return acc

    p = emit(arith.MulfOp(xc, horner(num)))
    r = emit(arith.DivfOp(p, horner(den)))
    big = emit(llvmx.FCmpOp(emit(math.AbsFOp(x)), const(saturate), "oge"))
    return emit(llvmx.SelectOp(big, emit(math.CopySignOp(const(1.0), x)), r))


_SPECS = {math.ErfOp: ERF, math.TanhOp: TANH}


@register_pass
@dataclass(frozen=True)
class TirExpandMathPass(ModulePass):
    """Inline vector f32 ``erf``/``tanh``/``exp`` (see the module docstring)."""

    name = "tir-expand-math"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for m in [o for o in op.walk() if type(o) in _SPECS]:
            t = m.results[0].type
            if not (isinstance(t, VectorType) and t.element_type == f32):
                continue
            value = expand_odd_rational(m.operands[0], _SPECS[type(m)], InsertPoint.before(m))
            m.results[0].replace_all_uses_with(value)
            Rewriter.erase_op(m)
        for m in [o for o in op.walk() if isinstance(o, math.ExpOp)]:
            t = m.result.type
            if isinstance(t, VectorType) and t.element_type == f32:
                m.result.replace_all_uses_with(exp_f32(m.operand, InsertPoint.before(m)))
                Rewriter.erase_op(m)
