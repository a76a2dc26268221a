"""The llvm-dialect output of ``convert-tir-to-nvvm`` -> PTX text and constants blob.

Translation reuses the CPU backend's (:func:`xtvm.backends.llvm.translate_module`);
functions tagged ``nvvm.kernel`` get the ``ptx_kernel`` calling convention, which makes
them ``.entry`` points of the PTX (LLVM 22's form of the ``nvvm.annotations`` kernel
marker), and their block shape becomes ``maxntid`` annotations (PTX ``.maxntid``). The weights never go into the PTX: the runtime uploads them once as one blob.
"""

from __future__ import annotations

import llvmlite.ir as ir
from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntAttr,
    ModuleOp,
)

from xtvm.backends.cuda.ptx import emit_ptx
from xtvm.backends.llvm.target import Target
from xtvm.backends.llvm.translate import BlockMap, ValMap, register_converter, translate_module
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_nvvm import CONSTANTS_ATTR, KERNEL_ATTR, MAXNTID_ATTR
from xtvm.lowering.tir_to_nvvm.launch_plan import pack_constants
from xtvm.lowering.tir_to_nvvm.ops import AddrSpaceCastOp

PTX_KERNEL_CC = "ptx_kernel"


@register_converter(AddrSpaceCastOp)
def _addrspacecast(op: AddrSpaceCastOp, b: ir.IRBuilder, vm: ValMap, _: BlockMap) -> None:
    space = op.result.type.addr_space
    target = ir.PointerType(addrspace=space.data if isinstance(space, IntAttr) else 0)
    vm[op.result] = b.addrspacecast(vm[op.arg], target)


def nvptx_ir(module: ModuleOp, target: Target) -> str:
    """LLVM IR text of ``module`` with its kernels marked as PTX entries."""
    ir_module = translate_module(module, target)
    for op in module.ops:
        if isinstance(op, llvm.FuncOp) and KERNEL_ATTR in op.attributes:
            fn = ir_module.get_global(op.sym_name.data)
            fn.calling_convention = PTX_KERNEL_CC
            block = op.attributes.get(MAXNTID_ATTR)
            if isinstance(block, DenseArrayBase):
                for axis, n in zip("xyz", block.get_values()):
                    name = ir.MetaDataString(ir_module, f"maxntid{axis}")
                    entry = [fn, name, ir.Constant(ir.IntType(32), int(n))]
                    ir_module.add_named_metadata("nvvm.annotations", entry)
    return str(ir_module)


def generate_ptx(module: ModuleOp, target: Target) -> str:
    """The PTX of a module lowered by ``convert-tir-to-nvvm``."""
    return emit_ptx(nvptx_ir(module, target), target)


def constants_blob(module: ModuleOp, entries: list[dict]) -> bytes:
    """The weights of ``module`` (its ``xtvm.constants``) packed at the offsets of the
    metadata's ``"constants"`` entries."""
    attr = module.attributes.get(CONSTANTS_ATTR, ArrayAttr([]))
    values = list(attr.data) if isinstance(attr, ArrayAttr) else []
    if len(values) != len(entries) or not all(
        isinstance(v, DenseIntOrFPElementsAttr) for v in values
    ):
        raise CompileError(
            f"module attribute '{CONSTANTS_ATTR}' does not match the metadata's constants"
        )
    return pack_constants(entries, values)  # type: ignore[arg-type]
