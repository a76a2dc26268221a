"""Integer forms of resize maps, found from the map itself (a numpy array of every output's
input index and weight along one dim, known at compile time).

A nearest map ``(k * j + o) // s`` (integer up- or downsampling) replaces per-element float
coordinate math by one integer expression, which a split by ``s`` turns into plain loop
variables. A linear map that repeats every ``s`` outputs (integer upsampling) becomes
``j // s + offsets[j % s]`` with constant weights per phase ``j % s``: affine reads once the
borders read an edge-padded input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import f32

from xtvm.topi.expr import Expr, const, index
from xtvm.topi.intrin import select

MAX_PHASES = 8  # longer periods would make long select chains; they keep the generic form


def integer_form(want: np.ndarray, n: int) -> tuple[int, int, int] | None:
    """``(s, k, o)`` with ``want[j] == (k * j + o) // s`` for every output ``j`` (``o >= 0``,
    so truncating division is floor division): ``j // s`` for an upsampling by ``s``,
    ``k * j + o`` for a downsampling by ``k``."""
    out = len(want)
    j = np.arange(out)
    if out >= n:
        cands = [(out // n, 1, o) for o in range(out // n)]
    else:
        k = int(want[1] - want[0]) if out > 1 else 1
        cands = [(1, k, int(want[0]))]
    for s, k, o in cands:
        if k >= 0 and o >= 0 and np.array_equal((k * j + o) // s, want):
            return s, k, o
    return None


@dataclass(frozen=True)
class PhasedTaps:
    """Linear taps along a dim upsampled by ``s``: output ``j`` blends input
    ``j // s + offsets[p]`` and the next one with weights ``lo[p]``/``hi[p]`` of its phase
    ``p = j % s``, read from the input edge-padded by ``pad_before``/``pad_after``."""

    s: int
    offsets: tuple[int, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    pad_before: int
    pad_after: int

    def taps(self, j: Expr) -> tuple[list[Expr], list[Expr | None], None]:
        """(padded-input indices, weights, no out-of-roi flag) of output ``j``."""
        q, p = j // self.s, j % self.s

        def pick(values: Sequence[Any], dtype: Any) -> Expr:
            v = const(values[-1], dtype)
            for t in range(len(values) - 2, -1, -1):
                v = select(p.eq(t), const(values[t], dtype), v)
            return v

        i0 = q + pick([d + self.pad_before for d in self.offsets], index)
        return [i0, i0 + 1], [pick(self.lo, f32), pick(self.hi, f32)], None


def _blend(n: int, idx: list[np.ndarray], ws: list[np.ndarray]) -> dict[int, float]:
    """Every output's taps as ``{output * n + input: summed weight}`` (inputs edge-clamped)."""
    out = np.arange(len(idx[0]))
    keys = np.concatenate([out * n + np.clip(i, 0, n - 1) for i in idx])
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=np.concatenate(ws).astype(np.float64))
    return {int(k): float(w) for k, w in zip(uniq, sums) if w != 0.0}


def phased_form(base: np.ndarray, w1: np.ndarray, n: int) -> PhasedTaps | None:
    """The phase form of a linear map (output ``j`` blends inputs ``base[j]`` and
    ``base[j] + 1``, clamped, with weights ``1 - w1[j]`` and ``w1[j]``) upsampling ``n`` by
    an integer, if it blends the same inputs with the same weights at every output (to
    float32 rounding where the two clamped taps coincide, at the borders)."""
    out = len(base)
    s = out // n
    if s < 2 or out != s * n or n < 4 or s > MAX_PHASES:
        return None
    mid = n // 2
    offsets = [int(base[s * mid + p]) - mid for p in range(s)]
    hi = [float(w1[s * mid + p]) for p in range(s)]
    lo = [float(np.float32(1) - np.float32(w)) for w in hi]
    j = np.arange(out)
    i0 = j // s + np.array(offsets)[j % s]
    want = _blend(n, [base, base + 1], [1.0 - w1.astype(np.float64), w1])
    got = _blend(n, [i0, i0 + 1], [np.array(lo)[j % s], np.array(hi)[j % s]])
    if want.keys() != got.keys() or any(abs(want[k] - got[k]) > 1e-6 for k in want):
        return None
    pl, pr = max(0, -min(offsets)), max(0, max(offsets) + 1)
    return PhasedTaps(s, tuple(offsets), tuple(lo), tuple(hi), pl, pr)
