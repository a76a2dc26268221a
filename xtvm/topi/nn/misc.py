"""Compute definitions of the trig/hyperbolic ops and the running product.

Trig ops are one ``math`` op per element (lowered to LLVM intrinsics or libm calls). CumProd
multiplies the masked prefix (or suffix) of each row, like CumSum: ``n * n`` multiplies per
row, every read in bounds, masked-out terms contribute 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import math as mathd
from xdsl.ir import Operation

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, emit, is_float
from xtvm.topi.intrin import prod_, select
from xtvm.topi.nn.elementwise import unary

TRIG: dict[str, type[Operation]] = {
    "sin": mathd.SinOp,
    "cos": mathd.CosOp,
    "tan": mathd.TanOp,
    "asin": mathd.AsinOp,
    "acos": mathd.AcosOp,
    "atan": mathd.AtanOp,
    "sinh": mathd.SinhOp,
    "cosh": mathd.CoshOp,
    "asinh": mathd.AsinhOp,
    "acosh": mathd.AcoshOp,
    "atanh": mathd.AtanhOp,
}


def trig(x: Tensor, kind: str, name: str) -> Tensor:
    """``kind(x)`` elementwise, ``kind`` a key of ``TRIG``."""
    op_cls = TRIG[kind]

    def fn(e: Expr) -> Expr:
        if not is_float(e.type):
            raise TypeError(f"{kind} needs a float operand, got {e.type}")
        return Expr(emit(op_cls(e.value)).results[0])  # type: ignore[call-arg]

    return unary(x, fn, name)


def _at(i: Sequence[Expr], axis: int, r: Expr | int) -> tuple:
    return (*i[:axis], r, *i[axis + 1 :])


def cumprod(
    x: Tensor, axis: int, exclusive: bool = False, reverse: bool = False, name: str = "cumprod"
) -> Tensor:
    """Running product along ``axis`` (ONNX CumProd's ``exclusive`` and ``reverse``)."""
    axis %= x.ndim
    n = x.shape[axis]

    def body(*i: Expr) -> Expr:
        def term(r: Expr) -> Expr:
            pos = i[axis]
            if reverse:
                keep = r > pos if exclusive else r >= pos
            else:
                keep = r < pos if exclusive else r <= pos
            return select(keep, x[_at(i, axis, r)], const(1, x.dtype))

        return prod_(term, (n,), dtype=x.dtype)

    return x.builder.compute(x.shape, body, name, tag="cumprod")
