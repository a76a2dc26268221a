"""Lower the graph function ``@main`` (te.call over tensors) to the entry ``tir.prim_func``.

Inputs then outputs become buffer arguments; weights become ``tir.global``s; tensors
passed between kernels become views into one workspace, placed first-fit by liveness so
that buffers whose lifetimes do not overlap share bytes. Every output argument is written:
an output that is an input, a weight or another output is filled by a small copy kernel.
"""

from __future__ import annotations

import re
from contextlib import ExitStack

from xdsl.dialects import arith, func, memref
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
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import te, tir
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.emit import Emitter, Scope
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


def _copy_kernel(name: str, t: Attribute) -> tir.PrimFuncOp:
    pf = tir.PrimFuncOp(name, [t, t])
    pf.block.add_op(tir.ReturnOp())
    em = Emitter(Scope(pf.block))
    src, dst = pf.block.args
    src.name_hint, dst.name_hint = "src", "dst"
    ivs: list[SSAValue] = []
    with ExitStack() as stack:
        stack.enter_context(em.at(InsertPoint.before(pf.block.last_op)))  # type: ignore[arg-type]
        for d, e in enumerate(t.get_shape()):  # type: ignore[attr-defined]
            loop = tir.ForOp(em.index(0), em.index(e), em.index(1))
            loop.induction_var.name_hint = f"i{d}"
            em.insert(loop)
            ivs.append(loop.induction_var)
            stack.enter_context(em.inside(loop.block))
        v = em.insert(memref.LoadOp.get(src, ivs)).results[0]
        em.insert(memref.StoreOp.get(v, dst, ivs))
    return pf


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
        if isinstance(v.owner, te.CallOp):
            env[v] = body.args[n_in + k]

    # liveness of intermediates, in op order
    ops = list(block.ops)
    index = {op: n for n, op in enumerate(ops)}
    inter: list[SSAValue] = []
    live: list[tuple[int, int]] = []
    for n, op in enumerate(ops):
        if isinstance(op, te.CallOp):
            for r in op.res:
                if r not in home:
                    last = max((index[u.operation] for u in r.uses), default=n)
                    inter.append(r)
                    live.append((n, last))
    offsets, total = plan_workspace([_nbytes(v.type) for v in inter], live)  # type: ignore[arg-type]
    pf.attributes["xtvm.workspace_bytes"] = IntegerAttr(align_up(total), i64)

    prologue = Scope(body)
    for v, off in zip(inter, offsets):
        wb = tir.WorkspaceBufferOp(_memref(v.type), off)
        wb.buffer.name_hint = v.name_hint
        prologue.insert(wb)
        env[v] = wb.buffer

    extra: list[Operation] = []
    copies: dict[Attribute, str] = {}
    ip = InsertPoint.before(body.last_op)  # type: ignore[arg-type]

    def emit(op: Operation) -> None:
        Rewriter.insert_op(op, ip)

    def copy(src: SSAValue, dst: SSAValue) -> None:
        t = dst.type
        if t not in copies:
            name = f"__copy{len(copies)}"
            while name in taken:
                name += "_"
            taken.add(name)
            copies[t] = name
            extra.append(_copy_kernel(name, t))
        emit(tir.CallOp(copies[t], [src, dst]))

    n_globals = 0
    for op in ops:
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
        elif isinstance(op, te.CallOp):
            callee = op.callee.root_reference.data
            k = kernels.get(callee)
            if k is None:
                raise CompileError(f"@main: te.call of unknown kernel @{callee}")
            if tuple(k.function_type.inputs.data) != tuple(a.type for a in op.args) or tuple(
                k.function_type.outputs.data
            ) != tuple(r.type for r in op.res):
                raise CompileError(f"@main: te.call @{callee} does not match its signature")
            emit(tir.CallOp(callee, [env[a] for a in op.args] + [env[r] for r in op.res]))
        elif isinstance(op, func.ReturnOp):
            for k, v in enumerate(outs):
                dst = body.args[n_in + k]
                if env.get(v) is not dst:
                    if v not in env:
                        raise CompileError("@main: returns a value it does not define")
                    copy(env[v], dst)
        else:
            raise CompileError(f"@main: unsupported op {op.name} (expected te.call)")
    return [*extra, pf]
