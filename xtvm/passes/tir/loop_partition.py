"""``tir-loop-partition``: split loops so that tail checks leave the hot part.

Expects tir (docs/contracts.md), typically right after ``convert-te-to-tir``. A split by a
factor that does not divide the extent leaves either a guard ``scf.if (e < C)`` around the
body (when the inner loop is vectorized/unrolled and needs a constant trip count) or an
inner loop bound ``min(f, C - f * o)``. Both cost in every iteration and block
vectorization and unrolling of the inner loop. For a serial loop ``o`` whose iterations
``[lb, P)`` provably pass the check for every value of the loops inside it, the loop is
split into ``[lb, P)`` without the check (the guard's body inlined, the bound the constant
``f``) and ``[P, ub)`` unchanged.

Guarantees: results are unchanged; only serial loops with constant bounds and step 1 are
split (a parallel loop is not: two fork/joins would cost more than the check); checks are
affine ``cmpi slt`` / ``minsi`` over loop variables with known constant ranges (see
``tir-simplify``'s analysis); anything else is left as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.tir import ForOp, PrimFuncOp
from xtvm.passes.registry import register_pass
from xtvm.passes.tir.simplify import Form, _Analysis, _const, _erase_dead


def _enclosing_loops(op: Operation) -> list[ForOp]:
    out: list[ForOp] = []
    cur = op.parent_op()
    while cur is not None and not isinstance(cur, PrimFuncOp):
        if isinstance(cur, ForOp):
            out.append(cur)
        cur = cur.parent_op()
    return out  # innermost first


@dataclass
class _Check:
    """A check inside ``loop`` that holds for iterations ``[lb, split)``."""

    op: Operation  # the scf.if or the arith.minsi bound
    loop: ForOp
    split: int


def _split_point(an: _Analysis, f: Form, limit: int, op: Operation) -> _Check | None:
    """Iterations of the outermost loop in form ``f`` for which ``f < limit`` always."""
    atoms = [t for t in f if t is not None]
    if not atoms:
        return None
    loops = _enclosing_loops(op)
    by_iv = {lp.induction_var: lp for lp in loops}
    if any(t not in by_iv for t in atoms):
        return None
    outer = max((by_iv[t] for t in atoms), key=loops.index)  # the outermost of them
    coef = f[outer.induction_var]
    lb, ub, step = (_const(v) for v in (outer.lb, outer.ub, outer.step))
    if outer.kind.data != "serial" or coef <= 0 or lb is None or ub is None or step != 1:
        return None
    rest = {t: c for t, c in f.items() if t is not outer.induction_var}
    r = an.range(rest)
    if r is None:
        return None
    # coef * o + rest < limit for every inner value  <=>  o <= (limit - 1 - max(rest)) // coef
    split = min(max((limit - 1 - r[1]) // coef + 1, lb), ub)
    return _Check(op, outer, split)


def _checks(func: PrimFuncOp, an: _Analysis) -> list[_Check]:
    out: list[_Check] = []
    for op in func.walk():
        if isinstance(op, scf.IfOp) and not op.results and not op.false_region.blocks:
            cond = op.cond.owner
            if isinstance(cond, arith.CmpiOp) and cond.predicate.value.data == 2:  # slt
                limit = _const(cond.rhs)
                if limit is not None:
                    c = _split_point(an, an.form(cond.lhs), limit, op)
                    if c is not None:
                        out.append(c)
        elif isinstance(op, ForOp):
            m = op.ub.owner
            if isinstance(m, arith.MinSIOp) and _const(m.lhs) is not None:
                # min(f, x) == f  <=>  x >= f  <=>  -x < 1 - f
                f = _const(m.lhs)
                assert f is not None
                neg = {t: -c for t, c in an.form(m.rhs).items()}
                c = _split_point(an, neg, 1 - f, m)
                if c is not None:
                    out.append(c)
    return out


def _resolve(check: Operation) -> None:
    """Make ``check`` (in the loop copy that always passes it) unconditional."""
    if isinstance(check, scf.IfOp):
        block = check.true_region.block
        for op in list(block.ops):
            if isinstance(op, scf.YieldOp):
                continue
            op.detach()
            Rewriter.insert_op(op, InsertPoint.before(check))
        Rewriter.erase_op(check)
    else:
        assert isinstance(check, arith.MinSIOp)
        check.results[0].replace_all_uses_with(check.lhs)


def _index(v: int) -> arith.ConstantOp:
    return arith.ConstantOp(IntegerAttr(v, IndexType()))


def partition(check: _Check) -> None:
    """Split ``check.loop`` at ``check.split``; the first part loses the check."""
    loop = check.loop
    lb, ub = _const(loop.lb), _const(loop.ub)
    assert lb is not None and ub is not None
    if check.split >= ub:  # always passes: no tail at all
        _resolve(check.op)
        return
    if check.split <= lb:
        return
    mapping: dict[SSAValue, SSAValue] = {}
    head = loop.clone(value_mapper=mapping)
    mid = _index(check.split)
    Rewriter.insert_op(mid, InsertPoint.before(loop))
    Rewriter.insert_op(head, InsertPoint.before(loop))
    head.operands = [head.lb, mid.result, head.step]
    loop.operands = [mid.result, loop.ub, loop.step]
    # the clone of the check inside the head copy
    ops = list(loop.walk())
    twin = list(head.walk())[ops.index(check.op)]
    _resolve(twin)


@register_pass
@dataclass(frozen=True)
class TirLoopPartitionPass(ModulePass):
    """Split serial loops at the point where tail checks start to matter."""

    name = "tir-loop-partition"

    max_splits: int = 64  # per function: each split duplicates a loop body

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in [f for f in op.walk() if isinstance(f, PrimFuncOp)]:
            changed = False
            for _ in range(self.max_splits):
                checks = _checks(func, _Analysis())
                useful = [c for c in checks if c.split > (_const(c.loop.lb) or 0)]
                if not useful:
                    break
                partition(useful[0])
                changed = True
            if changed:
                _erase_dead(func)  # the conditions of removed guards
