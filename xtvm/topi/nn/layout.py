"""``layout_transform``: the same tensor in another layout (TVM notation, ``NCHW`` <-> ``NCHW16c``).

An injective compute: each output element reads one input element. The output index gives
every primal axis's index (``C * f + c`` for a split axis), which then splits by the source
layout's factor (``// f`` and ``% f``); axes whose factor is the same on both sides map
straight through, so ``NCHW8c -> NCHW`` reads ``x[n, c // 8, h, w, c % 8]``.
"""

from __future__ import annotations

from xtvm.dialects.relay.layout_spec import Layout, transformed_shape
from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr


def layout_transform(x: Tensor, src: str, dst: str, name: str = "layout_transform") -> Tensor:
    """``x`` (in layout ``src``) in layout ``dst``; ``ValueError`` if not defined."""
    shape = transformed_shape(x.shape, src, dst)
    s, d = Layout.parse(src), Layout.parse(dst)

    def body(*i: Expr) -> Expr:
        idx: list[Expr | int] = [0] * s.rank
        for a in s.primal:
            fs, fd = s.factor(a), d.factor(a)
            outer = i[d.index(a)]
            if fs and fs == fd:  # same split on both sides
                idx[s.index(a)] = outer
                idx[s.index(a.lower())] = i[d.index(a.lower())]
                continue
            full = outer * fd + i[d.index(a.lower())] if fd else outer
            if fs:
                idx[s.index(a)] = full // fs
                idx[s.index(a.lower())] = full % fs
            else:
                idx[s.index(a)] = full
        return x[idx]

    return x.builder.compute(shape, body, name, tag="injective")
