"""Softmax in four stages: a max reduction, the shifted exponentials, their sum, a scaling.

The exponentials are a stage of their own (``softmax_exp``) so each is evaluated once: both
the sum and the scaling read it. A schedule that inlines it (the generic default rules do
inline elementwise stages) gets the older form back, recomputing ``exp`` in the last stage
instead of storing it; the x86 schedule (:mod:`xtvm.topi.x86.softmax`) keeps it and computes
it one row at a time next to that row's maximum, so it stays in cache for the sum and the
scaling. The last stage multiplies by the reciprocal of the sum (one division per row
instead of one per element; within an ulp of dividing)."""

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
    e = kb.compute(x.shape, lambda *i: exp(x[i] - mx[at(i, 0)]), f"{name}_exp", tag="softmax_exp")
    total = kb.compute(
        red_shape,
        lambda *i: sum_(lambda r: e[at(i, r)], (k,)),
        f"{name}_sum",
        tag="softmax_sum",
    )
    return kb.compute(
        x.shape,
        lambda *i: e[i] * (1.0 / total[at(i, 0)]),
        name,
        tag="softmax_output",
    )
