"""``relay-fold-constant``: evaluate at compile time every relay op whose inputs are constants.

Expects: relay in ``func.func`` bodies (any stage; ``relay.fused`` groups may be present).
Guarantees: no relay op outside a ``relay.fused`` region has only ``relay.constant`` operands
(whole constant subgraphs collapse, e.g. a shape chain or a batch norm of constant weights);
a ``relay.fused`` whose inputs are all constants is replaced by its constant outputs; ops
inside ``relay.fused`` regions are left alone; constants made dead by folding are erased and
identical constants (same type, same bytes) are merged into the first one; a ``relay.if``
whose condition folds to a constant becomes its taken branch (``relay-fold-if``).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from xtvm.dialects import relay
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.evaluate import can_evaluate, evaluate_fused, evaluate_op
from xtvm.passes.relay.fold_if import fold_constant_ifs


def _inside_fused(op: Operation) -> bool:
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, relay.FusedOp):
            return True
        parent = parent.parent_op()
    return False


def _foldable(op: Operation) -> bool:
    if isinstance(op, relay.ConstantOp) or not can_evaluate(op):
        return False
    if not isinstance(op, (relay.RelayOp, relay.FusedOp)):
        return False
    return all(isinstance(v.owner, relay.ConstantOp) for v in op.operands)


def _fold(op: Operation) -> None:
    inputs = [v.owner.to_numpy() for v in op.operands]  # type: ignore[union-attr]
    if isinstance(op, relay.FusedOp):
        values = evaluate_fused(op, inputs)
    else:
        values = [evaluate_op(op, inputs)]
    consts = [relay.ConstantOp.from_numpy(v) for v in values]
    producers = {v.owner for v in op.operands}
    Rewriter.replace_op(op, consts, [c.result for c in consts])
    for p in producers:
        if isinstance(p, Operation) and not p.results[0].uses:
            Rewriter.erase_op(p)


def _fold_block(block: Block) -> bool:
    changed = False
    for op in list(block.ops):
        if op.parent is block and _foldable(op):
            _fold(op)
            changed = True
    return changed


def _dedupe_constants(block: Block) -> None:
    seen: dict[tuple[object, bytes], relay.ConstantOp] = {}
    for op in list(block.ops):
        if not isinstance(op, relay.ConstantOp):
            continue
        key = (op.result.type, op.value.data.data)
        first = seen.setdefault(key, op)
        if first is not op:
            op.result.replace_all_uses_with(first.result)
            Rewriter.erase_op(op)


@register_pass
@dataclass(frozen=True)
class RelayFoldConstantPass(ModulePass):
    """Fold constant relay subgraphs into ``relay.constant`` (see the module docstring)."""

    name = "relay-fold-constant"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        while True:
            blocks = [
                b
                for inner in op.walk()
                if not isinstance(inner, relay.FusedOp) and not _inside_fused(inner)
                for region in inner.regions
                for b in region.blocks
            ]
            for block in blocks:
                while _fold_block(block):
                    pass
                _dedupe_constants(block)
            # a relay.if on a now-constant condition becomes its taken branch, whose ops
            # may fold in turn
            if not fold_constant_ifs(op):
                break
