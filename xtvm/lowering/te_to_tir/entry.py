"""Lower the graph function ``@main`` (te.call over tensors) to the entry ``tir.prim_func``.

Inputs then outputs become buffer arguments; weights become ``tir.global``s; tensors
passed between kernels become views into one workspace, placed first-fit by liveness so
that buffers whose lifetimes do not overlap share bytes. Every output argument is written:
an output that is an input, a weight or another output is filled by a small copy kernel.
An ``scf.if`` (from ``relay.if``) becomes an ``scf.if`` without results on the condition's
element (``memref.load``); its branches write the results' buffers (entry_plan.py).
An ``scf.while`` (from ``relay.loop``) becomes an ``scf.while`` over the iteration and
condition scalars whose body calls the kernels (entry_loop.py).
"""

from __future__ import annotations

import re

from xdsl.dialects import arith, cf, func, memref, scf, tensor
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import te, tir
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.emit import Scope
from xtvm.lowering.te_to_tir.entry_loop import (
    copy_kernel,
    lower_from_elements,
    lower_insert_slice,
    lower_scalar,
    lower_while,
)
from xtvm.lowering.te_to_tir.entry_plan import computed_values, plan_entry
from xtvm.lowering.te_to_tir.kernel import elem_bytes, memref_of

ALIGN = 64


def _memref(t: Attribute):
    if not isinstance(t, TensorType):
        raise CompileError(f"@main: expected a ranked tensor, got {t}")
    return memref_of(tuple(t.get_shape()), t.element_type)


def _nbytes(t: TensorType) -> int:
    n = elem_bytes(t.element_type)
    for d in t.get_shape():
        n *= d
    return max(n, 1)


