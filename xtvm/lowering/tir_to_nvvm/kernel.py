"""One GPU kernel (a tir.prim_func with thread loops) as an NVPTX function.

The loop bodies are lowered by ``convert-tir-to-llvm``'s handlers (arith, memref, math,
serial loops, ``scf.if``); this module replaces only what differs on a GPU:

* ``tir.for kind(thread "threadIdx.x")`` is no loop: its induction variable is the
  thread's index (``llvm.nvvm.read.ptx.sreg.tid.x``, ``ctaid`` for ``blockIdx``), and a
  loop narrower than the block's dimension runs under ``if (index < extent)``;
* ``tir.alloc "shared"`` is a module global in address space 3 (one per block);
  ``"local"`` stays a stack slot (per thread); ``"heap"`` is refused (no malloc);
* ``tir.barrier`` is ``llvm.nvvm.barrier.cta.sync.aligned.all(0)`` (``bar.sync 0``);
* CPU-parallel and vectorized loops run serially in each thread;
* math without an NVPTX instruction goes through :mod:`.gpu_math`.

Buffers are generic pointers: NVPTX's argument lowering marks kernel pointer parameters
global and address-space inference turns accesses through them (and through shared
globals) into ``ld.global``/``ld.shared``.
"""

from __future__ import annotations

from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    IntAttr,
    MemRefType,
    UnitAttr,
    i8,
    i32,
    i64,
)
from xdsl.ir import Block, Operation, SSAValue

from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import THREAD_TAGS, LaunchConfig, loop_extent
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.control import counted_loop
from xtvm.lowering.tir_to_llvm.state import (
    HANDLERS,
    PTR,
    FuncLowering,
    Handler,
    ModuleState,
    byte_size,
)
from xtvm.lowering.tir_to_nvvm import gpu_math
from xtvm.lowering.tir_to_nvvm.ops import AddrSpaceCastOp

SHARED_SPACE = 3
KERNEL_ATTR = "nvvm.kernel"
"""Unit attribute on the ``llvm.func`` of each kernel; the backend gives such functions
the ``ptx_kernel`` calling convention (a PTX ``.entry``)."""
MAXNTID_ATTR = "nvvm.maxntid"
"""The block shape ``array<i32: x, y, z>`` a kernel is launched with: PTX ``.maxntid``, so
ptxas may give each thread more registers than a 1024-thread block would allow."""
BARRIER = "llvm.nvvm.barrier.cta.sync.aligned.all"
_SREG = {"threadIdx": "tid", "blockIdx": "ctaid"}


class NvvmModuleState(ModuleState):
    """Module state plus the shared-memory globals the kernels declare."""

    def __init__(self) -> None:
        super().__init__(parallel_min_work=0)
        self.shared_globals: list[llvm.GlobalOp] = []


class KernelLowering(FuncLowering):
    """Lowers one kernel; GPU handlers first, then ``convert-tir-to-llvm``'s."""

    def __init__(self, module: NvvmModuleState, func: llvm.FuncOp, config: LaunchConfig):
        super().__init__(module, func, in_parallel=True)  # never outline parallel loops
        self.nvvm = module
        self.config = config

    def lower_ops(self, block: Block) -> None:
        for op in block.ops:
            if op.name in ("tir.yield", "scf.yield", "scf.condition"):
                continue
            handler = GPU_HANDLERS.get(op.name) or gpu_math.handler(op) or HANDLERS.get(type(op))
            if handler is None:
                raise CompileError(f"@{self.name}: cannot lower '{op.name}' for cuda")
            handler(self, op)

    def thread_index(self, tag: str) -> SSAValue:
        """The i64 index of this thread along ``tag`` (``threadIdx.x``, ``blockIdx.y``)."""
        kind, axis = tag.split(".")
        read = llvm.CallIntrinsicOp(f"llvm.nvvm.read.ptx.sreg.{_SREG[kind]}.{axis}", [], [i32])
        self.emit(read)
        return self.emit(llvm.ZExtOp(read.results[0], i64))


