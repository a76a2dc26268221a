"""``relay-to-graph-normal-form``: ``relay.let`` back to dataflow (Relay's ToGraphNormalForm).

Expects: relay in ``func.func`` bodies, in let form (``relay-to-a-normal-form``'s output, or
written by hand) or already dataflow; lets may sit in any region (``relay.if``, ``relay.fn``).
Guarantees: no ``relay.let`` remains. Each let's body ops move in front of it with the bound
variable replaced by the let's value, and the let's results become what its body yielded, so
a value bound once and used twice is one SSA value with two uses: the graph passes (folding,
CSE, fusion, layout) see an ordinary dataflow graph. Nothing else changes.

The walk is iterative: a let form nests one region per binding, thousands deep for a large
model, deeper than Python's recursion allows a recursive visitor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.relay.functional import LetOp
from xtvm.passes.registry import register_pass


def _children(op: Operation) -> list[Operation]:
    return [o for r in op.regions for b in r.blocks for o in b.ops]


def walk_ops(root: Operation) -> Iterator[Operation]:
    """Every op nested in ``root`` (not ``root``), parents before children, without recursion.

    The list of children is taken when the parent is reached, so moving ops out of a region
    being walked (as the passes here do) neither skips nor repeats one.
    """
    stack = [iter(_children(root))]
    while stack:
        op = next(stack[-1], None)
        if op is None:
            stack.pop()
            continue
        yield op
        if op.regions:
            stack.append(iter(_children(op)))


def dissolve_let(let: LetOp) -> None:
    """Replace ``let`` by its body, in place: the variable becomes the value."""
    term = let.block.last_op
    assert term is not None
    Rewriter.inline_block(let.block, InsertPoint.before(let), [let.value])
    values = list(term.operands)  # read after inlining: the body may yield the variable
    Rewriter.erase_op(term)
    Rewriter.replace_op(let, [], values)


def to_graph_normal_form(root: Operation) -> int:
    """Dissolve every ``relay.let`` nested in ``root``; the count."""
    lets = [op for op in walk_ops(root) if type(op) is LetOp]
    # outermost first: an inner let's ops move out with its parent's body, then dissolve
    for let in lets:
        dissolve_let(let)
    return len(lets)


@register_pass
@dataclass(frozen=True)
class RelayToGraphNormalFormPass(ModulePass):
    """Let form to dataflow (see the module docstring)."""

    name = "relay-to-graph-normal-form"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        to_graph_normal_form(op)
