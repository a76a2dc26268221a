"""Shared state of ``convert-tir-to-llvm``: the module being built and one function's lowering.

Lowering is a straightforward recursive walk: each tir/arith/math/vector/memref op has a
handler (registered with :func:`lowers`) that appends llvm-dialect ops to the current block
of a :class:`FuncLowering` and records what its results became. Structured ops
(``tir.for``, ``scf.if``) create blocks and move the current block along.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    AnyFloat,
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    Signedness,
    VectorType,
    i16,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from xtvm.dialects import llvmx
from xtvm.errors import CompileError

PTR = llvm.LLVMPointerType()

Handler = Callable[["FuncLowering", Operation], None]
HANDLERS: dict[type[Operation], Handler] = {}


def lowers(*classes: type[Operation]) -> Callable[[Handler], Handler]:
    """Register a handler for ops of ``classes``."""

    def deco(fn: Handler) -> Handler:
        for cls in classes:
            HANDLERS[cls] = fn
        return fn

    return deco


def lower_type(t: Attribute) -> Attribute:
    """index -> i64, memref -> !llvm.ptr, ui<N> -> i<N> (LLVM integers are signless; the
    arith op already chose the unsigned form), vectors elementwise; others unchanged."""
    if isinstance(t, IndexType):
        return i64
    if isinstance(t, MemRefType):
        return PTR
    if isinstance(t, IntegerType) and t.signedness.data != Signedness.SIGNLESS:
        return IntegerType(t.width.data)
    if isinstance(t, BFloat16Type):
        return i16  # bits only: see half_casts.py
    if isinstance(t, VectorType):
        if isinstance(t.element_type, BFloat16Type):
            return VectorType(i16, t.get_shape())
        if isinstance(t.element_type, IndexType):
            raise CompileError("vectors of index cannot be lowered (tir-vectorize avoids them)")
        if isinstance(t.element_type, IntegerType):
            return VectorType(lower_type(t.element_type), t.get_shape())
        return t
    return t


def byte_size(t: Attribute) -> int:
    """Storage size of a scalar element type (i1 takes a byte, as numpy's bool)."""
    if isinstance(t, IndexType):
        return 8
    if isinstance(t, IntegerType):
        return max(1, (t.width.data + 7) // 8)
    if isinstance(t, AnyFloat):
        return t.bitwidth // 8
    raise CompileError(f"cannot size element type {t}")


def _constant_key(attr: Attribute) -> object:
    """What makes two constants the same: their bits (``0.0 == -0.0`` as floats)."""
    if isinstance(attr, FloatAttr):
        return ("f", float(attr.value.data).hex())
    if isinstance(attr, IntegerAttr):
        return ("i", attr.value.data)
    if isinstance(attr, DenseIntOrFPElementsAttr):
        return ("d", attr.get_type(), bytes(attr.data.data))
    return attr


class ModuleState:
    """Module-wide: external declarations, extra (outlined) functions, name counters."""

    def __init__(self, parallel_min_work: int = 0) -> None:
        self.parallel_min_work = parallel_min_work
        """Statically counted ops below which a parallel loop runs serially."""
        self.declarations: dict[str, llvm.FuncOp] = {}
        self.extra_funcs: list[llvm.FuncOp] = []
        self.counters: dict[str, int] = {}

    def declare(self, name: str, args: Sequence[Attribute], ret: Attribute | None = None) -> str:
        """Declare an external C function once; return its name."""
        if name not in self.declarations:
            ft = llvm.LLVMFunctionType(list(args), ret)
            self.declarations[name] = llvm.FuncOp(name, ft, linkage=llvm.LinkageAttr("external"))
        return name

    def fresh_name(self, base: str) -> str:
        n = self.counters.get(base, 0)
        self.counters[base] = n + 1
        return f"{base}_{n}"


class FuncLowering:
    """Lowers one function body. ``allocas`` is a first block for stack slots, so they are
    static allocations wherever the tir op sat; it branches to the body when finished."""

    def __init__(self, module: ModuleState, func: llvm.FuncOp, in_parallel: bool = False):
        self.module = module
        self.func = func
        self.in_parallel = in_parallel
        arg_types = list(func.function_type.inputs.data)
        self.allocas = Block(arg_types=arg_types)
        func.body.add_block(self.allocas)
        self.block = self.new_block()
        self.first_body_block = self.block
        self.values: dict[SSAValue, SSAValue] = {}
        self._constants: dict[tuple[Attribute, object], SSAValue] = {}
        self.workspace: SSAValue | None = None
        self.returns_status = False  # the entry returns an i32 status, kernels return void

    @property
    def name(self) -> str:
        return self.func.sym_name.data

    @property
    def args(self) -> tuple[SSAValue, ...]:
        return self.allocas.args

    def new_block(self, arg_types: Sequence[Attribute] = ()) -> Block:
        block = Block(arg_types=arg_types)
        self.func.body.add_block(block)
        return block

    def emit(self, op: Operation) -> SSAValue:
        """Append ``op`` to the current block; return its first result (if any)."""
        self.block.add_op(op)
        return op.results[0] if op.results else None  # type: ignore[return-value]

    def get(self, v: SSAValue) -> SSAValue:
        try:
            return self.values[v]
        except KeyError:
            owner = v.owner.name if isinstance(v.owner, Operation) else "a block argument"
            raise CompileError(f"@{self.name}: value from {owner} used before lowering") from None

    def set(self, v: SSAValue, new: SSAValue) -> None:
        self.values[v] = new

    def const(self, value: int | float, t: Attribute = i64) -> SSAValue:
        attr = FloatAttr(value, t) if isinstance(t, AnyFloat) else IntegerAttr(int(value), t)
        return self.constant(attr, t)

    def constant(self, attr: Attribute, t: Attribute) -> SSAValue:
        """``llvm.mlir.constant`` of ``attr``, made once per function in its first block
        (which dominates every use). Kernels repeat a few index constants thousands of
        times, and each op created costs: this removed a third of a model's llvm ops.
        LLVM sees the same IR, constants are not instructions there."""
        key = (t, _constant_key(attr))
        value = self._constants.get(key)
        if value is None:
            op = llvm.ConstantOp(attr, t)
            self.allocas.add_op(op)
            value = self._constants[key] = op.result
        return value

    def alloca(self, nbytes: int, align: int) -> SSAValue:
        """A stack slot of ``nbytes`` bytes, allocated once at function entry.

        Typed as pointer-sized words: llvmlite keeps a typed pointer for ``alloca T`` and
        then refuses stores of other types (vectors, pointers) through it; an ``alloca
        ptr`` is an opaque pointer, like every pointer in LLVM itself.
        """
        n = llvm.ConstantOp(IntegerAttr(max(1, -(-nbytes // 8)), i64), i64)
        op = llvm.AllocaOp(n, PTR, alignment=align)
        self.allocas.add_ops([n, op])
        return op.res

    def call(self, name: str, args: Sequence[SSAValue], ret: Attribute | None = None) -> SSAValue:
        return self.emit(llvm.CallOp(name, *args, return_type=ret))

    def select(self, cond: SSAValue, a: SSAValue, b: SSAValue) -> SSAValue:
        """``llvm.select`` for an i1 condition, ``llvmx.select`` for a vector of them."""
        if isinstance(cond.type, VectorType):
            return self.emit(llvmx.SelectOp(cond, a, b))
        return self.emit(llvm.SelectOp(cond, a, b))

    def icmp(self, pred: str, a: SSAValue, b: SSAValue) -> SSAValue:
        flag = llvm.ICmpPredicateFlag(pred)
        return self.emit(llvm.ICmpOp(a, b, IntegerAttr(flag.to_int(), i64)))

    def lower_ops(self, block: Block) -> None:
        """Lower every op of a tir/scf block (terminators excepted) into the current block."""
        for op in block.ops:
            if op.name in ("tir.yield", "scf.yield", "scf.condition"):
                continue
            handler = HANDLERS.get(type(op))
            if handler is None:
                raise CompileError(f"@{self.name}: cannot lower '{op.name}' to llvm")
            handler(self, op)

    def finish(self) -> None:
        """Close the stack-slot block with a branch to the body."""
        self.allocas.add_op(llvm.BrOp(self.first_body_block))
