"""``relay-to-a-normal-form``: dataflow to let form (Relay's ToANormalForm).

Expects: relay in ``func.func`` bodies, dataflow, let form or a mix (any stage before
``relay-fuse-ops``; ``relay.fused`` groups are left alone, they are kernels).
Guarantees: in every block (function bodies, ``relay.if`` branches, ``relay.fn`` and
``relay.let`` bodies) each result of a non-trivial op is bound by a ``relay.let`` placed right
after the op, and every other use reads the let's variable; the rest of the block moves into
that let's body, so the nesting of lets is the order of evaluation and the scope of each
variable is explicit. A value used twice is bound once. Trivial values (constants, function
parameters, let variables) are not bound; an unused result is not bound. The block's
terminator yields the outermost let's results, and each let body yields the next one's, so
the program computes the same values. The pass is idempotent.

This is the form automatic differentiation and other language-level passes work on;
``relay-to-graph-normal-form`` is its inverse (up to the order of independent ops).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.traits import IsTerminator

from xtvm.dialects.relay.base import ConstantOp
from xtvm.dialects.relay.functional import LetOp
from xtvm.dialects.relay.fused import FusedOp, YieldOp
from xtvm.passes.registry import register_pass

# Frames xDSL's recursive verifier and printer spend per nested region, with margin.
_FRAMES_PER_LET = 12


def _is_trivial(op: Operation) -> bool:
    """Atoms in Relay's sense: constants are values, not computations."""
    return isinstance(op, ConstantOp) or not op.results


def _already_bound(value: SSAValue) -> bool:
    """``value`` is used once, as the value of a ``relay.let`` (the pass's own output)."""
    uses = list(value.uses)
    return len(uses) == 1 and isinstance(uses[0].operation, LetOp) and uses[0].index == 0


def _in_tail(op: Operation, term: Operation) -> bool:
    """A let whose results are exactly what the block returns is in tail position."""
    return isinstance(op, LetOp) and list(term.operands) == list(op.results)


def _bind(value: SSAValue, result_types: list) -> LetOp:
    let = LetOp.build(value, result_types, value.name_hint)
    value.replace_uses_with_if(let.var, lambda use: use.operation is not let)
    return let


def a_normal_form_block(block: Block, worklist: list[Block]) -> int:
    """Bind the block's values with nested lets (see the module docstring); the let count.
    Blocks of nested regions go onto ``worklist``, not into a recursive call."""
    ops = list(block.ops)
    if not ops or not ops[-1].has_trait(IsTerminator):
        return 0
    term = ops[-1]
    result_types = [v.type for v in term.operands]
    # segments[k]: the ops that go into the body of lets[k - 1] (segment 0 stays in block)
    segments: list[list[Operation]] = [[]]
    lets: list[LetOp] = []
    for op in ops[:-1]:
        segments[-1].append(op)
        if not isinstance(op, FusedOp):
            worklist.extend(b for r in op.regions for b in r.blocks)
        if _is_trivial(op) or _in_tail(op, term):
            continue
        for r in op.results:
            if r.uses and not _already_bound(r):
                lets.append(_bind(r, result_types))
                segments[-1].append(lets[-1])
                segments.append([])
    if not lets:
        return 0
    # Assemble innermost first, each body filled while its let is still unattached: xDSL
    # checks for cycles on every insertion by walking up the parents, which would make
    # building a deep nest from the outside quadratic.
    # Uses in the terminator were rewritten to the innermost variables: yield them there.
    inner_values = list(term.operands)
    for k in range(len(lets), 0, -1):
        body = lets[k - 1].block
        for op in segments[k]:
            if op.parent is not None:  # the inner let is not attached yet
                op.detach()
            body.add_op(op)
        body.add_op(YieldOp(*inner_values))
        inner_values = list(lets[k - 1].results)
    term.detach()
    block.add_op(lets[0])
    term.operands = inner_values
    block.add_op(term)
    return len(lets)


def to_a_normal_form(module: ModuleOp) -> int:
    """Let-bind every non-trivial value of every function in ``module``; the let count."""
    worklist = [b for f in module.ops if isinstance(f, FuncOp) for r in f.regions for b in r.blocks]
    count = 0
    while worklist:
        count += a_normal_form_block(worklist.pop(), worklist)
    # Worked around, not fixed: xDSL verifies and prints regions recursively, a few frames
    # per nesting level, and a let form nests one region per binding.
    need = 1000 + _FRAMES_PER_LET * count
    if sys.getrecursionlimit() < need:
        sys.setrecursionlimit(need)
    return count


@register_pass
@dataclass(frozen=True)
class RelayToANormalFormPass(ModulePass):
    """Dataflow to let form (see the module docstring)."""

    name = "relay-to-a-normal-form"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        to_a_normal_form(op)
