"""Matrix products: ``dense`` (x @ w.T, TVM's layout) and numpy-style ``batch_matmul``."""

from __future__ import annotations

import numpy as np

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import sum_


def dense(x: Tensor, w: Tensor, name: str = "dense") -> Tensor:
    """``out[..., j] = sum_k x[..., k] * w[j, k]``; x is ``[..., K]``, w is ``[N, K]``."""
    k = x.shape[-1]
    nout, kw = w.shape
    if kw != k:
        raise ValueError(f"dense: reduction dims differ: {x.shape} vs {w.shape}")

    def body(*i: Expr) -> Expr:
        return sum_(lambda r: x[(*i[:-1], r)] * w[i[-1], r], (k,))

    return x.builder.compute((*x.shape[:-1], nout), body, name, tag="dense")


def dense_pack(x: Tensor, wp: Tensor, name: str = "dense_pack") -> Tensor:
    """``dense`` with the weight in packed panels: ``wp[j // bn, k, j % bn] = w[j, k]``.

    ``wp`` is ``[N/bn, K, bn]``: the ``bn`` outputs a vector register holds are contiguous
    for every ``k``, which is what register-blocked x86 schedules stream through.
    """
    k = x.shape[-1]
    nblocks, kw, bn = wp.shape
    if kw != k:
        raise ValueError(f"dense_pack: reduction dims differ: {x.shape} vs {wp.shape}")

    def body(*i: Expr) -> Expr:
        j = i[-1]
        return sum_(lambda r: x[(*i[:-1], r)] * wp[j // bn, r, j % bn], (k,))

    return x.builder.compute((*x.shape[:-1], nblocks * bn), body, name, tag="dense_pack")


def batch_matmul(a: Tensor, b: Tensor, name: str = "batch_matmul") -> Tensor:
    """numpy ``matmul`` for rank >= 2: ``[..., M, K] x [..., K, N]``, batch dims broadcast."""
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if k != k2:
        raise ValueError(f"batch_matmul: inner dims differ: {a.shape} x {b.shape}")
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    nb = len(batch)

    def batch_idx(t: Tensor, i: tuple[Expr, ...]) -> list[Expr | int]:
        tb = t.shape[:-2]
        off = nb - len(tb)
        return [0 if s == 1 and batch[off + d] != 1 else i[off + d] for d, s in enumerate(tb)]

    def body(*i: Expr) -> Expr:
        bi = i[:nb]
        row, col = i[nb], i[nb + 1]
        ba, bb = batch_idx(a, bi), batch_idx(b, bi)
        return sum_(lambda r: a[(*ba, row, r)] * b[(*bb, r, col)], (k,))

    return a.builder.compute((*batch, m, n), body, name, tag="batch_matmul")
