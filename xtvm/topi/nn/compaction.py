"""Stream compaction without sequential loops: mask positions and Unique as reductions.

The tensor-expression language has no loop-carried state, so "the j-th kept entry" is found
by counting: each entry's rank is the number of kept entries before it. Mask positions use a
blocked prefix count and a binary search (``n * sqrt(n)``); Unique compares every pair of
rows (``n * n``, as TopK's ranking in ``sort.py``) and output ``j`` sums the (single) kept
row whose rank is ``j``. Entries past the real count come out as zeros, which keeps them
valid indices for a consumer that runs over the whole bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xdsl.dialects.builtin import IndexType, i1, i64

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, is_float
from xtvm.topi.intrin import cast, clamp, min_, select, sum_

Pair = Callable[[Expr, Expr], Expr]


def _count(cond: Expr) -> Expr:
    return select(cond, const(1, i64), const(0, i64))


def mask_positions(mask: Tensor, name: str = "mask_positions") -> Tensor:
    """``[n] i1 -> [n] i64``: ascending positions of the true entries, then zeros.

    The inclusive running count ``incl`` is a two-level prefix sum (blocks of ``sqrt(n)``:
    ``n * sqrt(n)`` work); it never decreases, so the ``j``-th true entry is the number of
    entries with ``incl <= j``, found by a binary search unrolled into ``log2(n)`` reads.
    """
    (n,) = mask.shape
    kb = mask.builder
    if n == 0:
        return kb.compute((0,), lambda j: const(0, i64), name)
    bs = max(1, math.isqrt(n))
    nb = -(-n // bs)

    def at(k: Expr) -> Expr:  # mask[k] for k < n, else false
        inside = k < n
        return inside & mask[cast(clamp(cast(k, i64), 0, n - 1), IndexType())]

    blocks = kb.compute(
        (nb,), lambda b: sum_(lambda k: _count(at(b * bs + k)), (bs,)), f"{name}_blocks"
    )
    starts = kb.compute(
        (nb,),
        lambda b: sum_(lambda c: select(c < b, blocks[c], const(0, i64)), (nb,)),
        f"{name}_starts",
    )
    within = kb.compute(
        (n,),
        lambda i: sum_(lambda k: _count((k <= i % bs) & at(i - i % bs + k)), (bs,)),
        f"{name}_within",
    )
    incl = kb.compute((n,), lambda i: starts[i // bs] + within[i], f"{name}_incl")

    def search(j: Expr) -> Expr:
        want = cast(j, i64)
        lo = const(0, i64)
        step = 1 << (n.bit_length() - 1)
        while step:
            probe = lo + (step - 1)
            value = incl[cast(clamp(probe, 0, n - 1), IndexType())]
            lo = select((probe < n) & (value <= want), lo + step, lo)
            step >>= 1
        return select(lo < n, lo, const(0, i64))

    return kb.compute((n,), search, name, tag="compaction")


def _same(p: Expr, q: Expr) -> Expr:
    """Equal, with NaN equal to NaN."""
    if not is_float(p.type):
        return p.eq(q)
    return p.eq(q) | (p.ne(p) & q.ne(q))


def _less(p: Expr, q: Expr) -> Expr:
    """Ascending order with NaN last."""
    if not is_float(p.type):
        return p < q
    return (p < q) | (p.eq(p) & q.ne(q))


def _element_relations(x: Tensor) -> tuple[Pair, Pair]:
    """Elements of a 1-D ``x``: NaN equals NaN, as numpy's flat ``unique``."""
    return (lambda a, b: _same(x[a], x[b])), (lambda a, b: _less(x[a], x[b]))


def _row_relations(x: Tensor, name: str) -> tuple[Pair, Pair]:
    """Rows of a 2-D ``x``: equal when every element is (IEEE: a row holding NaN equals no
    other row, as numpy's ``unique`` along an axis), ordered lexicographically, NaN last."""
    n, m = x.shape
    kb = x.builder

    def first_diff(a: Expr, b: Expr) -> Expr:
        return min_(
            lambda k: select(_same(x[a, k], x[b, k]), const(m, i64), cast(k, i64)),
            (m,),
            dtype=i64,
        )

    diff = kb.compute((n, n), first_diff, f"{name}_first_diff")
    nans = kb.compute(
        (n,), lambda a: sum_(lambda k: _count(x[a, k].ne(x[a, k])), (m,)), f"{name}_nans"
    )

    def less(a: Expr, b: Expr) -> Expr:
        d = diff[a, b]
        k = cast(clamp(d, 0, m - 1), IndexType())
        return (d < m) & _less(x[a, k], x[b, k])

    return (lambda a, b: diff[a, b].eq(m) & nans[a].eq(0)), less


def unique(x: Tensor, sorted_: bool, output: str, name: str = "unique") -> Tensor:
    """ONNX Unique over the elements of a 1-D ``x`` or the rows of a 2-D one: ``output`` is
    ``indices`` (first occurrences, by value when ``sorted_`` else by position, then zeros),
    ``inverse``, ``counts`` (then garbage past the count) or ``count`` (a scalar)."""
    n = x.shape[0]
    kb = x.builder
    relations = _element_relations(x) if x.ndim == 1 else _row_relations(x, name)
    equal, less = relations

    def same(a: Expr, b: Expr) -> Expr:  # reflexive even for rows holding NaN
        return a.eq(b) | equal(a, b)

    dups = kb.compute(
        (n,), lambda i: sum_(lambda r: _count((r < i) & same(r, i)), (n,)), f"{name}_dups"
    )

    def first(r: Expr) -> Expr:
        return dups[r].eq(0)

    if output == "count":
        return kb.compute((), lambda: sum_(lambda r: _count(first(r)), (n,)), name)

    def before(r: Expr, i: Expr) -> Expr:
        if not sorted_:
            return r < i
        # ties (rows equal in order but not equal: NaN) go by position, so ranks stay a
        # permutation of the distinct rows
        return less(r, i) | (select(less(i, r), const(0, i1), const(1, i1)) & (r < i))

    rank = kb.compute(
        (n,), lambda i: sum_(lambda r: _count(first(r) & before(r, i)), (n,)), f"{name}_rank"
    )
    if output == "inverse":

        def inverse(i: Expr) -> Expr:
            return sum_(lambda r: select(first(r) & same(r, i), rank[r], const(0, i64)), (n,))

        return kb.compute((n,), inverse, name, tag="compaction")

    def pick(j: Expr) -> Expr:
        want = cast(j, i64)
        return sum_(
            lambda r: select(first(r) & rank[r].eq(want), cast(r, i64), const(0, i64)), (n,)
        )

    indices = kb.compute((n,), pick, name if output == "indices" else f"{name}_indices")
    if output == "indices":
        return indices

    def counts(j: Expr) -> Expr:
        row = cast(clamp(indices[j], 0, n - 1), IndexType())
        return sum_(lambda r: _count(same(r, row)), (n,))

    return kb.compute((n,), counts, name, tag="compaction")
