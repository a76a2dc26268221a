"""Reductions in ``tir-vectorize``: per-lane vector accumulators and their final combine.

A loop body ``acc[c] = acc[c] <op> f(iv)`` (``vectorize_analysis.Reduction``) is widened
with its load of ``acc[c]`` replaced by a vector accumulator that starts at the neutral
element of ``op``; after the loop, :func:`finish` combines the lanes with one
``vector.reduction`` and folds the result into ``acc[c]`` with the scalar ``op``.
"""

from __future__ import annotations

import math as pymath

from xdsl.dialects import arith, math, memref, vector
from xdsl.dialects.builtin import AnyFloat, FloatAttr, IntegerAttr, IntegerType, VectorType
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.tir import ForOp
from xtvm.passes.tir.vectorize_analysis import LoopInfo, Reduction


def identity_vector(r: Reduction, width: int, point: InsertPoint) -> SSAValue:
    """A vector of the reduction's neutral element."""
    t = r.element_type
    kind = r.kind
    if isinstance(t, AnyFloat):
        v = {"add": -0.0, "mul": 1.0}.get(kind, pymath.inf if "min" in kind else -pymath.inf)
        attr: FloatAttr | IntegerAttr = FloatAttr(v, t)
    else:
        assert isinstance(t, IntegerType)
        bits = t.width.data
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        attr = IntegerAttr({"mul": 1, "and": -1, "maxsi": lo, "minsi": hi}.get(kind, 0), t)
    c = arith.ConstantOp(attr)
    b = vector.BroadcastOp(c.result, VectorType(t, [width]))
    Rewriter.insert_op([c, b], point)
    return b.vector


def finish(r: Reduction, acc: SSAValue, index: list[SSAValue], point: InsertPoint) -> None:
    """``buf[index] = buf[index] <op> (lanes of acc combined)``."""
    t = r.element_type
    flag = vector.CombiningKindFlag(r.kind)
    lanes = vector.ReductionOp.create(
        operands=[acc],
        result_types=[t],
        properties={"kind": vector.CombiningKindAttr(flag)},
    )
    cur = memref.LoadOp.get(r.load.memref, index)
    comb = r.combine
    new = comb.create(
        operands=[cur.res, lanes.results[0]],
        result_types=[t],
        properties=dict(comb.properties),
        attributes=dict(comb.attributes),
    )
    Rewriter.insert_op(
        [lanes, cur, new, memref.StoreOp.get(new.results[0], r.load.memref, index)], point
    )


def hoist(loop: ForOp, values: list[SSAValue], point: InsertPoint, done: dict) -> list[SSAValue]:
    """``values`` recomputed before the loop (the analysis checked they can be)."""
    out = []
    for v in values:
        op = v.owner
        if isinstance(op, Operation) and loop.is_ancestor(op):
            if v not in done:
                hoist(loop, list(op.operands), point, done)
                new = op.clone(value_mapper=done)
                Rewriter.insert_op(new, point)
                done.update(zip(op.results, new.results))
            out.append(done[v])
        else:
            out.append(v)
    return out


def accumulators_for(info: LoopInfo, requested: int) -> int:
    """Vector accumulators per reduction: ``requested``, or 4 for a light body (hiding the
    latency of the combining op) and 2 for a heavy one (keeping its temporaries in
    registers)."""
    if requested > 0:
        return requested
    work = sum(_cost(op) for op in info.ops)
    return 4 if work <= 6 else 2


def _cost(op: Operation) -> int:
    """Rough vector instructions per lane group of one body op."""
    if isinstance(op, memref.LoadOp | memref.StoreOp):
        return 0
    return 20 if isinstance(op, math.ExpOp) else 1
