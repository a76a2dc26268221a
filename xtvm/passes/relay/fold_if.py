"""``relay-fold-if``: a ``relay.if`` whose condition is a constant becomes its taken branch.

Expects: relay in ``func.func`` bodies (any stage before ``convert-relay-to-te``).
Guarantees: no ``relay.if`` has a ``relay.constant`` condition: the taken region's ops move
in front of it (they may read the same outer values there, so nothing else changes) and its
results become the values that region yielded. ``relay-fold-constant`` does the same as it
folds, so a condition that only becomes constant by folding (a shape comparison) goes too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay
from xtvm.passes.registry import register_pass


def constant_condition(op: relay.IfOp) -> bool | None:
    """The condition's value when it is a ``relay.constant``, else None."""
    owner = op.cond.owner
    if not isinstance(owner, relay.ConstantOp):
        return None
    return bool(np.asarray(owner.to_numpy()).reshape(-1)[0])


def inline_branch(op: relay.IfOp, taken: bool) -> None:
    """Replace ``op`` by the ops of its ``taken`` region (moved in front of it)."""
    block = op.branch(taken)
    values = list(op.yielded(taken))
    for inner in list(block.ops)[:-1]:
        inner.detach()
        Rewriter.insert_op(inner, InsertPoint.before(op))
    cond = op.cond.owner
    Rewriter.replace_op(op, [], values)
    if isinstance(cond, relay.ConstantOp) and not cond.result.uses:
        Rewriter.erase_op(cond)


def fold_constant_ifs(module: ModuleOp) -> int:
    """Inline every ``relay.if`` with a constant condition (nested ones too); the count."""
    count = 0
    changed = True
    while changed:
        changed = False
        for op in [o for o in module.walk() if isinstance(o, relay.IfOp)]:
            taken = constant_condition(op)
            if taken is not None:
                inline_branch(op, taken)
                count += 1
                changed = True
                break  # the walk's list may hold ops of the erased region
    return count


@register_pass
@dataclass(frozen=True)
class RelayFoldIfPass(ModulePass):
    """Inline conditionals on constants (see the module docstring)."""

    name = "relay-fold-if"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        fold_constant_ifs(op)
