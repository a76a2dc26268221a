"""The ``convert-te-to-tir`` pass."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import te
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.entry import lower_main
from xtvm.lowering.te_to_tir.kernel import lower_kernel
from xtvm.lowering.te_to_tir.schedule import interpret_schedule
from xtvm.passes.registry import register_pass


@register_pass
@dataclass(frozen=True)
class ConvertTeToTirPass(ModulePass):
    """Lower scheduled tensor expressions to loop nests over buffers.

    Expects: ``te.kernel`` ops (placeholders, computes, an optional ``te.schedule``,
    ``te.return``) and a graph function ``func.func @main`` over tensors holding only
    ``arith.constant dense<..>`` weights, ``te.call``, ``scf.if`` (of the same, on a
    ``tensor.extract``ed condition) and ``func.return`` (names of inputs
    and outputs on ``arg_attrs``/``res_attrs`` as ``xtvm.name``).

    Guarantees: no te ops remain. Each kernel is a ``tir.prim_func @k(inputs..., outputs...)``
    whose loops follow its schedule (splits, tiles, fuses, reorders, loop kinds, inlined and
    compute_at stages, cache_write); intermediate stages are ``tir.alloc`` buffers. ``@main``
    becomes the entry ``tir.prim_func`` with ``xtvm.entry``, ``xtvm.num_inputs``,
    ``xtvm.arg_names`` and ``xtvm.workspace_bytes``, weights are ``tir.global``s, tensors
    between kernels are ``tir.workspace_buffer`` views shared by liveness (across the two
    branches of an ``scf.if`` too, which calls the kernels of one branch), and every output
    buffer is written. A schedule that cannot be applied raises ``CompileError``.
    """

    name = "convert-te-to-tir"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        kernels = {k.sym_name.data: k for k in op.ops if isinstance(k, te.KernelOp)}
        taken = set(kernels)
        taken.update(
            o.sym_name.data
            for o in op.ops
            if isinstance(o, func.FuncOp)  # type: ignore[attr-defined]
        )
        mains = [
            f
            for f in op.ops
            if isinstance(f, func.FuncOp)
            # @main is the graph even when it computes nothing (outputs are inputs/weights)
            and (f.sym_name.data == "main" or any(isinstance(o, te.CallOp) for o in f.walk()))
        ]
        for f in mains:
            if f.sym_name.data != "main":
                raise CompileError(
                    f"te.call is only supported in @main, found in @{f.sym_name.data}"
                )
        for f in mains:
            new_ops = lower_main(f, kernels, taken)
            Rewriter.insert_op(new_ops, InsertPoint.before(f))
            Rewriter.erase_op(f)
        for k in kernels.values():
            pf = lower_kernel(k, interpret_schedule(k))
            Rewriter.insert_op(pf, InsertPoint.before(k))
            Rewriter.erase_op(k)
