"""``scf.while`` of ``@main`` (from ``relay.loop``) -> an ``scf.while`` of the entry over
scalars (the iteration and the condition), with the tensors in buffers.

Each carried value and stacked result has one state buffer (the loop result's buffer, a
model output when the result is one). The initial values are copied into it before the
loop; the body's kernels read the state and write the next values into buffers of their
own, which are copied back at the end of the iteration (double buffering with a copy, so no
kernel reads a buffer it writes). The iteration and condition tensors the body reads are
0-d buffers the loop stores its scalars into; each row is copied into its stacked result
at the iteration's offset by a small ``__stack`` kernel that reads the iteration buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from xdsl.dialects import arith, memref, scf, tensor
from xdsl.dialects.builtin import IndexType, MemRefType, i1, i64
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import tir
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.emit import Emitter, Scope

# (source op's block, where to put the lowered ops)
LowerBlock = Callable[[Block, InsertPoint], None]
# (source buffer, destination buffer, where)
Copy = Callable[[SSAValue, SSAValue, InsertPoint], None]
# (row memref type, stacked memref type) -> kernel name
StackKernel = Callable[[Attribute, Attribute], str]


def copy_kernel(name: str, row: MemRefType, full: MemRefType | None = None) -> tir.PrimFuncOp:
    """``dst[...] = src[...]`` (a ``__copy``), or with ``full`` ``dst[idx[], ...] = src[...]``
    (a ``__stack``: one row of a stacked loop output, ``idx`` the iteration buffer)."""
    types = [row, row] if full is None else [row, MemRefType(i64, []), full]
    pf = tir.PrimFuncOp(name, types)
    pf.block.add_op(tir.ReturnOp())
    em = Emitter(Scope(pf.block))
    src, dst = pf.block.args[0], pf.block.args[-1]
    src.name_hint, dst.name_hint = "src", "dst"
    ivs: list[SSAValue] = []
    with ExitStack() as stack:
        stack.enter_context(em.at(InsertPoint.before(pf.block.last_op)))  # type: ignore[arg-type]
        prefix: list[SSAValue] = []
        if full is not None:
            idx = pf.block.args[1]
            idx.name_hint = "idx"
            i = em.insert(memref.LoadOp.get(idx, [])).results[0]
            prefix.append(em.insert(arith.IndexCastOp(i, IndexType())).results[0])
        for d, e in enumerate(row.get_shape()):
            loop = tir.ForOp(em.index(0), em.index(e), em.index(1))
            loop.induction_var.name_hint = f"i{d}"
            em.insert(loop)
            ivs.append(loop.induction_var)
            stack.enter_context(em.inside(loop.block))
        v = em.insert(memref.LoadOp.get(src, ivs)).results[0]
        em.insert(memref.StoreOp.get(v, dst, [*prefix, *ivs]))
    return pf


def lower_scalar(
    op: arith.CmpiOp | arith.AndIOp | arith.AddiOp | arith.IndexCastOp,
    env: dict[SSAValue, SSAValue],
    ip: InsertPoint,
) -> None:
    """The loop's scalar bookkeeping, cloned with its operands mapped."""
    new = op.clone(value_mapper={v: env[v] for v in op.operands})
    Rewriter.insert_op(new, ip)
    env[op.results[0]] = new.results[0]


def lower_from_elements(
    op: tensor.FromElementsOp, env: dict[SSAValue, SSAValue], ip: InsertPoint
) -> None:
    """Store the loop's scalar into the 0-d buffer the body's kernels read."""
    if len(op.elements) != 1:
        raise CompileError("@main: tensor.from_elements of more than one element")
    Rewriter.insert_op(memref.StoreOp.get(env[op.elements[0]], env[op.result], []), ip)


def lower_insert_slice(
    op: tensor.InsertSliceOp,
    env: dict[SSAValue, SSAValue],
    stored: dict[SSAValue, SSAValue],
    stack: StackKernel,
    ip: InsertPoint,
) -> None:
    """A row into its stacked result (the same buffer as the loop's state of it)."""
    cast = op.offsets[0].owner if len(op.offsets) == 1 else None
    if not isinstance(cast, arith.IndexCastOp) or cast.input not in stored:
        raise CompileError("@main: tensor.insert_slice must be at the loop's iteration")
    name = stack(env[op.source].type, env[op.result].type)
    Rewriter.insert_op(tir.CallOp(name, [env[op.source], stored[cast.input], env[op.result]]), ip)


def lower_while(
    op: scf.WhileOp,
    ip: InsertPoint,
    env: dict[SSAValue, SSAValue],
    stored: dict[SSAValue, SSAValue],
    lower_block: LowerBlock,
    copy: Copy,
) -> None:
    """Emit the loop (see the module docstring); ``stored`` maps the iteration scalar of a
    body to the buffer it is stored in (for its rows' offsets)."""
    before, after = op.before_region.block, op.after_region.block
    for k, (init, result) in enumerate(zip(op.arguments, op.results)):
        if k < 2:
            continue
        state = env[result]
        if not isinstance(init.owner, tensor.EmptyOp) and env[init] is not state:
            copy(env[init], state, ip)
        env[before.args[k]] = env[after.args[k]] = state
    for src in after.ops:
        if isinstance(src, tensor.FromElementsOp) and src.elements[0] is after.args[0]:
            stored[after.args[0]] = env[src.result]
    regions = []
    for block in (before, after):
        new = Block(arg_types=[i64, i1])
        env[block.args[0]], env[block.args[1]] = new.args
        lower_block(block, InsertPoint.at_end(new))
        regions.append(new)
    cond = before.last_op
    assert isinstance(cond, scf.ConditionOp)
    regions[0].add_op(scf.ConditionOp(env[cond.condition], *[env[a] for a in cond.args[:2]]))
    term = after.last_op
    assert isinstance(term, scf.YieldOp)
    end = InsertPoint.at_end(regions[1])
    for value, result in zip(term.arguments[2:], op.results[2:]):
        if env[value] is not env[result]:
            copy(env[value], env[result], end)
    regions[1].add_op(scf.YieldOp(*[env[a] for a in term.arguments[:2]]))
    loop = scf.WhileOp(
        [env[a] for a in op.arguments[:2]], [i64, i1], Region(regions[0]), Region(regions[1])
    )
    Rewriter.insert_op(loop, ip)
