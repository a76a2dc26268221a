"""Where each tensor of ``@main`` lives: liveness and buffer sharing across ``scf.if`` and
``scf.while``.

``@main``'s ops are numbered in pre-order (an ``scf.if``, then its then region, then its
else region, then an end position), so the two branches occupy disjoint ranges and
intermediates of one branch may share workspace with those of the other (only one runs).
A use nested in a region counts at the end of the enclosing ``scf.if`` of the defining
block, so a value read inside a branch stays live across both.

A conditional's result needs one buffer that both branches write: a value a branch yields
that a kernel call (or a nested conditional) of that same branch produces is computed
straight into it (it *aliases* the result); anything else (an outer value, an input, a
weight, a value yielded twice) is copied into it at the end of the branch.

An ``scf.while`` (from ``relay.loop``) is numbered like a conditional (its regions, then an
end position); each tensor result is the loop's state buffer, live from the loop's start to
its end at least. Carried values the body yields are computed into their own buffers and
copied into the state at the end of the iteration (the body still reads the current
state while it computes the next), rows are inserted into the stacked results directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects import func, scf, tensor
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Block, Operation, SSAValue

from xtvm.dialects import te


@dataclass
class EntryPlan:
    """Positions, aliases and live ranges of the tensors of one graph function."""

    order: dict[Operation, int] = field(default_factory=dict)
    end: dict[Operation, int] = field(default_factory=dict)
    alias: dict[SSAValue, SSAValue] = field(default_factory=dict)

    def number(self, block: Block) -> None:
        """Pre-order positions of ``block``'s ops and of the regions of its ``scf.if``s."""
        for op in block.ops:
            self.order[op] = len(self.order) + len(self.end)
            if isinstance(op, scf.IfOp | scf.WhileOp):
                for region in op.regions:
                    for b in region.blocks:
                        self.number(b)
                self.end[op] = len(self.order) + len(self.end)

    def use_position(self, user: Operation, home: Block | None) -> int:
        """Where a use by ``user`` counts for a value defined in ``home``: its own position,
        or the end of the ``scf.if`` of ``home`` that contains it."""
        op = user
        while op.parent_block() is not home:
            parent = op.parent_op()
            if parent is None:
                return self.order[user]
            op = parent
        return self.order[user] if op is user else self.end[op]

    def live_range(self, v: SSAValue) -> tuple[int, int]:
        """Inclusive ``[definition, last use]`` of ``v`` (a call or conditional result)."""
        owner = v.owner
        assert isinstance(owner, Operation)
        start = self.order[owner]
        home = owner.parent_block()
        last = max((self.use_position(u.operation, home) for u in v.uses), default=start)
        if isinstance(owner, scf.WhileOp):  # a loop's state is written all through it
            last = max(last, self.end[owner])
        if isinstance(owner, tensor.FromElementsOp) and home is not None:
            # the iteration buffer: rows are inserted at its offset at the body's end
            last = max(last, self.order[home.last_op])  # type: ignore[index]
        return start, max(start, last)

    def find(self, v: SSAValue) -> SSAValue:
        """The value whose buffer ``v`` is computed into (itself unless it aliases)."""
        while v in self.alias:
            v = self.alias[v]
        return v

    def link_yields(self, block: Block) -> None:
        """Alias yielded values to the results of the conditionals of ``block`` (nested
        ones too), outermost first."""
        for op in block.ops:
            if isinstance(op, scf.WhileOp):
                link_stacks(self, op)
                continue
            if not isinstance(op, scf.IfOp):
                continue
            for region in (op.true_region, op.false_region):
                branch = region.block
                term = branch.last_op
                assert isinstance(term, scf.YieldOp)
                for value, result in zip(term.arguments, op.results):
                    owner = value.owner
                    if (
                        isinstance(owner, te.CallOp | scf.IfOp)
                        and owner.parent_block() is branch
                        and value not in self.alias
                    ):
                        self.alias[value] = result
                self.link_yields(branch)


def plan_entry(block: Block) -> EntryPlan:
    """Number ``@main``'s ops and alias yielded values to conditional results."""
    plan = EntryPlan()
    plan.number(block)
    plan.link_yields(block)
    return plan


def computed_values(block: Block) -> list[SSAValue]:
    """Results of kernel calls and conditionals in ``block`` and its regions, in pre-order."""
    out: list[SSAValue] = []
    for op in block.ops:
        if isinstance(op, te.CallOp):
            out.extend(op.res)
        elif isinstance(op, tensor.FromElementsOp | tensor.InsertSliceOp):
            out.append(op.result)
        elif isinstance(op, scf.IfOp):
            out.extend(op.results)
            for region in (op.true_region, op.false_region):
                out.extend(computed_values(region.block))
        elif isinstance(op, scf.WhileOp):
            out.extend(r for r in op.results if isinstance(r.type, TensorType))
            out.extend(computed_values(op.after_region.block))
        elif isinstance(op, func.ReturnOp):
            break
    return out


def link_stacks(plan: EntryPlan, op: scf.WhileOp) -> None:
    """A loop's rows are inserted straight into its stacked results (the inserts alias
    them); nested conditionals and loops of its body are linked too."""
    body = op.after_region.block
    term = body.last_op
    assert isinstance(term, scf.YieldOp)
    for value, result in zip(term.arguments, op.results):
        if isinstance(value.owner, tensor.InsertSliceOp):
            plan.alias[value] = result
    plan.link_yields(body)
