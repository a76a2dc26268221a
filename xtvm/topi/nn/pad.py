"""Constant padding as its own stage, with reads kept in bounds.

The lowering never guards a read, so the pad stage clamps its source index into the input
and selects the pad value outside it. Default schedules inline this stage into its consumer.
"""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const
from xtvm.topi.intrin import clamp, select


def pad(
    x: Tensor,
    before: Sequence[int],
    after: Sequence[int],
    value: float = 0.0,
    name: str = "pad",
) -> Tensor:
    """``x`` padded by ``before[d]``/``after[d]`` elements of ``value`` along each dim ``d``."""
    if len(before) != x.ndim or len(after) != x.ndim:
        raise ValueError(f"pad: need {x.ndim} before/after values")
    shape = tuple(s + b + a for s, b, a in zip(x.shape, before, after))

    def body(*i: Expr) -> Expr:
        idx: list[Expr] = []
        inside: Expr | None = None
        for ax, size, b, a in zip(i, x.shape, before, after):
            if b == 0 and a == 0:
                idx.append(ax)
                continue
            idx.append(clamp(ax - b, 0, size - 1))
            conds = []
            if b > 0:
                conds.append(ax >= b)
            if a > 0:
                conds.append(ax < b + size)
            for c in conds:
                inside = c if inside is None else inside & c
        v = x[idx]
        if inside is None:
            return v
        return select(inside, v, const(value, x.dtype))

    return x.builder.compute(shape, body, name, tag="injective,pad")
