"""Helpers shared by the relay graph passes: scoping to function bodies, constants, dead ops.

The graph passes rewrite the top level of ``func.func`` bodies only; the inside of a
``relay.fused`` group is a kernel-to-be and is left exactly as it is.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern
from xdsl.rewriter import Rewriter
from xdsl.traits import Pure

from xtvm.dialects import relay


def inside_fused(op: Operation) -> bool:
    """True when ``op`` sits (at any depth) inside a ``relay.fused`` region."""
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, relay.FusedOp):
            return True
        parent = parent.parent_op()
    return False


def is_graph_op(op: Operation) -> bool:
    """A pure relay op of the graph level (tensor op, constant or fused group): one that may
    be merged with an identical one or dropped when unused."""
    return isinstance(op, (relay.RelayOp, relay.ConstantOp, relay.FusedOp)) and op.has_trait(Pure)


def function_blocks(module: ModuleOp) -> Iterator[Block]:
    """The body blocks of every ``func.func`` in ``module`` and of the ``relay.if`` regions
    and ``relay.loop`` bodies in them, outer blocks first (never a fused region)."""
    for op in module.walk():
        if isinstance(op, FuncOp) and not inside_fused(op):
            yield from op.body.blocks
        elif isinstance(op, relay.IfOp) and not inside_fused(op):
            yield op.then_block
            yield op.else_block
        elif isinstance(op, relay.LoopOp) and not inside_fused(op):
            yield op.block


def constant_array(value: SSAValue) -> np.ndarray | None:
    """The numpy value of ``value`` when it is produced by ``relay.constant``, else None."""
    owner = value.owner
    return owner.to_numpy() if isinstance(owner, relay.ConstantOp) else None


def single_use_by(value: SSAValue, user: Operation) -> bool:
    """True when ``user`` is the one and only use of ``value``."""
    uses = list(value.uses)
    return len(uses) == 1 and uses[0].operation is user


def is_dead(op: Operation) -> bool:
    """A graph op or a ``relay.if`` (pure regions, or an unbuildable branch's assert, which
    only matters if its result does) whose results nothing uses."""
    return (is_graph_op(op) or isinstance(op, relay.IfOp | relay.LoopOp)) and all(
        not r.uses for r in op.results
    )


def erase_dead_ops(block: Block) -> int:
    """Erase dead relay ops of ``block`` in one backward sweep (users die before producers).

    Returns how many ops were erased.
    """
    erased = 0
    op = block.last_op
    while op is not None:
        prev = op.prev_op
        if is_dead(op):
            Rewriter.erase_op(op)
            erased += 1
        op = prev
    return erased


class EraseDeadRelayOp(RewritePattern):
    """Erase a top-level relay op whose results are unused (the greedy applier's own DCE
    would also reach into ``relay.fused`` regions, so the graph passes disable it)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if is_dead(op) and not inside_fused(op):
            rewriter.erase(op)
