"""Control flow: ``tir.for`` as a header block with the induction variable as a block
argument (a phi), ``scf.if`` as ``cond_br``, ``tir.call`` / ``tir.return``, and in the entry
``cf.assert`` as a ``cond_br`` to an error-status return, ``scf.while`` (a loop of the entry)
as a header block with phis.

Loop kinds: ``serial``, ``unrolled`` (LLVM's O3 unroller decides) and ``vectorized`` loops
that ``tir-vectorize`` left alone become plain loops; ``parallel`` loops are outlined
(:mod:`.parallel`) unless already inside an outlined body (no nested parallelism).
"""

from __future__ import annotations

from xdsl.dialects import cf, llvm, scf
from xdsl.dialects.builtin import i32, i64
from xdsl.ir import Block, SSAValue

from xtvm.dialects import tir
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.state import FuncLowering, lowers


def counted_loop(
    fl: FuncLowering, lb: SSAValue, ub: SSAValue, step: SSAValue, body: tir.ForOp
) -> None:
    """``for (iv = lb; iv < ub; iv += step) body`` with the current block as preheader."""
    header = fl.new_block([i64])
    inner = fl.new_block()
    exit_ = fl.new_block()
    fl.emit(llvm.BrOp(header, lb))
    fl.block = header
    iv = header.args[0]
    fl.emit(llvm.CondBrOp(fl.icmp("slt", iv, ub), inner, [], exit_, []))
    fl.block = inner
    fl.set(body.induction_var, iv)
    fl.lower_ops(body.block)
    fl.emit(llvm.BrOp(header, fl.emit(llvm.AddOp(iv, step))))
    fl.block = exit_


@lowers(tir.ForOp)
def _for(fl: FuncLowering, op: tir.ForOp) -> None:
    if op.kind.data == "parallel" and not fl.in_parallel:
        from xtvm.lowering.tir_to_llvm.parallel import lower_parallel, worth_parallel

        if worth_parallel(op, fl.module.parallel_min_work):
            lower_parallel(fl, op)
            return
    counted_loop(fl, fl.get(op.lb), fl.get(op.ub), fl.get(op.step), op)


@lowers(scf.IfOp)
def _if(fl: FuncLowering, op: scf.IfOp) -> None:
    if op.results:
        raise CompileError(f"@{fl.name}: scf.if with results is not supported in tir")
    then_b = fl.new_block()
    merge = fl.new_block()
    has_else = bool(op.false_region.blocks) and any(
        o.name != "scf.yield" for o in op.false_region.block.ops
    )
    else_b = fl.new_block() if has_else else merge
    fl.emit(llvm.CondBrOp(fl.get(op.cond), then_b, [], else_b, []))
    fl.block = then_b
    fl.lower_ops(op.true_region.block)
    fl.emit(llvm.BrOp(merge))
    if has_else:
        fl.block = else_b
        fl.lower_ops(op.false_region.block)
        fl.emit(llvm.BrOp(merge))
    fl.block = merge


def _enter(fl: FuncLowering, block: Block, src: Block) -> None:
    """Lower ``src`` into ``block``, whose arguments stand for ``src``'s."""
    fl.block = block
    for a, new in zip(src.args, block.args):
        fl.set(a, new)
    fl.lower_ops(src)


@lowers(scf.WhileOp)
def _while(fl: FuncLowering, op: scf.WhileOp) -> None:
    """A header block (the before region, arguments as phis) that branches to the body or
    the exit; the body branches back with what it yields."""
    if any(r.uses for r in op.results):
        raise CompileError(f"@{fl.name}: scf.while results are not supported in tir")
    before, after = op.before_region.block, op.after_region.block
    header = fl.new_block([a.type for a in before.args])
    body = fl.new_block([a.type for a in after.args])
    exit_ = fl.new_block()
    fl.emit(llvm.BrOp(header, *[fl.get(a) for a in op.arguments]))
    _enter(fl, header, before)
    cond = before.last_op
    assert isinstance(cond, scf.ConditionOp)
    fl.emit(llvm.CondBrOp(fl.get(cond.condition), body, [fl.get(a) for a in cond.args], exit_, []))
    _enter(fl, body, after)
    term = after.last_op
    assert isinstance(term, scf.YieldOp)
    fl.emit(llvm.BrOp(header, *[fl.get(a) for a in term.arguments]))
    fl.block = exit_


# the status the entry returns when a branch the compiler could not build is taken
ASSERT_STATUS = 2


@lowers(cf.AssertOp)
def _assert(fl: FuncLowering, op: cf.AssertOp) -> None:
    """In the entry: return ``ASSERT_STATUS`` when the condition is false."""
    if not fl.returns_status:
        raise CompileError(f"@{fl.name}: cf.assert is only supported in the entry function")
    ok = fl.new_block()
    fail = fl.new_block()
    fl.emit(llvm.CondBrOp(fl.get(op.arg), ok, [], fail, []))
    fl.block = fail
    fl.emit(llvm.ReturnOp(fl.const(ASSERT_STATUS, i32)))
    fl.block = ok


@lowers(tir.CallOp)
def _call(fl: FuncLowering, op: tir.CallOp) -> None:
    fl.call(op.callee.root_reference.data, [fl.get(a) for a in op.args])


@lowers(tir.ReturnOp)
def _return(fl: FuncLowering, op: tir.ReturnOp) -> None:
    if fl.returns_status:
        fl.emit(llvm.ReturnOp(fl.const(0, i32)))
    else:
        fl.emit(llvm.ReturnOp())
