"""``relay-dce``: erase relay ops whose results are never used.

Expects: relay in ``func.func`` bodies (any stage; ``relay.fused`` groups may be present).
Guarantees: at the top level of every function body, each relay op (tensor ops,
``relay.constant``, ``relay.fused`` groups) has at least one used result; whole dead chains
go in one backward sweep. Ops inside ``relay.fused`` regions are untouched (a group is kept
whole while any of its outputs is used). Relay ops are pure, so nothing observable is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from xtvm.passes.registry import register_pass
from xtvm.passes.relay.rewrite_utils import erase_dead_ops, function_blocks


@register_pass
@dataclass(frozen=True)
class RelayDcePass(ModulePass):
    """Erase unused relay ops at the top level of function bodies (see the module docstring)."""

    name = "relay-dce"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for block in list(function_blocks(op)):
            erase_dead_ops(block)
