"""One launch per phase: a GPU kernel whose phases communicate through global memory is
split into several kernels, as TVM's split-host-device does.

A kernel's stages that are computed at its root (softmax's row maximum and sum, a pooled
mean, each with its own thread loops) are sibling thread nests that read what an earlier
nest wrote into a root buffer. Threads of different blocks cannot wait for each other inside
one launch, so each top-level nest becomes its own kernel ``@k_<i>``, launched in order, and
each root buffer (``tir.alloc "local"|"heap"`` outside the thread loops) becomes device
memory: an extra kernel argument, a view of the workspace after the entry's intermediates.
Phases separated by ``tir.barrier`` at the top level are one block's (the schedule made the
kernel a single block): they stay one launch, their root buffers still become device memory.
A kernel with one nest and no root buffer is left as it is.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, MemRefType, i64
from xdsl.ir import Block, Operation, Region, SSAValue

from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import BLOCK_TAGS, thread_tag
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.state import byte_size

ALIGN = 64


def _has_thread_loop(op: Operation) -> bool:
    return any(thread_tag(o) is not None for o in op.walk())


def _nbytes(t: MemRefType) -> int:
    n = byte_size(t.element_type)
    for d in t.get_shape():
        n *= d
    return max(n, 1)


def _split_one(k: tir.PrimFuncOp) -> tuple[list[tir.PrimFuncOp], list[MemRefType]] | None:
    """The kernels replacing ``k`` (taking ``k``'s arguments then the root buffers) and the
    root buffers' types; None when ``k`` stays one kernel."""
    if not _has_thread_loop(k):
        return None  # no GPU schedule at all: reported by the caller for every such kernel
    shared_defs: list[Operation] = []  # constants and shared allocs, cloned where used
    scratch: list[tir.AllocOp] = []
    phases: list[Operation] = []
    barriers = False
    for op in k.block.ops:
        if isinstance(op, arith.ConstantOp) or (
            isinstance(op, tir.AllocOp) and op.scope.data == "shared"
        ):
            shared_defs.append(op)
        elif isinstance(op, tir.AllocOp):
            scratch.append(op)
        elif isinstance(op, (tir.FreeOp, tir.ReturnOp)):
            continue
        elif op.name == "tir.barrier":
            barriers = True
            phases.append(op)
        elif _has_thread_loop(op):
            phases.append(op)
        else:
            raise CompileError(
                f"cuda kernel @{k.sym_name.data}: '{op.name}' at its top level runs outside "
                "the thread loops (no GPU schedule for that stage)"
            )
    if len(phases) <= 1 and not scratch:
        return None
    arg_types = [*k.function_type.inputs.data, *(a.buffer.type for a in scratch)]
    name = k.sym_name.data
    if barriers:  # phases of one block, synchronized by barriers: one launch
        grid = any(thread_tag(o) in BLOCK_TAGS for p in phases for o in p.walk())
        if grid and scratch:
            raise CompileError(
                f"cuda kernel @{name}: barrier-separated phases over several blocks share a "
                "root buffer (blocks cannot synchronize with each other)"
            )
        groups, names = [phases], [name]
    else:
        groups, names = [[p] for p in phases], [f"{name}_{i}" for i in range(len(phases))]
    kernels = []
    for group, new_name in zip(groups, names):
        block = Block(arg_types=arg_types)
        mapping: dict[SSAValue, SSAValue] = dict(zip(k.block.args, block.args))
        for a, new in zip(scratch, block.args[len(k.block.args) :]):
            mapping[a.buffer] = new
        used = {v for phase in group for o in phase.walk() for v in o.operands}
        for d in shared_defs:
            if d.results[0] in used:
                block.add_op(d.clone(value_mapper=mapping))
        for phase in group:
            block.add_op(phase.clone(value_mapper=mapping))
        block.add_op(tir.ReturnOp())
        kernels.append(tir.PrimFuncOp(new_name, arg_types, Region(block)))
    return kernels, [a.buffer.type for a in scratch]  # type: ignore[misc]


def split_kernels(module_block: Block, entry: tir.PrimFuncOp | None) -> None:
    """Split every multi-phase GPU kernel of the module in place and make the entry call
    the parts, with workspace views for the root buffers (growing its workspace)."""
    replaced: dict[str, tuple[list[tir.PrimFuncOp], list[MemRefType]]] = {}
    for k in [f for f in module_block.ops if isinstance(f, tir.PrimFuncOp) and not f.is_entry]:
        parts = _split_one(k)
        if parts is None:
            continue
        replaced[k.sym_name.data] = parts
        for new in parts[0]:
            module_block.insert_op_before(new, k)
        module_block.erase_op(k)
    if not replaced or entry is None:
        return
    ws_attr = entry.attributes.get("xtvm.workspace_bytes")
    base = ws_attr.value.data if isinstance(ws_attr, IntegerAttr) else 0
    base += -base % ALIGN
    end = base
    for call in [o for o in entry.block.ops if isinstance(o, tir.CallOp)]:
        callee = call.callee.root_reference.data
        if callee not in replaced:
            continue
        kernels, types = replaced[callee]
        views, offset = [], base
        for t in types:
            views.append(tir.WorkspaceBufferOp(t, offset))
            offset += _nbytes(t) + (-_nbytes(t) % ALIGN)
        end = max(end, offset)
        new_ops: list[Operation] = [*views]
        args = [*call.args, *(v.buffer for v in views)]
        new_ops += [tir.CallOp(k.sym_name.data, args) for k in kernels]
        entry.block.insert_ops_before(new_ops, call)
        entry.block.erase_op(call)
    entry.attributes["xtvm.workspace_bytes"] = IntegerAttr(end, i64)
