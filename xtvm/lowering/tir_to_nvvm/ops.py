"""``llvm.addrspacecast``, which xDSL 0.74's llvm dialect lacks.

Shared buffers live in address space 3; the loop bodies (``convert-tir-to-llvm``'s
handlers) address memory through generic pointers, so a shared buffer's address is cast
to a generic pointer once, and LLVM's address-space inference turns the accesses back
into ``ld.shared``/``st.shared``. The backend translates it (:mod:`xtvm.backends.cuda.codegen`).
"""

from __future__ import annotations

from xdsl.dialects.llvm import LLVMPointerType
from xdsl.ir import SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure


@irdl_op_definition
class AddrSpaceCastOp(IRDLOperation):
    """``%g = llvm.addrspacecast %p : !llvm.ptr<3> to !llvm.ptr``."""

    name = "llvm.addrspacecast"
    arg = operand_def(LLVMPointerType)
    result = result_def(LLVMPointerType)
    traits = traits_def(Pure())
    assembly_format = "$arg attr-dict `:` type($arg) `to` type($result)"

    def __init__(self, arg: SSAValue, result_type: LLVMPointerType):
        super().__init__(operands=[arg], result_types=[result_type])