def _thread_loop(fl: KernelLowering, op: tir.ForOp) -> None:
    """A thread loop is its body once, with the thread's index (guarded when the loop is
    narrower than the launch); other loops are serial loops of each thread."""
    tag = op.thread_tag
    if tag is None:
        counted_loop(fl, fl.get(op.lb), fl.get(op.ub), fl.get(op.step), op)
        return
    index = fl.thread_index(tag)
    fl.set(op.induction_var, index)
    bound = fl.config.grid.get(tag) or fl.config.block.get(tag)
    extent_value = loop_extent(op)  # a constant: the verifier checked it
    if extent_value == bound:
        fl.lower_ops(op.block)
        return
    body, merge = fl.new_block(), fl.new_block()
    fl.emit(llvm.CondBrOp(fl.icmp("ult", index, fl.const(extent_value)), body, [], merge, []))
    fl.block = body
    fl.lower_ops(op.block)
    fl.emit(llvm.BrOp(merge))
    fl.block = merge


def _alloc(fl: KernelLowering, op: tir.AllocOp) -> None:
    t = op.buffer.type
    assert isinstance(t, MemRefType)
    count = 1
    for d in t.get_shape():
        count *= d
    nbytes = max(1, count) * byte_size(t.element_type)
    scope = op.scope.data
    if scope == "local":
        if fl.config.block and not _in_thread_loop(op):
            raise CompileError(
                f"@{fl.name}: a scratch buffer outside the threadIdx loops would need global "
                "memory shared by all threads (schedule it 'shared', inline it or split the kernel)"
            )
        fl.set(op.buffer, fl.alloca(nbytes, 16))
        return
    if scope != "shared":
        raise CompileError(
            f"@{fl.name}: a '{scope}' buffer cannot be allocated in a GPU kernel (a stage "
            "computed outside the thread loops: compute it at a thread axis or inline it)"
        )
    name = fl.nvvm.fresh_name(f"{fl.name}_shared")
    glob = llvm.GlobalOp(
        llvm.LLVMArrayType(nbytes, i8),
        name,
        "internal",
        addr_space=SHARED_SPACE,
        alignment=16,
    )
    fl.nvvm.shared_globals.append(glob)
    shared = fl.emit(llvm.AddressOfOp(name, llvm.LLVMPointerType(IntAttr(SHARED_SPACE))))
    fl.set(op.buffer, fl.emit(AddrSpaceCastOp(shared, PTR)))


def _in_thread_loop(op: Operation) -> bool:
    """Whether ``op`` runs per thread (inside a ``threadIdx`` loop)."""
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, tir.PrimFuncOp):
        if isinstance(parent, tir.ForOp) and parent.thread_tag in THREAD_TAGS:
            return True
        parent = parent.parent_op()
    return False


def _free(fl: KernelLowering, op: tir.FreeOp) -> None:
    """Shared and local buffers need no freeing (and heap ones were refused)."""


def _barrier(fl: KernelLowering, op: Operation) -> None:
    fl.emit(llvm.CallIntrinsicOp(BARRIER, [fl.const(0, i32)], []))


def _refuse_global(fl: KernelLowering, op: Operation) -> None:
    raise CompileError(f"@{fl.name}: a GPU kernel cannot read a weight directly (tir.global_ref)")


GPU_HANDLERS: dict[str, Handler] = {
    "tir.for": _thread_loop,  # type: ignore[dict-item]
    "tir.alloc": _alloc,  # type: ignore[dict-item]
    "tir.free": _free,  # type: ignore[dict-item]
    "tir.barrier": _barrier,  # type: ignore[dict-item]
    "tir.global_ref": _refuse_global,  # type: ignore[dict-item]
}


def lower_kernel(ms: NvvmModuleState, op: tir.PrimFuncOp, config: LaunchConfig) -> llvm.FuncOp:
    """The NVPTX function of kernel ``op``: ``void @k(ptr noalias, ...)``, external (an
    entry of the PTX), tagged ``nvvm.kernel``."""
    n = len(op.function_type.inputs.data)
    noalias = DictionaryAttr({"llvm.noalias": UnitAttr()})
    func = llvm.FuncOp(
        op.sym_name.data,
        llvm.LLVMFunctionType([PTR] * n, None),
        linkage=llvm.LinkageAttr("external"),
        other_props={"arg_attrs": ArrayAttr([noalias] * n)},
    )
    func.attributes[KERNEL_ATTR] = UnitAttr()
    block = [config.block.get(tag, 1) for tag in THREAD_TAGS]
    func.attributes[MAXNTID_ATTR] = DenseArrayBase.from_list(i32, block)
    fl = KernelLowering(ms, func, config)
    for arg, new in zip(op.block.args, fl.args):
        fl.set(arg, new)
    fl.lower_ops(op.block)
    fl.finish()
    return func
