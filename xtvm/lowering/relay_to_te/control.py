"""``relay.if`` -> ``scf.if`` in the graph function (for ``convert-relay-to-te``).

The regions' ops are lowered first (groups become ``te.call``s there, as in the function
body); then the conditional becomes xDSL's ``scf.if`` on the condition's one element, read
with ``tensor.extract``, with the same regions ending in ``scf.yield``. Reusing ``scf.if``
keeps the entry's control flow in a dialect ``convert-tir-to-llvm`` already lowers.
"""

from __future__ import annotations

from xdsl.dialects import arith, scf, tensor
from xdsl.dialects.builtin import IndexType, IntegerAttr, TensorType, i1
from xdsl.ir import Region
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay


def lower_if(op: relay.IfOp) -> None:
    """Replace a ``relay.if`` whose regions are already lowered by an ``scf.if``."""
    t = op.cond.type
    assert isinstance(t, TensorType)
    ip = InsertPoint.before(op)
    indices = []
    for _ in t.get_shape():
        zero = arith.ConstantOp(IntegerAttr(0, IndexType()), IndexType())
        Rewriter.insert_op(zero, ip)
        indices.append(zero.result)
    cond = tensor.ExtractOp(op.cond, indices, i1)
    cond.result.name_hint = op.cond.name_hint
    Rewriter.insert_op(cond, ip)
    regions = []
    for block in (op.then_block, op.else_block):
        term = block.last_op
        assert isinstance(term, relay.YieldOp)
        Rewriter.replace_op(term, scf.YieldOp(*term.values))
    for old in (op.then_region, op.else_region):
        region = Region()
        old.move_blocks(region)
        regions.append(region)
    new = scf.IfOp(cond.result, [r.type for r in op.outputs], regions[0], regions[1])
    for old_r, new_r in zip(op.outputs, new.results):
        new_r.name_hint = old_r.name_hint
    Rewriter.replace_op(op, new)
