"""``relay-cse``: merge identical relay computations (TVM's EliminateCommonSubexpr).

Expects: relay in ``func.func`` bodies (any stage; ``relay.fused`` groups may be present).
Guarantees (top level of function bodies only; ``relay.fused`` regions are untouched): no two
relay ops there have the same name, operands, properties, attributes and result types (for
``relay.constant`` the value property holds type and bytes, so identical constants merge
too); every use of a later duplicate reads the first one, and the duplicate is erased.

xDSL's own ``cse`` already treats relay ops this way (they are ``Pure``, and its operation
key compares properties, so equal constants match as well). This pass reuses that key
(``KnownOps``) but walks only function bodies: xDSL's driver also enters the regions of
``relay.fused`` groups and erases every trivially dead op on its way, neither of which a
graph pass should do.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.transforms.common_subexpression_elimination import KnownOps

from xtvm.passes.registry import register_pass
from xtvm.passes.relay.rewrite_utils import function_blocks, is_graph_op


def eliminate_common_subexpressions(block: Block) -> int:
    """Merge duplicate relay ops of ``block`` into their first occurrence; returns the count.

    One forward sweep suffices: an op's operands are rewritten to their representatives
    before the op itself is looked up, so chains of duplicates collapse in order.
    """
    known = KnownOps()
    merged = 0
    for op in list(block.ops):
        if not is_graph_op(op):
            continue
        first = known.get(op)
        if first is None:
            known[op] = op
            continue
        for old, new in zip(op.results, first.results, strict=True):
            old.replace_all_uses_with(new)
        Rewriter.erase_op(op)
        merged += 1
    return merged


@register_pass
@dataclass(frozen=True)
class RelayCsePass(ModulePass):
    """Merge identical relay ops and constants (see the module docstring)."""

    name = "relay-cse"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for block in list(function_blocks(op)):
            eliminate_common_subexpressions(block)
