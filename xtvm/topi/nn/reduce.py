"""Reductions over axes, arg-reductions, log-softmax and hardmax.

A ``te.reduce`` yields one scalar and must be the whole value of its compute, so anything
done after reducing (the mean's division, the L2 norm's square root) is a separate stage
that the default schedule inlines into the output. Arg-reductions take two reductions: the
extreme value, then the lowest (or highest) index holding it. A NaN counts as the extreme
value (the float max/min propagate it), as numpy's argmax does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import i64

from xtvm.dialects.relay.reduce import reduced_shape
from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, is_float
from xtvm.topi.intrin import abs_, cast, exp, log, max_, min_, prod_, select, sqrt, sum_

_ELEMENT: dict[str, Callable[[Expr], Expr]] = {
    "sum_square": lambda v: v * v,
    "l2": lambda v: v * v,
    "l1": lambda v: abs_(v) if is_float(v.type) else max_(v, -v),
}
_COMBINE = {"max": "max", "min": "min", "prod": "prod"}  # every other kind sums
_REDUCERS = {"sum": sum_, "max": max_, "min": min_, "prod": prod_}


def _source_index(
    out: tuple[Expr, ...], red: Sequence[Expr], rank: int, axes: Sequence[int], keepdims: bool
) -> list[Expr]:
    """Input index of output element ``out`` at reduction position ``red``."""
    idx: list[Expr] = []
    k = 0
    for d in range(rank):
        if d in axes:
            idx.append(red[axes.index(d)])
        else:
            idx.append(out[d] if keepdims else out[k])
            k += 1
    return idx


def reduce(
    x: Tensor, kind: str, axes: Sequence[int], keepdims: bool, name: str = "reduce"
) -> Tensor:
    """ONNX-style reduction ``kind`` (see ``relay.reduce``) of ``x`` over ``axes``."""
    axes = sorted(a % x.ndim for a in axes)
    kb = x.builder
    out_shape = reduced_shape(x.shape, axes, keepdims)
    extents = [x.shape[a] for a in axes]
    count = 1
    for e in extents:
        count *= e
    elem = _ELEMENT.get(kind, lambda v: v)
    if not axes:  # nothing to reduce: only the element and final maps
        final = {"l2": lambda v: sqrt(v * v), "mean": lambda v: v, "log_sum": log}.get(kind, elem)
        return kb.compute(x.shape, lambda *i: final(x[i]), name, tag="elemwise")

    def read(i: tuple[Expr, ...], r: Sequence[Expr]) -> Expr:
        return x[_source_index(i, r, x.ndim, axes, keepdims)]

    if kind == "log_sum_exp":
        mx = kb.compute(
            out_shape, lambda *i: max_(lambda *r: read(i, r), extents), f"{name}_max", tag=kind
        )

        def shifted_sum(*i: Expr) -> Expr:
            # an all -inf slice has max -inf: shift by 0 instead so the result is -inf, not NaN
            m = select(mx[i].eq(float("-inf")), 0.0, mx[i])
            return sum_(lambda *r: exp(read(i, r) - m), extents)

        total = kb.compute(out_shape, shifted_sum, f"{name}_sum", tag=kind)

        def lse(*i: Expr) -> Expr:
            return log(total[i]) + select(mx[i].eq(float("-inf")), 0.0, mx[i])

        return kb.compute(out_shape, lse, name, tag="elemwise")

    reducer = _REDUCERS[_COMBINE.get(kind, "sum")]
    post: Callable[[Expr], Expr] | None = {
        "mean": lambda v: v / float(max(count, 1)),  # empty: 0, as onnxruntime gives
        "l2": sqrt,
        "log_sum": log,
    }.get(kind)
    red_name = f"{name}_{kind}" if post else name
    acc = kb.compute(
        out_shape,
        lambda *i: reducer(lambda *r: elem(read(i, r)), extents),
        red_name,
        tag="comm_reduce",
    )
    if post is None:
        return acc
    return kb.compute(out_shape, lambda *i: post(acc[i]), name, tag="elemwise")


def _insert(i: Sequence[Expr], axis: int, r: Expr | int, keepdims: bool) -> tuple:
    """Index of ``x`` along ``axis`` = ``r``, other dims from output index ``i``."""
    if keepdims:
        return (*i[:axis], r, *i[axis + 1 :])
    return (*i[:axis], r, *i[axis:])


def arg_reduce(
    x: Tensor,
    axis: int,
    find_max: bool,
    keepdims: bool = True,
    select_last_index: bool = False,
    name: str = "argmax",
) -> Tensor:
    """int64 index of the max (min) along ``axis``: first one, or last with
    ``select_last_index``."""
    axis %= x.ndim
    n = x.shape[axis]
    kb = x.builder
    out_shape = reduced_shape(x.shape, (axis,), keepdims)
    extreme = max_ if find_max else min_
    best = kb.compute(
        out_shape,
        lambda *i: extreme(lambda r: x[_insert(i, axis, r, keepdims)], (n,)),
        f"{name}_value",
        tag="comm_reduce",
    )

    def position(*i: Expr) -> Expr:
        def candidate(r: Expr) -> Expr:
            v = x[_insert(i, axis, r, keepdims)]
            hit = v.eq(best[i])
            if is_float(v.type):
                hit = hit | v.ne(v)  # NaN is the extreme value
            miss = -1 if select_last_index else n
            return select(hit, cast(r, i64), miss)

        pick = max_ if select_last_index else min_
        return pick(candidate, (n,))

    return kb.compute(out_shape, position, name, tag="comm_reduce")


def log_softmax(x: Tensor, axis: int = -1, name: str = "log_softmax") -> Tensor:
    """``x - max - log(sum(exp(x - max)))`` along ``axis``."""
    axis %= x.ndim
    n = x.shape[axis]
    kb = x.builder
    red_shape = reduced_shape(x.shape, (axis,), True)

    def at(i: Sequence[Expr], r: Expr | int) -> tuple:
        return _insert(i, axis, r, True)

    mx = kb.compute(
        red_shape, lambda *i: max_(lambda r: x[at(i, r)], (n,)), f"{name}_max", tag="softmax_max"
    )
    total = kb.compute(
        red_shape,
        lambda *i: sum_(lambda r: exp(x[at(i, r)] - mx[at(i, 0)]), (n,)),
        f"{name}_sum",
        tag="softmax_sum",
    )
    return kb.compute(
        x.shape,
        lambda *i: x[i] - mx[at(i, 0)] - log(total[at(i, 0)]),
        name,
        tag="softmax_output",
    )


def hardmax(x: Tensor, axis: int = -1, name: str = "hardmax") -> Tensor:
    """1 at the first maximum along ``axis``, 0 elsewhere."""
    axis %= x.ndim
    idx = arg_reduce(x, axis, True, True, False, f"{name}_index")

    def body(*i: Expr) -> Expr:
        hit = cast(i[axis], i64).eq(idx[_insert(i, axis, 0, True)])
        return select(hit, const(1.0, x.dtype), const(0.0, x.dtype))

    return x.builder.compute(x.shape, body, name, tag="injective", dtype=x.dtype)