def align_up(n: int) -> int:
    """``n`` rounded up to a multiple of ``ALIGN``."""
    return -(-n // ALIGN) * ALIGN


def first_fit(busy: list[tuple[int, int]], size: int) -> int:
    """The lowest aligned offset where ``size`` bytes overlap none of the ``(offset, size)``
    ranges in ``busy``."""
    off = 0
    for o, s in sorted(busy):
        if off + size <= o:
            break
        off = max(off, align_up(o + s))
    return off


def plan_workspace(sizes: list[int], live: list[tuple[int, int]]) -> tuple[list[int], int]:
    """First-fit offsets for buffers of ``sizes`` live over inclusive ``[def, last use]``."""
    placed: list[tuple[int, int, int, int]] = []  # offset, size, def, last
    offsets: list[int] = []
    for size, (d, u) in zip(sizes, live):
        size = align_up(size)
        off = first_fit([(o, s) for o, s, d2, u2 in placed if d <= u2 and d2 <= u], size)
        placed.append((off, size, d, u))
        offsets.append(off)
    total = max((o + s for o, s, _, _ in placed), default=0)
    return offsets, total


def _names(attrs: ArrayAttr | None, n: int, prefix: str) -> list[str]:
    out = []
    for k in range(n):
        name = f"{prefix}{k}"
        if attrs is not None and k < len(attrs.data):
            d = attrs.data[k]
            if isinstance(d, DictionaryAttr) and isinstance(d.data.get("xtvm.name"), StringAttr):
                name = d.data["xtvm.name"].data  # type: ignore[union-attr]
        out.append(name)
    return out


def lower_main(
    fn: func.FuncOp, kernels: dict[str, te.KernelOp], taken: set[str]
) -> list[Operation]:
    """The entry prim_func plus the globals and copy kernels it needs (in module order)."""
    block = fn.body.block
    ret = block.last_op
    if not isinstance(ret, func.ReturnOp):
        raise CompileError("@main: must end with func.return")
    outs = list(ret.arguments)
    in_types = [_memref(a.type) for a in block.args]
    out_types = [_memref(v.type) for v in outs]
    pf = tir.PrimFuncOp("main", [*in_types, *out_types])
    body = pf.block
    body.add_op(tir.ReturnOp())
    n_in = len(in_types)
    names = [
        *_names(fn.arg_attrs, n_in, "input"),
        *_names(fn.res_attrs, len(outs), "output"),
    ]
    pf.attributes["xtvm.entry"] = UnitAttr()
    pf.attributes["xtvm.num_inputs"] = IntegerAttr(n_in, i64)
    pf.attributes["xtvm.arg_names"] = ArrayAttr([StringAttr(n) for n in names])

    home: dict[SSAValue, int] = {}
    for k, v in enumerate(outs):
        home.setdefault(v, k)
    env: dict[SSAValue, SSAValue] = dict(zip(block.args, body.args))
    for a, n in zip(body.args, names):
        # SSA names must not start with a digit (exporters name values "20")
        a.name_hint = n if re.fullmatch(r"[A-Za-z_$.-][\w$.-]*", n) else None
    for v, k in home.items():
        if isinstance(v.owner, te.CallOp | scf.IfOp | scf.WhileOp):
            env[v] = body.args[n_in + k]

    # liveness of intermediates, in pre-order; a branch's yielded value shares the buffer
    # of the conditional's result (entry_plan.py)
    plan = plan_entry(block)
    groups: dict[SSAValue, tuple[int, int]] = {}
    for v in computed_values(block):
        rep = plan.find(v)
        d, u = plan.live_range(v)
        if rep in groups:
            d0, u0 = groups[rep]
            d, u = min(d, d0), max(u, u0)
        groups[rep] = (d, u)
    inter = sorted((v for v in groups if v not in env), key=lambda v: groups[v][0])
    live = [groups[v] for v in inter]
    offsets, total = plan_workspace([_nbytes(v.type) for v in inter], live)  # type: ignore[arg-type]
    pf.attributes["xtvm.workspace_bytes"] = IntegerAttr(align_up(total), i64)

    prologue = Scope(body)
    for v, off in zip(inter, offsets):
        wb = tir.WorkspaceBufferOp(_memref(v.type), off)
        wb.buffer.name_hint = v.name_hint
        prologue.insert(wb)
        env[v] = wb.buffer
    for v in computed_values(block):
        env.setdefault(v, env[plan.find(v)])

    extra: list[Operation] = []
    copies: dict[Attribute, str] = {}
    stacks: dict[tuple[Attribute, Attribute], str] = {}
    stored: dict[SSAValue, SSAValue] = {}  # a loop's iteration scalar -> its 0-d buffer
    n_globals = 0

    def fresh(base: str) -> str:
        name = base
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    def stack(row: Attribute, full: Attribute) -> str:
        if (row, full) not in stacks:
            stacks[(row, full)] = fresh(f"__stack{len(stacks)}")
            extra.append(copy_kernel(stacks[(row, full)], row, full))  # type: ignore[arg-type]
        return stacks[(row, full)]

    def copy(src: SSAValue, dst: SSAValue, ip: InsertPoint) -> None:
        t = dst.type
        if t not in copies:
            name = f"__copy{len(copies)}"
            while name in taken:
                name += "_"
            taken.add(name)
            copies[t] = name
            extra.append(copy_kernel(name, t))  # type: ignore[arg-type]
        Rewriter.insert_op(tir.CallOp(copies[t], [src, dst]), ip)

    def lower_block(src: Block, ip: InsertPoint) -> None:
        nonlocal n_globals
        for op in src.ops:
            if isinstance(op, arith.ConstantOp) and isinstance(op.value, DenseIntOrFPElementsAttr):
                name = f"w{n_globals}"
                while name in taken:
                    name += "_"
                taken.add(name)
                n_globals += 1
                t = _memref(op.result.type)
                extra.append(tir.GlobalOp(name, op.value, t))
                ref = tir.GlobalRefOp(name, t)
                ref.buffer.name_hint = op.result.name_hint or name
                prologue.insert(ref)
                env[op.result] = ref.buffer
            elif isinstance(op, arith.ConstantOp):  # a condition's index, an assert's flag
                new = arith.ConstantOp(op.value, op.result.type)
                Rewriter.insert_op(new, ip)
                env[op.result] = new.result
            elif isinstance(op, cf.AssertOp):  # a branch that could not be built
                Rewriter.insert_op(cf.AssertOp(env[op.arg], op.msg), ip)
            elif isinstance(op, tensor.EmptyOp):
                pass  # the placeholder result of such a branch: nothing is written
            elif isinstance(op, tensor.ExtractOp):
                load = memref.LoadOp.get(env[op.tensor], [env[i] for i in op.indices])
                load.res.name_hint = op.result.name_hint
                Rewriter.insert_op(load, ip)
                env[op.result] = load.res
            elif isinstance(op, te.CallOp):
                callee = op.callee.root_reference.data
                k = kernels.get(callee)
                if k is None:
                    raise CompileError(f"@main: te.call of unknown kernel @{callee}")
                if tuple(k.function_type.inputs.data) != tuple(a.type for a in op.args) or tuple(
                    k.function_type.outputs.data
                ) != tuple(r.type for r in op.res):
                    raise CompileError(f"@main: te.call @{callee} does not match its signature")
                args = [env[a] for a in op.args] + [env[r] for r in op.res]
                Rewriter.insert_op(tir.CallOp(callee, args), ip)
            elif isinstance(op, scf.IfOp):
                lower_if(op, ip)
            elif isinstance(op, scf.WhileOp):
                lower_while(op, ip, env, stored, lower_block, copy)
            elif isinstance(op, arith.CmpiOp | arith.AndIOp | arith.AddiOp | arith.IndexCastOp):
                lower_scalar(op, env, ip)
            elif isinstance(op, tensor.FromElementsOp):
                lower_from_elements(op, env, ip)
            elif isinstance(op, tensor.InsertSliceOp):
                lower_insert_slice(op, env, stored, stack, ip)
            elif isinstance(op, func.ReturnOp):
                for k, v in enumerate(outs):
                    dst = body.args[n_in + k]
                    if env.get(v) is not dst:
                        if v not in env:
                            raise CompileError("@main: returns a value it does not define")
                        copy(env[v], dst, ip)
            elif not isinstance(op, scf.YieldOp | scf.ConditionOp):
                raise CompileError(f"@main: unsupported op {op.name} (expected te.call)")

    def lower_if(op: scf.IfOp, ip: InsertPoint) -> None:
        """An ``scf.if`` without results whose branches write the results' buffers."""
        branches = []
        for region in (op.true_region, op.false_region):
            inner = Block([scf.YieldOp()])
            at_end = InsertPoint.before(inner.last_op)  # type: ignore[arg-type]
            lower_block(region.block, at_end)
            term = region.block.last_op
            assert isinstance(term, scf.YieldOp)
            for value, result in zip(term.arguments, op.results):
                if not isinstance(value.owner, tensor.EmptyOp) and env[value] is not env[result]:
                    copy(env[value], env[result], at_end)
            branches.append(Region(inner))
        Rewriter.insert_op(scf.IfOp(env[op.cond], [], branches[0], branches[1]), ip)

    lower_block(block, InsertPoint.before(body.last_op))  # type: ignore[arg-type]
    return [*extra, pf]
