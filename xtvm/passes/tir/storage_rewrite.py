"""``tir-storage-rewrite``: scratch buffers of a kernel share storage, and heap scratch moves
into the module's workspace.

Expects lowered tir (after ``convert-te-to-tir``; it runs last, after ``tir-unroll``).
A kernel's top-level ``tir.alloc``s live from the first to the last top-level op that uses
them. Buffers of one scope whose lifetimes do not overlap are assigned to one *slot* (a
``tir.alloc`` of bytes, sized for its largest member) and become ``tir.view``s of it, so a
kernel with a padded copy, a packed layout and an accumulator tile that never coexist
needs the memory of the largest, not of all three. Two buffers live in the same top-level op
never share a slot, so buffers that are live together still never alias.

With ``hoist-scratch`` (the default), heap slots of kernels that only the entry function
calls (at its top level, in its ``scf.if`` branches or ``scf.while`` loops) become extra buffer arguments; the entry passes each call a
``tir.workspace_buffer`` placed first-fit among the intermediates live at that call, and
``xtvm.workspace_bytes`` grows to cover them. Heap scratch is then allocated once per
loaded module instead of ``aligned_alloc``/``free`` on every call (tens of MB per inference
for the detector models, with page faults on each fresh mapping).

Guarantees: results are unchanged; no heap ``tir.alloc`` remains at the top level of a
hoisted kernel; every slot and workspace offset is 64-byte aligned. Allocations nested in
loops (register tiles, per-thread buffers in parallel loops) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import scf
from xdsl.dialects.builtin import FunctionType, IntegerAttr, MemRefType, ModuleOp, i8, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import tir
from xtvm.dialects.tir import buffer_bytes
from xtvm.lowering.te_to_tir.entry import align_up, first_fit
from xtvm.passes.registry import register_pass


def _top_level(op: Operation, block_parent: Operation) -> Operation:
    """The ancestor of ``op`` that sits directly in ``block_parent``'s body."""
    while op.parent_op() is not block_parent:
        parent = op.parent_op()
        assert parent is not None
        op = parent
    return op


@dataclass
class _Slot:
    scope: str
    size: int
    end: int
    members: list[tir.AllocOp] = field(default_factory=list)


def _lifetimes(f: tir.PrimFuncOp) -> list[tuple[tir.AllocOp, int, int]]:
    """Top-level allocs whose buffer is only loaded, stored or freed (never re-viewed),
    with the inclusive range of top-level op positions that use them. Unused ones are
    erased."""
    for op in list(f.block.ops):  # scratch nothing reads or writes
        if isinstance(op, tir.AllocOp) and all(
            isinstance(u.operation, tir.FreeOp) for u in op.buffer.uses
        ):
            for u in list(op.buffer.uses):
                Rewriter.erase_op(u.operation)
            Rewriter.erase_op(op)
    index = {op: n for n, op in enumerate(f.block.ops)}
    out = []
    for op in f.block.ops:
        if not isinstance(op, tir.AllocOp):
            continue
        users = [u.operation for u in op.buffer.uses if not isinstance(u.operation, tir.FreeOp)]
        if any(isinstance(r.type, MemRefType) for u in users for r in u.results):
            continue  # derived buffers (views) would escape this analysis
        pos = [index[_top_level(u, f)] for u in users]
        out.append((op, min(pos), max(pos)))
    return out


def assign_slots(lives: list[tuple[tir.AllocOp, int, int]]) -> list[_Slot]:
    """Greedy interval colouring per scope: a buffer joins a free slot (last member dead
    before its first use), preferring one already big enough and closest in size."""
    slots: list[_Slot] = []
    for alloc, first, last in sorted(lives, key=lambda t: (t[1], -buffer_bytes(t[0].buffer.type))):
        size = align_up(buffer_bytes(alloc.buffer.type))  # type: ignore[arg-type]
        scope = alloc.scope.data
        free = [s for s in slots if s.scope == scope and s.end < first]
        if free:
            slot = min(free, key=lambda s: (s.size < size, abs(s.size - size)))
        else:
            slot = _Slot(scope, 0, -1)
            slots.append(slot)
        slot.size = max(slot.size, size)
        slot.end = last
        slot.members.append(alloc)
    return slots


