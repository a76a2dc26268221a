"""The ``tir`` dialect: loop nests over buffers, what TVM's TIR has and MLIR's core lacks.

Buffers are static-shape ``memref``s (row-major, contiguous); element access uses
``memref.load``/``memref.store`` (scalars) and ``vector.load``/``vector.store`` (contiguous
vectors along the last dim). Loop bodies are ``arith``/``math``/``vector`` ops.

* ``tir.prim_func @k(%a: memref<..>, ...)``: a kernel; buffer arguments never alias.
* ``tir.for %i = %lb to %ub step %s kind(parallel) { ... }``: a loop with a kind:
  ``serial``, ``parallel`` (iterations run on the thread pool), ``vectorized`` (becomes
  vector code) or ``unrolled``.
* ``tir.for %i = %c0 to %c32 step %c1 kind(thread "threadIdx.x")``: a GPU thread axis
  (``blockIdx.*`` / ``threadIdx.*``, see ``tir_gpu.py`` for its rules); ``tir.barrier``
  synchronizes the threads of a block.
* ``tir.alloc "local"|"heap"|"shared"`` / ``tir.free``: scratch buffers of a kernel
  (``shared``: one per GPU thread block).
* ``tir.workspace_buffer offset N``: a view into the module's workspace, valid in the entry
  function; intermediates live there so they are allocated once per loaded module.
* ``tir.view %slot offset N``: a typed buffer inside a byte buffer (storage shared by
  buffers whose lifetimes do not overlap, see ``tir-storage-rewrite``).
* ``tir.call @k(...)``: run a kernel from the entry function.
* ``tir.global`` / ``tir.global_ref``: constant buffers (weights) baked into the module.

The entry function is a ``tir.prim_func`` carrying ``xtvm.entry``; its arguments are the
model inputs then outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    I64,
    DenseIntOrFPElementsAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    TensorType,
    i8,
    i64,
)
from xdsl.dialects.utils import parse_func_op_like, print_func_op_like
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    Pure,
    SymbolOpInterface,
)
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.tir_gpu import verify_barrier, verify_gpu_kernel, verify_thread_loop

LOOP_KINDS = ("serial", "parallel", "vectorized", "unrolled", "thread")
ALLOC_SCOPES = ("local", "heap", "shared")

ENTRY_ATTR = "xtvm.entry"


@irdl_op_definition
class ReturnOp(IRDLOperation):
    name = "tir.return"
    traits = traits_def(IsTerminator())
    assembly_format = "attr-dict"


@irdl_op_definition
class PrimFuncOp(IRDLOperation):
    """A kernel over buffers: ``tir.prim_func @k(%a: memref<4xf32>, %out: memref<4xf32>) {...}``."""

    name = "tir.prim_func"
    sym_name = prop_def(StringAttr)
    function_type = prop_def(FunctionType)
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface())

    def __init__(self, name: str, arg_types: Sequence[Attribute], body: Region | None = None):
        ft = FunctionType.from_lists(list(arg_types), [])
        super().__init__(
            properties={"sym_name": StringAttr(name), "function_type": ft},
            regions=[body or Region(Block(arg_types=arg_types))],
        )

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def is_entry(self) -> bool:
        return ENTRY_ATTR in self.attributes

    def verify_(self) -> None:
        if tuple(self.block.arg_types) != tuple(self.function_type.inputs.data):
            raise VerifyException("tir.prim_func: block arguments must match the signature")
        if self.function_type.outputs.data:
            raise VerifyException("tir.prim_func: kernels return nothing; write outputs to buffers")
        for t in self.function_type.inputs.data:
            if not isinstance(t, MemRefType):
                raise VerifyException(f"tir.prim_func: arguments must be memrefs, got {t}")
        if not isinstance(self.block.last_op, ReturnOp):
            raise VerifyException("tir.prim_func: body must end with tir.return")
        verify_gpu_kernel(self)  # GPU kernels: block/grid limits, shared bytes, barriers

    def print(self, printer: Printer) -> None:
        print_func_op_like(
            printer,
            self.sym_name,
            self.function_type,
            self.body,
            self.attributes,
            reserved_attr_names=("sym_name", "function_type"),
            print_empty_outputs=False,
        )

    @classmethod
    def parse(cls, parser: Parser) -> PrimFuncOp:
        name, inputs, _outputs, region, extra, _aa, _ra = parse_func_op_like(
            parser, reserved_attr_names=("sym_name", "function_type")
        )
        op = cls(name, inputs, region)
        if extra is not None:
            op.attributes.update(extra.data)
        return op


@irdl_op_definition
class YieldOp(IRDLOperation):
    name = "tir.yield"
    traits = traits_def(IsTerminator(), Pure())
    assembly_format = "attr-dict"


@irdl_op_definition
class ForOp(IRDLOperation):
    """``tir.for %i = %lb to %ub step %s kind(vectorized) { ... }`` (kind serial is omitted)."""

    name = "tir.for"
    lb = operand_def(IndexType)
    ub = operand_def(IndexType)
    step = operand_def(IndexType)
    kind = prop_def(StringAttr)
    thread = opt_prop_def(StringAttr)
    """The GPU axis of a ``thread`` loop: ``blockIdx.x`` ... ``threadIdx.z``."""
    body = region_def("single_block")

    def __init__(
        self,
        lb: SSAValue,
        ub: SSAValue,
        step: SSAValue,
        kind: str = "serial",
        body: Region | None = None,
        thread: str | None = None,
    ):
        if body is None:
            body = Region(Block([YieldOp()], arg_types=[IndexType()]))
        props: dict[str, Attribute] = {"kind": StringAttr(kind)}
        if thread is not None:
            props["thread"] = StringAttr(thread)
        super().__init__(operands=[lb, ub, step], properties=props, regions=[body])

    @property
    def thread_tag(self) -> str | None:
        return self.thread.data if self.thread is not None else None

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def induction_var(self) -> SSAValue:
        return self.block.args[0]

    def verify_(self) -> None:
        if self.kind.data not in LOOP_KINDS:
            raise VerifyException(
                f"tir.for: kind must be one of {', '.join(LOOP_KINDS)}, got {self.kind.data!r}"
            )
        if (self.kind.data == "thread") != (self.thread is not None):
            raise VerifyException("tir.for: a thread tag goes with kind(thread) and only there")
        if self.thread is not None:
            verify_thread_loop(self)
        if len(self.block.args) != 1 or not isinstance(self.block.args[0].type, IndexType):
            raise VerifyException("tir.for: body must have exactly one index argument")
        if not isinstance(self.block.last_op, YieldOp):
            raise VerifyException("tir.for: body must end with tir.yield")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.induction_var)
        printer.print_string(" = ")
        printer.print_operand(self.lb)
        printer.print_string(" to ")
        printer.print_operand(self.ub)
        printer.print_string(" step ")
        printer.print_operand(self.step)
        if self.thread is not None:
            printer.print_string(f' kind(thread "{self.thread.data}")')
        elif self.kind.data != "serial":
            printer.print_string(f" kind({self.kind.data})")
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False, print_block_terminators=False)

    @classmethod
    def parse(cls, parser: Parser) -> ForOp:
        iv = parser.parse_argument(expect_type=False)
        parser.parse_punctuation("=")
        lb = parser.parse_operand(IndexType())
        parser.parse_keyword("to")
        ub = parser.parse_operand(IndexType())
        parser.parse_keyword("step")
        step = parser.parse_operand(IndexType())
        kind, thread = "serial", None
        if parser.parse_optional_keyword("kind") is not None:
            parser.parse_punctuation("(")
            kind = parser.parse_identifier()
            if kind == "thread":
                thread = parser.parse_str_literal()
            parser.parse_punctuation(")")
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region((iv.resolve(IndexType()),))
        block = body.block
        if not isinstance(block.last_op, YieldOp):
            block.add_op(YieldOp())
        op = cls(lb, ub, step, kind, body, thread)
        if attrs is not None:
            op.attributes.update(attrs.data)
        return op


@irdl_op_definition
class AllocOp(IRDLOperation):
    """``%b = tir.alloc "local" : memref<..>``: stack (local) or heap scratch of a kernel; in a
    GPU kernel ``local`` is per thread and ``shared`` per thread block."""

    name = "tir.alloc"
    scope = prop_def(StringAttr)
    buffer = result_def(MemRefType)
    assembly_format = "$scope attr-dict `:` type($buffer)"

    def __init__(self, type: MemRefType, scope: str = "local"):
        super().__init__(properties={"scope": StringAttr(scope)}, result_types=[type])

    def verify_(self) -> None:
        if self.scope.data not in ALLOC_SCOPES:
            raise VerifyException(f"tir.alloc: scope must be one of {', '.join(ALLOC_SCOPES)}")


@irdl_op_definition
class BarrierOp(IRDLOperation):
    """``tir.barrier``: every thread of the GPU block waits here (``__syncthreads()``); it
    orders the block's shared-memory writes before the reads after it."""

    name = "tir.barrier"
    assembly_format = "attr-dict"

    def verify_(self) -> None:
        verify_barrier(self)


