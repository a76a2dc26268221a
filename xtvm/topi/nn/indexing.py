"""Index-driven computes: take, gather_elements, scatter_nd, tile, broadcast_to.

Indices are data read at run time, so every index is normalized (negative counts from the
end) and clamped into range before it addresses a buffer: reads never leave their tensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import i64
from xdsl.ir import Attribute

from xtvm.dialects.relay.base import numpy_dtype_of
from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, as_expr, index, is_float
from xtvm.topi.intrin import cast, clamp, max_, min_, prod_, select, sum_
from xtvm.topi.nn.elementwise import broadcast_index


def safe_index(value: Expr, size: int) -> Expr:
    """An index element as an in-bounds ``index``: ``v + size`` if negative, then clamped."""
    v = cast(value, i64)
    v = select(v < 0, v + size, v)
    return cast(clamp(v, 0, size - 1), index)


def take(data: Tensor, indices: Tensor, axis: int, name: str = "take") -> Tensor:
    """``out[a.., j.., b..] = data[a.., indices[j..], b..]``."""
    k = indices.ndim
    shape = data.shape[:axis] + indices.shape + data.shape[axis + 1 :]

    def body(*i: Expr) -> Expr:
        pos = safe_index(indices[list(i[axis : axis + k])], data.shape[axis])
        return data[[*i[:axis], pos, *i[axis + k :]]]

    return data.builder.compute(shape, body, name, tag="injective")


def gather_elements(data: Tensor, indices: Tensor, axis: int, name: str = "gather") -> Tensor:
    """``out[i] = data[i with i[axis] replaced by indices[i]]``."""

    def body(*i: Expr) -> Expr:
        pos = safe_index(indices[list(i)], data.shape[axis])
        return data[[*i[:axis], pos, *i[axis + 1 :]]]

    return data.builder.compute(indices.shape, body, name, tag="injective")


def _row_major(extents: Sequence[int], axes: Sequence[Expr]) -> Expr | int:
    flat: Expr | int = 0
    for ax, n in zip(axes, extents):
        flat = flat * n + ax
    return flat


def _matches(indices: Tensor, data: Tensor, r: Sequence[Expr], p: Sequence[Expr]) -> Expr:
    """Whether index tuple ``r`` addresses the leading data position ``p``."""
    hit: Expr | None = None
    for t in range(indices.shape[-1]):
        same = safe_index(indices[[*r, t]], data.shape[t]).eq(p[t])
        hit = same if hit is None else hit & same
    assert hit is not None
    return hit


def _reduce_over(lead: Sequence[int], kind: str, fbody, dtype) -> Expr:
    """``kind``-reduce ``fbody`` over the index list (no reduction for a single index tuple)."""
    if not lead:
        return as_expr(fbody(), dtype)
    return {"max": max_, "min": min_, "sum": sum_, "prod": prod_}[kind](fbody, lead, dtype=dtype)


def scatter_nd(
    data: Tensor, indices: Tensor, updates: Tensor, reduction: str = "none", name: str = "scatter"
) -> Tensor:
    """ScatterND as two stages, so indices may be run-time data.

    ``none``: ``src[p]`` (over the ``k`` leading data dims) is the largest update number ``m``
    whose index tuple addresses ``p``, or -1 (a max-reduction over the index list, which makes
    the last of duplicate updates win); the output reads ``updates[m]`` where ``m >= 0`` and
    ``data`` elsewhere. ``add``/``mul``/``max``/``min``: a reduction over the index list of
    the matching updates (the identity elsewhere) is combined with ``data``. Cost: one pass
    over the index list per output position."""
    k = indices.shape[-1]
    lead = indices.shape[:-1]
    if reduction != "none":
        ident, kind, combine = _SCATTER_REDUCE[reduction](data.dtype)

        def acc_body(*i: Expr) -> Expr:
            def term(*r: Expr) -> Expr:
                return select(_matches(indices, data, r, i[:k]), updates[[*r, *i[k:]]], ident)

            return _reduce_over(lead, kind, term, data.dtype)

        acc = data.builder.compute(data.shape, acc_body, f"{name}_acc", dtype=data.dtype)
        return data.builder.compute(
            data.shape, lambda *i: combine(data[list(i)], acc[list(i)]), name, tag="injective"
        )

    def find(*p: Expr) -> Expr:
        def number(*r: Expr) -> Expr:
            return select(_matches(indices, data, r, p), cast(_row_major(lead, r), i64), -1)

        return _reduce_over(lead, "max", number, i64)

    src = data.builder.compute(data.shape[:k], find, f"{name}_src", dtype=i64)

    def body(*i: Expr) -> Expr:
        m = src[list(i[:k])]
        rest: Expr | int = cast(max_(m, 0), index)
        pos: list[Expr | int] = []
        for d, n in reversed(list(enumerate(lead))):
            pos.insert(0, rest % n if d > 0 else rest)
            rest = rest // n
        return select(m >= 0, updates[[*pos, *i[k:]]], data[list(i)])

    return data.builder.compute(data.shape, body, name, tag="injective")


def _limits(dtype: Attribute) -> tuple[float | int, float | int]:
    if is_float(dtype):
        return -math.inf, math.inf
    info = np.iinfo(numpy_dtype_of(dtype))
    return int(info.min), int(info.max)


_SCATTER_REDUCE: dict[str, Callable[[Attribute], tuple[Any, str, Callable]]] = {
    "add": lambda t: (0.0 if is_float(t) else 0, "sum", lambda a, b: a + b),
    "mul": lambda t: (1.0 if is_float(t) else 1, "prod", lambda a, b: a * b),
    "max": lambda t: (_limits(t)[0], "max", max_),
    "min": lambda t: (_limits(t)[1], "min", min_),
}


def tile(data: Tensor, reps: Sequence[int], name: str = "tile") -> Tensor:
    """``out[i] = data[i % shape]``."""
    shape = tuple(n * r for n, r in zip(data.shape, reps))

    def body(*i: Expr) -> Expr:
        return data[[ax if r == 1 else ax % n for ax, n, r in zip(i, data.shape, reps)]]

    return data.builder.compute(shape, body, name, tag="injective")


def broadcast_to(data: Tensor, shape: Sequence[int], name: str = "broadcast_to") -> Tensor:
    """numpy broadcasting of ``data`` to ``shape``."""
    shape = tuple(int(d) for d in shape)
    return data.builder.compute(
        shape, lambda *i: data[broadcast_index(data, shape, i)], name, tag="broadcast"
    )


def gather_nd(data: Tensor, indices: Tensor, batch_dims: int, name: str = "gather_nd") -> Tensor:
    """``out[b.., m.., r..] = data[b.., indices[b.., m..], r..]``."""
    k = indices.shape[-1]
    lead = indices.ndim - 1
    shape = indices.shape[:-1] + data.shape[batch_dims + k :]

    def body(*i: Expr) -> Expr:
        tup = [safe_index(indices[[*i[:lead], t]], data.shape[batch_dims + t]) for t in range(k)]
        return data[[*i[:batch_dims], *tup, *i[lead:]]]

    return data.builder.compute(shape, body, name, tag="injective")


def scatter_elements(
    data: Tensor,
    indices: Tensor,
    updates: Tensor,
    axis: int,
    reduction: str = "none",
    name: str = "scatter",
) -> Tensor:
    """ScatterElements as two stages (run-time indices): for output position ``i`` the
    candidates are the index entries ``j`` equal to ``i`` outside ``axis`` (``i`` must lie
    inside the indices' extent there), so the search runs over the indices' ``axis`` only.
    "none": the largest matching ``j[axis]`` wins (the last in row-major order)."""
    n = indices.shape[axis]
    inside_dims = [d for d in range(data.ndim) if d != axis and indices.shape[d] < data.shape[d]]

    def entry(i: Sequence[Expr], r: Expr) -> list[Expr]:
        # the index entry with i's coordinates outside axis (clamped) and r on axis
        return [
            r if d == axis else (clamp(ax, 0, indices.shape[d] - 1) if d in inside_dims else ax)
            for d, ax in enumerate(i)
        ]

    def inside(i: Sequence[Expr]) -> Expr | bool:
        ok: Expr | bool = True
        for d in inside_dims:
            c = i[d] < indices.shape[d]
            ok = c if ok is True else ok & c
        return ok

    def hits(i: Sequence[Expr], r: Expr) -> Expr:
        e = entry(i, r)
        same = safe_index(indices[e], data.shape[axis]).eq(i[axis])
        ok = inside(i)
        return same if ok is True else same & ok

    if reduction != "none":
        ident, kind, combine = _SCATTER_REDUCE[reduction](data.dtype)

        def acc_body(*i: Expr) -> Expr:
            return _reduce_over(
                (n,), kind, lambda r: select(hits(i, r), updates[entry(i, r)], ident), data.dtype
            )

        acc = data.builder.compute(data.shape, acc_body, f"{name}_acc", dtype=data.dtype)
        return data.builder.compute(
            data.shape, lambda *i: combine(data[list(i)], acc[list(i)]), name, tag="injective"
        )

    def find(*i: Expr) -> Expr:
        return _reduce_over((n,), "max", lambda r: select(hits(i, r), cast(r, i64), -1), i64)

    src = data.builder.compute(data.shape, find, f"{name}_src", dtype=i64)

    def body(*i: Expr) -> Expr:
        m = src[list(i)]
        pos = entry(i, cast(max_(m, 0), index))
        return select(m >= 0, updates[pos], data[list(i)])

    return data.builder.compute(data.shape, body, name, tag="injective")
