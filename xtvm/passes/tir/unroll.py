"""``tir-unroll``: expand ``kind(unrolled)`` loops into straight-line copies of their body.

Expects tir after ``tir-vectorize`` (so a vector loop inside is already vector ops). A
schedule marks a loop ``unrolled`` when each iteration must see constant indices: the
rows and vectors of a register tile, whose accumulators LLVM can then keep in registers
(SROA promotes an alloca only when every access has a constant offset). Leaving it to
LLVM's unroller works for small bodies but is a heuristic that gives up on large ones.

Guarantees: every ``unrolled`` loop with constant bounds and at most ``max-trip``
iterations (and ``max-ops`` ops after expansion) is replaced by its body, once per
iteration, with the induction variable a constant; inner loops unroll first. Any other
``unrolled`` loop becomes ``serial`` (LLVM's unroller may still unroll it). Results are
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.tir import ForOp, YieldOp
from xtvm.passes.registry import register_pass


def _const(v: SSAValue) -> int | None:
    op = v.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return op.value.value.data
    return None


def _count_ops(op: Operation) -> int:
    return sum(1 for _ in op.walk())


def unroll_loop(loop: ForOp) -> None:
    """Replace ``loop`` by one copy of its body per iteration (bounds must be constant)."""
    lb, ub, step = (_const(v) for v in (loop.lb, loop.ub, loop.step))
    assert lb is not None and ub is not None and step is not None and step > 0
    body = [op for op in loop.block.ops if not isinstance(op, YieldOp)]
    for i in range(lb, ub, step):
        c = arith.ConstantOp(IntegerAttr(i, IndexType()))
        Rewriter.insert_op(c, InsertPoint.before(loop))
        mapping: dict[SSAValue, SSAValue] = {loop.induction_var: c.result}
        for op in body:
            Rewriter.insert_op(op.clone(value_mapper=mapping), InsertPoint.before(loop))
    Rewriter.erase_op(loop)


@register_pass
@dataclass(frozen=True)
class TirUnrollPass(ModulePass):
    """Expand small ``unrolled`` loops (see the module docstring)."""

    name = "tir-unroll"

    max_trip: int = 32
    max_ops: int = 4096

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loops = [o for o in op.walk() if isinstance(o, ForOp) and o.kind.data == "unrolled"]
        for loop in reversed(loops):  # post-order: inner loops first
            bounds = [_const(v) for v in (loop.lb, loop.ub, loop.step)]
            lb, ub, step = bounds
            ok = lb is not None and ub is not None and step is not None and step > 0
            trip = len(range(lb, ub, step)) if ok else 0  # type: ignore[arg-type]
            if ok and trip <= self.max_trip and trip * _count_ops(loop) <= self.max_ops:
                unroll_loop(loop)
            else:
                loop.kind = StringAttr("serial")