@irdl_op_definition
class FreeOp(IRDLOperation):
    """Release a ``tir.alloc "heap"`` buffer."""

    name = "tir.free"
    buffer = operand_def(MemRefType)
    assembly_format = "$buffer attr-dict `:` type($buffer)"

    def __init__(self, buffer: SSAValue):
        super().__init__(operands=[buffer])


@irdl_op_definition
class WorkspaceBufferOp(IRDLOperation):
    """``%t = tir.workspace_buffer offset 128 : memref<..>``: a buffer inside the workspace."""

    name = "tir.workspace_buffer"
    offset = prop_def(IntegerAttr[I64])
    buffer = result_def(MemRefType)
    traits = traits_def(HasParent(PrimFuncOp), Pure())
    assembly_format = "`offset` $offset attr-dict `:` type($buffer)"

    def __init__(self, type: MemRefType, offset: int):
        super().__init__(properties={"offset": IntegerAttr(offset, i64)}, result_types=[type])

    def verify_(self) -> None:
        if self.offset.value.data < 0 or self.offset.value.data % 64:
            raise VerifyException(
                "tir.workspace_buffer: offset must be a non-negative multiple of 64"
            )
        parent = self.parent_op()
        if isinstance(parent, PrimFuncOp) and not parent.is_entry:
            raise VerifyException("tir.workspace_buffer: only valid in the entry function")