def _rewrite_kernel(f: tir.PrimFuncOp, hoist: bool) -> list[MemRefType]:
    """Merge ``f``'s top-level scratch into slots; with ``hoist``, heap slots become
    trailing arguments, whose types are returned."""
    slots = assign_slots(_lifetimes(f))
    ret = f.block.last_op
    assert isinstance(ret, tir.ReturnOp)
    new_args: list[MemRefType] = []
    for slot in slots:
        heap = slot.scope == "heap"
        if len(slot.members) < 2 and not (heap and hoist):
            continue
        t = MemRefType(i8, [slot.size])
        if heap and hoist:
            base: SSAValue = f.block.insert_arg(t, len(f.block.args))
            new_args.append(t)
        else:
            alloc = tir.AllocOp(t, slot.scope)
            Rewriter.insert_op(alloc, InsertPoint.at_start(f.block))
            base = alloc.buffer
            if heap:
                Rewriter.insert_op(tir.FreeOp(base), InsertPoint.before(ret))
        base.name_hint = f"{slot.scope}_slot"
        for member in slot.members:
            for use in list(member.buffer.uses):
                if isinstance(use.operation, tir.FreeOp):
                    Rewriter.erase_op(use.operation)
            view = tir.ViewOp(base, member.buffer.type, 0)  # type: ignore[arg-type]
            view.buffer.name_hint = member.buffer.name_hint
            Rewriter.replace_op(member, view)
    if new_args:
        ft = f.function_type
        f.function_type = FunctionType.from_lists([*ft.inputs.data, *new_args], [])
    return new_args


def _entry_call(op: Operation, entry: tir.PrimFuncOp) -> bool:
    """A call at the entry's top level or inside its ``scf.if`` branches and ``scf.while``
    loops (a call in a loop counts at the loop's position, where every buffer the loop
    uses is busy)."""
    parent = op.parent_op()
    while isinstance(parent, scf.IfOp | scf.WhileOp):
        parent = parent.parent_op()
    return parent is entry


def _hoistable(module: ModuleOp, entry: tir.PrimFuncOp | None) -> set[str]:
    """Kernels called only by ``tir.call``s of the entry function (top level or branches)."""
    if entry is None:
        return set()
    called: set[str] = set()
    elsewhere: set[str] = set()
    for op in module.walk():
        if isinstance(op, tir.CallOp):
            name = op.callee.root_reference.data
            (called if _entry_call(op, entry) else elsewhere).add(name)
    return called - elsewhere


def _place_scratch(entry: tir.PrimFuncOp, scratch: dict[str, list[MemRefType]]) -> None:
    """Give each call of a hoisted kernel workspace views for its slots, first-fit among
    the workspace buffers live at that call."""
    ops = list(entry.block.ops)
    index = {op: n for n, op in enumerate(ops)}
    spans: list[tuple[int, int, int, int]] = []  # first use, last use, offset, end
    for op in ops:
        if isinstance(op, tir.WorkspaceBufferOp):
            pos = [index[_top_level(u.operation, entry)] for u in op.buffer.uses]
            if pos:
                off = op.offset.value.data
                spans.append((min(pos), max(pos), off, off + buffer_bytes(op.buffer.type)))  # type: ignore[arg-type]
    attr = entry.attributes.get("xtvm.workspace_bytes")
    total = attr.value.data if isinstance(attr, IntegerAttr) else 0
    # a call inside an scf.if counts at the conditional's position: every buffer used in
    # either branch is busy there (conservative, and both branches' views stay apart)
    calls = [
        (index[_top_level(op, entry)], op) for op in entry.walk() if isinstance(op, tir.CallOp)
    ]
    for n, op in calls:
        types = scratch.get(op.callee.root_reference.data)
        if not types:
            continue
        busy = [(o, e - o) for a, b, o, e in spans if a <= n <= b]
        views = []
        for t in types:
            size = buffer_bytes(t)
            off = first_fit(busy, size)
            busy.append((off, size))
            wb = tir.WorkspaceBufferOp(t, off)
            wb.buffer.name_hint = "scratch"
            Rewriter.insert_op(wb, InsertPoint.before(op))
            views.append(wb.buffer)
            total = max(total, off + size)
        call = tir.CallOp(op.callee.root_reference.data, [*op.args, *views])
        call.attributes.update(op.attributes)
        Rewriter.replace_op(op, call)
    entry.attributes["xtvm.workspace_bytes"] = IntegerAttr(align_up(total), i64)


@register_pass
@dataclass(frozen=True)
class TirStorageRewritePass(ModulePass):
    """Share kernel scratch by liveness and move heap scratch into the workspace (see the
    module docstring)."""

    name = "tir-storage-rewrite"

    hoist_scratch: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        funcs = [f for f in op.ops if isinstance(f, tir.PrimFuncOp)]
        entry = next((f for f in funcs if f.is_entry), None)
        hoistable = _hoistable(op, entry) if self.hoist_scratch else set()
        scratch: dict[str, list[MemRefType]] = {}
        for f in funcs:
            if f.is_entry:
                continue
            name = f.sym_name.data
            types = _rewrite_kernel(f, name in hoistable)
            if types:
                scratch[name] = types
        if entry is not None and scratch:
            _place_scratch(entry, scratch)
