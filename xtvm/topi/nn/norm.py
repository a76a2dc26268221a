"""Layer and instance normalization: mean and variance stages, then one normalizing stage.

The variance is the mean of squared deviations from the mean (two passes over the data),
which stays accurate when the mean is large compared with the spread.
"""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import sqrt, sum_
from xtvm.topi.nn.elementwise import broadcast_index


def _moments(x: Tensor, start: int, name: str) -> tuple[Tensor, Tensor, int]:
    """Sum and sum of squared deviations over dims ``[start, rank)``, both kept as size-1
    dims; also the element count of one slice."""
    kb = x.builder
    inner = x.shape[start:]
    count = 1
    for d in inner:
        count *= d
    red_shape = (*x.shape[:start], *([1] * len(inner)))

    def at(i: Sequence[Expr], r: Sequence[Expr]) -> tuple:
        return (*i[:start], *r)

    total = kb.compute(
        red_shape, lambda *i: sum_(lambda *r: x[at(i, r)], inner), f"{name}_sum", tag="norm_sum"
    )

    def squares(*i: Expr) -> Expr:
        def dev(*r: Expr) -> Expr:
            d = x[at(i, r)] - total[i] / float(count)
            return d * d

        return sum_(dev, inner)

    sq = kb.compute(red_shape, squares, f"{name}_var", tag="norm_var")
    return total, sq, count


def _normalized(
    x: Tensor, i: Sequence[Expr], start: int, total: Tensor, sq: Tensor, count: int, eps: float
) -> Expr:
    r = (*i[:start], *([0] * (x.ndim - start)))
    mean = total[r] / float(count)
    return (x[tuple(i)] - mean) / sqrt(sq[r] / float(count) + eps)


def layer_norm(
    x: Tensor,
    scale: Tensor,
    bias: Tensor,
    axis: int,
    epsilon: float,
    name: str = "layer_norm",
    ret_type: str = "output",
) -> Tensor:
    """Normalize over dims ``[axis, rank)``; scale and bias broadcast against those dims.
    ``ret_type`` "mean" / "inv_std_dev" returns that statistic (normalized dims kept as 1)."""
    axis %= x.ndim
    total, sq, count = _moments(x, axis, name)
    inner = x.shape[axis:]
    if ret_type == "mean":
        return x.builder.compute(total.shape, lambda *i: total[i] / float(count), name)
    if ret_type == "inv_std_dev":
        return x.builder.compute(
            total.shape, lambda *i: 1.0 / sqrt(sq[i] / float(count) + epsilon), name
        )

    def body(*i: Expr) -> Expr:
        y = _normalized(x, i, axis, total, sq, count, epsilon)
        t = i[axis:]
        return y * scale[broadcast_index(scale, inner, t)] + bias[broadcast_index(bias, inner, t)]

    return x.builder.compute(x.shape, body, name, tag="norm_output")


def instance_norm(
    x: Tensor, scale: Tensor, bias: Tensor, epsilon: float, name: str = "instance_norm"
) -> Tensor:
    """Normalize each ``(n, c)`` slice of ``[N, C, ...]``; per-channel scale and bias."""
    total, sq, count = _moments(x, 2, name)

    def body(*i: Expr) -> Expr:
        y = _normalized(x, i, 2, total, sq, count, epsilon)
        return y * scale[i[1]] + bias[i[1]]

    return x.builder.compute(x.shape, body, name, tag="norm_output")
