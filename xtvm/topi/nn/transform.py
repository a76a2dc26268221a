"""Injective layout operators: reshape, flatten, transpose, concatenate, strided slice."""

from __future__ import annotations

import math
from collections.abc import Sequence

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import max_, min_, select


def _strides(shape: Sequence[int]) -> list[int]:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= s
    return out[::-1]


def reshape(x: Tensor, new_shape: Sequence[int], name: str = "reshape") -> Tensor:
    """Row-major reshape: flatten the output index, unflatten it into the input's dims.

    Leading and trailing dims both shapes share map straight through (a trailing one keeps
    the innermost loop a contiguous copy: ``[1, 3, 52, 52, 85] -> [1, 8112, 85]`` divides
    only the row index); the rest go through one linear index (``//`` and ``%`` on
    non-negative values)."""
    new_shape = tuple(int(d) for d in new_shape)
    src = x.shape
    n_in, n_out = 1, 1
    for d in src:
        n_in *= d
    for d in new_shape:
        n_out *= d
    if n_in != n_out:
        raise ValueError(f"reshape: cannot reshape {src} to {new_shape}")
    short = min(len(src), len(new_shape))
    common = 0
    while common < short and src[common] == new_shape[common]:
        common += 1
    tail = 0
    while common + tail < short and src[-1 - tail] == new_shape[-1 - tail]:
        tail += 1
    mid_out = new_shape[common : len(new_shape) - tail]
    mid_in = src[common : len(src) - tail]

    def body(*i: Expr) -> Expr:
        idx: list[Expr | int] = list(i[:common])
        flat: Expr | int = 0
        for ax, size, stride in zip(i[common : len(i) - tail], mid_out, _strides(mid_out)):
            if size != 1:
                flat = ax * stride + flat if isinstance(flat, Expr) else ax * stride
        for d, (size, stride) in enumerate(zip(mid_in, _strides(mid_in))):
            if size == 1 or not isinstance(flat, Expr):
                idx.append(0)
                continue
            v = flat // stride
            if d > 0:  # the first remaining dim needs no wrap-around
                v = v % size
            idx.append(v)
        idx += list(i[len(i) - tail :])
        return x[idx]

    return x.builder.compute(new_shape, body, name, tag="injective")


def flatten(x: Tensor, axis: int = 1, name: str = "flatten") -> Tensor:
    """Collapse dims [0, axis) and [axis, rank) (ONNX Flatten)."""
    lead, trail = 1, 1
    for d in x.shape[:axis]:
        lead *= d
    for d in x.shape[axis:]:
        trail *= d
    return reshape(x, (lead, trail), name)


def transpose(x: Tensor, perm: Sequence[int] | None = None, name: str = "transpose") -> Tensor:
    """Result dim ``k`` is input dim ``perm[k]``."""
    perm = list(reversed(range(x.ndim))) if perm is None else [p % x.ndim for p in perm]
    shape = tuple(x.shape[p] for p in perm)

    def body(*i: Expr) -> Expr:
        idx: list[Expr | None] = [None] * x.ndim
        for k, p in enumerate(perm):
            idx[p] = i[k]
        return x[idx]

    return x.builder.compute(shape, body, name, tag="injective")


def concatenate(xs: Sequence[Tensor], axis: int, name: str = "concatenate") -> Tensor:
    """Join along ``axis``: each input is read at a clamped index and the right one selected.

    Along the last (contiguous) axis, when the inputs' extents share a factor ``g > 1``, the
    axis is addressed as blocks of ``g``: ``j = g * (j // g) + j % g``, the input is chosen
    and clamped by the block number alone. A schedule that splits the axis by ``g`` then
    sees a choice that is uniform within a block and reads contiguous in ``j % g`` (see
    :func:`xtvm.topi.x86.access.block_split`), so every block is one vector copy."""
    rank = xs[0].ndim
    axis %= rank
    sizes = [t.shape[axis] for t in xs]
    offsets = [sum(sizes[:k]) for k in range(len(xs))]
    total = sum(sizes)
    shape = tuple(total if d == axis else s for d, s in enumerate(xs[0].shape))
    g = math.gcd(*sizes) if axis == rank - 1 and len(xs) > 1 else 1

    def read(t: Tensor, off: int, i: tuple[Expr, ...], block: Expr, lane: Expr | int) -> Expr:
        n = t.shape[axis] // g
        local = block - off // g
        if off > 0:  # positions before this input
            local = max_(local, 0)
        if off + t.shape[axis] < total:  # positions after it
            local = min_(local, n - 1)
        return t[(*i[:axis], local * g + lane, *i[axis + 1 :])]

    def body(*i: Expr) -> Expr:
        block, lane = (i[axis] // g, i[axis] % g) if g > 1 else (i[axis], 0)
        v = read(xs[-1], offsets[-1], i, block, lane)
        for t, off in reversed(list(zip(xs[:-1], offsets[:-1]))):
            v = select(block < (off + t.shape[axis]) // g, read(t, off, i, block, lane), v)
        return v

    return xs[0].builder.compute(shape, body, name, tag="injective")


def strided_slice(
    x: Tensor,
    begin: Sequence[int],
    strides: Sequence[int],
    out_shape: Sequence[int],
    name: str = "strided_slice",
) -> Tensor:
    """Output ``i`` along dim ``d`` reads input ``begin[d] + i * strides[d]`` (in bounds)."""

    def body(*i: Expr) -> Expr:
        return x[[ax * s + b for ax, b, s in zip(i, begin, strides)]]

    return x.builder.compute(tuple(out_shape), body, name, tag="injective")
