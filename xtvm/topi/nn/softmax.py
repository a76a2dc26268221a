"""Softmax in three stages: a max reduction, a sum of shifted exponentials, a scaling.

The exponentials are recomputed in the last stage rather than stored: with the inline
vector ``exp`` of ``tir-vectorize`` that costs less than writing and re-reading a tensor
the size of the input. The last stage multiplies by the reciprocal of the sum (one division
per row instead of one per element; within an ulp of dividing)."""

from __future__ import annotations

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import exp, max_, sum_


def softmax(x: Tensor, axis: int = -1, name: str = "softmax") -> Tensor:
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``; the two reductions keep the
    reduced dim with size 1 so every stage has the input's rank."""
    axis %= x.ndim
    k = x.shape[axis]
    red_shape = tuple(1 if d == axis else s for d, s in enumerate(x.shape))

    def at(i: tuple[Expr, ...], r: Expr | int) -> tuple:
        return (*i[:axis], r, *i[axis + 1 :])

    kb = x.builder
    mx = kb.compute(
        red_shape, lambda *i: max_(lambda r: x[at(i, r)], (k,)), f"{name}_max", tag="softmax_max"
    )
    total = kb.compute(
        red_shape,
        lambda *i: sum_(lambda r: exp(x[at(i, r)] - mx[at(i, 0)]), (k,)),
        f"{name}_sum",
        tag="softmax_sum",
    )
    return kb.compute(
        x.shape,
        lambda *i: exp(x[i] - mx[at(i, 0)]) * (1.0 / total[at(i, 0)]),
        name,
        tag="softmax_output",
    )
