"""Top-k and cumulative sum along one axis, written as reductions over that axis.

TopK ranks every element by counting the elements that sort before it (larger, or equal at
a lower index: ONNX's tie rule), so ranks are a permutation of ``0..n-1``; output position
``j`` is then the index whose rank is ``j``, and the values are read at those indices. That
costs ``n * n`` comparisons per row, fine for the axis lengths models sort. CumSum sums the
masked prefix (or suffix) of each row: ``n * n`` adds per row, with every read in bounds.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IndexType, i64

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const
from xtvm.topi.intrin import cast, clamp, select, sum_


def _at(i: Sequence[Expr], axis: int, r: Expr | int) -> tuple:
    return (*i[:axis], r, *i[axis + 1 :])


def topk(
    x: Tensor,
    k: int,
    axis: int = -1,
    largest: bool = True,
    ret_type: str = "values",
    name: str = "topk",
) -> Tensor:
    """The ``k`` largest (smallest) elements along ``axis`` in sorted order, or their int64
    indices; equal elements keep index order."""
    axis %= x.ndim
    n = x.shape[axis]
    kb = x.builder

    def rank(*i: Expr) -> Expr:
        v = x[i]

        def before(r: Expr) -> Expr:
            w = x[_at(i, axis, r)]
            better = w > v if largest else w < v
            ahead = better | (w.eq(v) & (r < i[axis]))
            return select(ahead, const(1, i64), const(0, i64))

        return sum_(before, (n,))

    ranks = kb.compute(x.shape, rank, f"{name}_rank", tag="topk_rank")
    out_shape = tuple(k if d == axis else s for d, s in enumerate(x.shape))

    def position(*i: Expr) -> Expr:
        want = cast(i[axis], i64)

        def match(r: Expr) -> Expr:
            return select(ranks[_at(i, axis, r)].eq(want), cast(r, i64), const(0, i64))

        return sum_(match, (n,))

    index_name = name if ret_type == "indices" else f"{name}_indices"
    indices = kb.compute(out_shape, position, index_name, tag="topk_index")
    if ret_type == "indices":
        return indices

    def gather(*i: Expr) -> Expr:
        j = cast(clamp(indices[i], 0, n - 1), IndexType())
        return x[_at(i, axis, j)]

    return kb.compute(out_shape, gather, name, tag="injective")


def cumsum(
    x: Tensor, axis: int, exclusive: bool = False, reverse: bool = False, name: str = "cumsum"
) -> Tensor:
    """Running sum along ``axis`` (ONNX CumSum's ``exclusive`` and ``reverse``)."""
    axis %= x.ndim
    n = x.shape[axis]

    def body(*i: Expr) -> Expr:
        def term(r: Expr) -> Expr:
            pos = i[axis]
            if reverse:
                keep = r > pos if exclusive else r >= pos
            else:
                keep = r < pos if exclusive else r <= pos
            return select(keep, x[_at(i, axis, r)], const(0, x.dtype))

        return sum_(term, (n,), dtype=x.dtype)

    return x.builder.compute(x.shape, body, name, tag="cumsum")
