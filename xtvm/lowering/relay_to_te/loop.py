"""``relay.loop`` -> ``scf.while`` in the graph function (for ``convert-relay-to-te``).

``scf.while (%i = 0, %c = c0, %v.. = init.., %acc.. = tensor.empty) : (i64, i1, T.., S..)``:
the before region tests ``i < trip`` (and ``c`` when the loop has a condition); the after
region is the lowered body (its ``te.call``s), which reads the iteration and condition as
``tensor.from_elements`` of the scalars, inserts each row into its stacked result with
``tensor.insert_slice`` at ``[i, 0, ..]`` and yields ``i + 1``, the extracted next condition,
the next carried values and the updated stacks. One form for every loop (no separate
``scf.for``): a static trip count is just a constant bound.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, scf, tensor
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, IntegerAttr, TensorType, i1, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay

UNBOUNDED = 2**63 - 1


def separate_swaps(op: relay.LoopOp) -> None:
    """A carried value yielded from another position's argument (a swap) gets a copy in the
    body, so that writing the next values back never overwrites one still to be read."""
    block = op.block
    term = block.last_op
    assert isinstance(term, relay.YieldOp)
    for k in range(len(op.inits)):
        v = term.values[1 + k]
        if v in block.args and v is not block.args[2 + k]:
            copy = relay.ReshapeOp(v, relay.shape_of(v))
            Rewriter.insert_op(copy, InsertPoint.before(term))
            term.operands[1 + k] = copy.result


def _extract(v: SSAValue, elt: TensorType | object, ip: InsertPoint) -> SSAValue:
    """The one element of a one-element tensor, as a scalar."""
    t = v.type
    assert isinstance(t, TensorType)
    indices = []
    for _ in t.get_shape():
        zero = arith.ConstantOp(IntegerAttr(0, IndexType()), IndexType())
        Rewriter.insert_op(zero, ip)
        indices.append(zero.result)
    op = tensor.ExtractOp(v, indices, t.element_type)
    Rewriter.insert_op(op, ip)
    return op.result


def _zeros(t: Attribute) -> np.ndarray:
    return np.zeros(relay.shape_of(t), relay.numpy_dtype_of(relay.elt_of(t)))


def lower_loop(op: relay.LoopOp) -> None:
    """Replace a ``relay.loop`` whose body is already lowered by an ``scf.while``."""
    ip = InsertPoint.before(op)

    def insert(new: Operation) -> SSAValue:
        Rewriter.insert_op(new, ip)
        return new.results[0]

    if op.trip is not None:
        trip = _extract(op.trip, i64, ip)
    else:
        n = op.static_trips
        trip = insert(arith.ConstantOp(IntegerAttr(UNBOUNDED if n is None else n, i64), i64))
    if op.cond is not None:
        c0 = _extract(op.cond, i1, ip)
    else:
        c0 = insert(arith.ConstantOp(IntegerAttr(1, i1), i1))
    zero = insert(arith.ConstantOp(IntegerAttr(0, i64), i64))
    # rows of iterations an early exit skips are zero (a bounded tensor's padding)
    empties = [
        insert(arith.ConstantOp(relay.ConstantOp.from_numpy(_zeros(r.type)).value, r.type))
        if op.cond is not None
        else insert(tensor.EmptyOp([], r.type))
        for r in op.stacked
    ]
    types = [i64, i1, *[v.type for v in op.inits], *[r.type for r in op.stacked]]
    n_carried = len(op.inits)

    before = Block(arg_types=types)
    lt = arith.CmpiOp(before.args[0], trip, "slt")
    before.add_op(lt)
    go = lt.result
    if op.cond is not None:
        both = arith.AndIOp(lt.result, before.args[1])
        before.add_op(both)
        go = both.result
    before.add_op(scf.ConditionOp(go, *before.args))

    after = Block(arg_types=types)
    it = tensor.FromElementsOp(after.args[0], result_type=relay.INDEX_TYPE)
    ct = tensor.FromElementsOp(after.args[1], result_type=relay.COND_TYPE)
    it.result.name_hint, ct.result.name_hint = "iter", "cond"
    after.add_ops([it, ct])
    old = op.block
    old.args[0].replace_all_uses_with(it.result)
    old.args[1].replace_all_uses_with(ct.result)
    for k in range(n_carried):
        old.args[2 + k].replace_all_uses_with(after.args[2 + k])
        after.args[2 + k].name_hint = old.args[2 + k].name_hint
    term = old.last_op
    assert isinstance(term, relay.YieldOp)
    values = list(term.values)
    for inner in list(old.ops)[:-1]:
        inner.detach()
        after.add_op(inner)
    end = InsertPoint.at_end(after)
    next_cond = _extract(values[0], i1, end)
    idx = arith.IndexCastOp(after.args[0], IndexType())
    after.add_op(idx)
    stacks = []
    for j, row in enumerate(values[1 + n_carried :]):
        dest = after.args[2 + n_carried + j]
        rank = len(relay.shape_of(row))
        ins = tensor.InsertSliceOp.get(
            row,
            dest,
            static_sizes=[1, *relay.shape_of(row)],
            static_offsets=[DYNAMIC_INDEX, *[0] * rank],
            offsets=[idx.result],
            result_type=dest.type,
        )
        after.add_op(ins)
        stacks.append(ins.result)
    one = arith.ConstantOp(IntegerAttr(1, i64), i64)
    step = arith.AddiOp(after.args[0], one.result)
    after.add_ops([one, step])
    after.add_op(scf.YieldOp(step.result, next_cond, *values[1 : 1 + n_carried], *stacks))

    new = scf.WhileOp([zero, c0, *op.inits, *empties], types, Region(before), Region(after))
    for old_r, new_r in zip(op.outputs, new.results[2:]):
        new_r.name_hint = old_r.name_hint
    Rewriter.insert_op(new, ip)
    Rewriter.replace_op(op, [], list(new.results[2:]))
