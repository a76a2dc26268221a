"""``te-dedup-kernels``: emit structurally identical kernels once.

Expects a module of ``te.kernel`` ops and graph functions calling them with ``te.call``
(the output of ``convert-relay-to-te``). Models repeat layers: an unrolled LSTM has one
cell kernel per time step, a transformer one set per layer, and each copy would otherwise
be lowered, optimized and compiled by LLVM again. Two kernels are the same when their
printed IR is equal up to the kernel's own name (computes, schedule and all).

Guarantees: every ``te.call`` targets the first kernel of its class; the other kernels of
the class are erased. Results are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr, SymbolRefAttr
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.rewriter import Rewriter

from xtvm.dialects.te import CallOp, KernelOp
from xtvm.passes.registry import register_pass


def kernel_key(kernel: KernelOp) -> str:
    """The kernel's IR text with its symbol name blanked."""
    name = kernel.sym_name
    kernel.sym_name = StringAttr("_")
    try:
        io = StringIO()
        Printer(io).print_op(kernel)
        return io.getvalue()
    finally:
        kernel.sym_name = name


@register_pass
@dataclass(frozen=True)
class TeDedupKernelsPass(ModulePass):
    """Merge structurally identical ``te.kernel`` ops (see the module docstring)."""

    name = "te-dedup-kernels"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        first: dict[str, str] = {}
        rename: dict[str, str] = {}
        for kernel in [k for k in op.body.block.ops if isinstance(k, KernelOp)]:
            key = kernel_key(kernel)
            keep = first.setdefault(key, kernel.sym_name.data)
            if keep != kernel.sym_name.data:
                rename[kernel.sym_name.data] = keep
                Rewriter.erase_op(kernel)
        if not rename:
            return
        for call in op.walk():
            if isinstance(call, CallOp):
                target = rename.get(call.callee.root_reference.data)
                if target is not None:
                    call.callee = SymbolRefAttr(target)
