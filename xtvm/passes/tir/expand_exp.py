"""Inline vector code for ``math.exp`` on f32 lanes, for ``tir-expand-math``.

LLVM has no vector ``exp`` instruction: without a vector math library it calls ``expf`` once
per lane, which costs more than the rest of a softmax or sigmoid. ``tir-expand-math``
computes it instead with Cephes' ``expf`` scheme: ``x = n ln2 + r`` with ``n = floor(x log2e + 1/2)``
and ``|r| <= ln2 / 2``, a degree-7 polynomial for ``e^r`` (about 1 ulp), and ``2^n`` built
in the exponent bits (as ``2 * 2^(n-1)`` so that ``n = 128`` still fits). Inputs above
``ln(FLT_MAX)`` give ``+inf``, NaN gives NaN; results below ``2^-125`` (inputs below -86.98)
are flushed to 0, where libm would return tiny or subnormal values.
"""

from __future__ import annotations

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, VectorType, f32, i32
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import llvmx

_HI = 89.0  # clamp: e^89 already overflows to +inf through the exponent bits
_LO = -86.98  # below this, 2^(n-1) needs a subnormal scale: flush the result to 0
_LOG2E = 1.4426950408889634
_LN2_HI = 0.693359375  # ln 2 = _LN2_HI + _LN2_LO, _LN2_HI exact in 9 bits
_LN2_LO = -2.12194440e-4
_POLY = (
    1.9875691500e-4,
    1.3981999507e-3,
    8.3334519073e-3,
    4.1665795894e-2,
    1.6666665459e-1,
    5.0000001201e-1,
)


def exp_f32(x: SSAValue, ip: InsertPoint) -> SSAValue:
    """``e^x`` lane by lane for ``x: vector<N x f32>``, emitted before ``ip``."""
    vt = x.type
    assert isinstance(vt, VectorType) and vt.element_type == f32
    width = vt.get_shape()[0]
    it = VectorType(i32, [width])

    def emit(op: Operation) -> SSAValue:
        Rewriter.insert_op(op, ip)
        return op.results[0]

    def const(value: float, t: VectorType = vt) -> SSAValue:
        vals = [int(value) if t is it else float(value)] * width
        return emit(arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, vals), t))

    def fma(a: SSAValue, b: SSAValue, c: SSAValue) -> SSAValue:
        # mul + add: the LLVM lowering lets them contract into one fused multiply-add
        return emit(arith.AddfOp(emit(arith.MulfOp(a, b)), c))

    hi, lo = const(_HI), const(_LO)
    # clamp with compare + select (one max/min instruction; a NaN passes through)
    xc = emit(llvmx.SelectOp(emit(llvmx.FCmpOp(x, lo, "olt")), lo, x))
    xc = emit(llvmx.SelectOp(emit(llvmx.FCmpOp(xc, hi, "ogt")), hi, xc))
    n = emit(math.FloorOp(fma(xc, const(_LOG2E), const(0.5))))
    r = fma(n, const(-_LN2_HI), xc)
    r = fma(n, const(-_LN2_LO), r)
    y = const(_POLY[0])
    for c in _POLY[1:]:
        y = fma(y, r, const(c))
    y = fma(y, emit(arith.MulfOp(r, r)), emit(arith.AddfOp(r, const(1.0))))
    y = emit(arith.AddfOp(y, y))  # 2 e^r, exact
    k = emit(llvmx.FPToSIOp(n, it))  # a NaN lane is poison here, and replaced below
    bits = emit(arith.ShLIOp(emit(arith.AddiOp(k, const(126, it))), const(23, it)))
    y = emit(arith.MulfOp(y, emit(arith.BitcastOp(bits, vt))))  # 2 e^r 2^(n-1)
    y = emit(llvmx.SelectOp(emit(llvmx.FCmpOp(x, lo, "olt")), const(0.0), y))
    return emit(llvmx.SelectOp(emit(llvmx.FCmpOp(x, x, "uno")), x, y))