def buffer_bytes(t: MemRefType) -> int:
    """Bytes of a static buffer (``i1`` elements take a byte each, as in the LLVM lowering)."""
    n = max(1, getattr(t.element_type, "bitwidth", 8) // 8)
    for d in t.get_shape():
        n *= d
    return n


@irdl_op_definition
class ViewOp(IRDLOperation):
    """``%b = tir.view %slot offset 0 : memref<4096xi8> -> memref<32x32xf32>``: a typed buffer
    inside a byte buffer of the same kernel. ``tir-storage-rewrite`` makes buffers whose
    lifetimes do not overlap views of one slot."""

    name = "tir.view"
    base = operand_def(MemRefType)
    offset = prop_def(IntegerAttr[I64])
    buffer = result_def(MemRefType)
    traits = traits_def(Pure())
    assembly_format = "$base `offset` $offset attr-dict `:` type($base) `->` type($buffer)"

    def __init__(self, base: SSAValue, type: MemRefType, offset: int = 0):
        super().__init__(
            operands=[base], properties={"offset": IntegerAttr(offset, i64)}, result_types=[type]
        )

    def verify_(self) -> None:
        bt = self.base.type
        assert isinstance(bt, MemRefType) and isinstance(self.buffer.type, MemRefType)
        if bt.get_num_dims() != 1 or bt.element_type != i8:
            raise VerifyException("tir.view: the base must be a one-dimensional i8 buffer")
        off = self.offset.value.data
        if off < 0 or off % 64:
            raise VerifyException("tir.view: offset must be a non-negative multiple of 64")
        if off + buffer_bytes(self.buffer.type) > buffer_bytes(bt):
            raise VerifyException("tir.view: the view does not fit in its base buffer")


@irdl_op_definition
class CallOp(IRDLOperation):
    """``tir.call @k(%a, %b) : memref<..>, memref<..>``: run a kernel."""

    name = "tir.call"
    callee = prop_def(SymbolRefAttr)
    args = var_operand_def(MemRefType)
    assembly_format = "$callee `(` $args `)` attr-dict `:` type($args)"

    def __init__(self, callee: str, args: Sequence[SSAValue]):
        super().__init__(operands=[list(args)], properties={"callee": SymbolRefAttr(callee)})


@irdl_op_definition
class GlobalOp(IRDLOperation):
    """``tir.global @w0 = dense<...> : memref<16x8xf32>``: a constant buffer (weights)."""

    name = "tir.global"
    sym_name = prop_def(SymbolNameConstraint())
    value = prop_def(DenseIntOrFPElementsAttr)
    type = prop_def(MemRefType)
    traits = traits_def(SymbolOpInterface())
    assembly_format = "$sym_name `=` $value attr-dict `:` $type"

    def __init__(self, name: str, value: DenseIntOrFPElementsAttr, type: MemRefType):
        super().__init__(properties={"sym_name": StringAttr(name), "value": value, "type": type})

    def verify_(self) -> None:
        vt = self.value.type
        assert isinstance(vt, TensorType)
        if (
            tuple(vt.get_shape()) != tuple(self.type.get_shape())
            or vt.element_type != self.type.element_type
        ):
            raise VerifyException("tir.global: value and buffer types differ")


@irdl_op_definition
class GlobalRefOp(IRDLOperation):
    """``%w = tir.global_ref @w0 : memref<16x8xf32>``: the buffer of a ``tir.global``."""

    name = "tir.global_ref"
    global_name = prop_def(SymbolRefAttr)
    buffer = result_def(MemRefType)
    traits = traits_def(Pure())
    assembly_format = "$global_name attr-dict `:` type($buffer)"

    def __init__(self, name: str, type: MemRefType):
        super().__init__(properties={"global_name": SymbolRefAttr(name)}, result_types=[type])


TIR = Dialect(
    "tir",
    [
        PrimFuncOp,
        ReturnOp,
        ForOp,
        YieldOp,
        AllocOp,
        BarrierOp,
        FreeOp,
        WorkspaceBufferOp,
        ViewOp,
        CallOp,
        GlobalOp,
        GlobalRefOp,
    ],
    [],
)
