"""``tir.for kind(parallel)`` -> an outlined body run by libgomp's ``GOMP_parallel``.

Values the loop uses from outside are packed into 8-byte words on the caller's stack
(``%data``); constants and global addresses are rematerialized instead, so LLVM still
sees constant bounds. The caller runs ``GOMP_parallel(@<f>_parallel_<n>, %data, %n, 0)``
with ``%n`` loaded from the exported global ``@xtvm_num_threads`` (0 = libgomp's default,
i.e. OMP_NUM_THREADS or all cores), which the runtime may overwrite between calls; it
returns when all threads are done. That trampoline unpacks ``%data`` and takes one contiguous chunk per thread,
``chunk = ceil(trips / nthreads)``, ``[tid * chunk, min(trips, (tid + 1) * chunk))`` from
``omp_get_thread_num()`` / ``omp_get_num_threads()``, and calls
``@<f>_parallel_<n>_body(captured..., first, last)``, where buffers are ``noalias``
arguments again and the loop body runs serially. Nested parallel loops run serially, and so
does a loop whose statically counted work is below ``PARALLEL_MIN_WORK``.
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.dialects import arith, llvm
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    UnitAttr,
    VectorType,
    i32,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from xtvm.dialects import tir
from xtvm.lowering.tir_to_llvm.control import counted_loop
from xtvm.lowering.tir_to_llvm.state import (
    HANDLERS,
    PTR,
    FuncLowering,
    byte_size,
    lower_type,
)

GOMP_PARALLEL = "GOMP_parallel"
NUM_THREADS_SYMBOL = "xtvm_num_threads"
PARALLEL_MIN_WORK = 65536
"""Ops a parallel loop must execute in all (statically counted) to be run on threads: one
fork/join through libgomp costs a few microseconds with spinning workers and tens with
sleeping ones (``OMP_WAIT_POLICY=passive``), more than a smaller loop takes on one core.
Tiny models (a voice-activity detector's 0.1 ms) ran several times slower at 2 threads."""
UNKNOWN = 1 << 40


def _static_trips(loop: tir.ForOp) -> int:
    """The loop's trip count when its bounds are constants, else a huge number."""
    bounds = []
    for v in (loop.lb, loop.ub, loop.step):
        op = v.owner
        if not isinstance(op, arith.ConstantOp) or not isinstance(op.value, IntegerAttr):
            return UNKNOWN
        bounds.append(op.value.value.data)
    lb, ub, step = bounds
    return max(0, -(-(ub - lb) // step)) if step > 0 else UNKNOWN


def _work(ops: Iterable[Operation]) -> int:
    total = 0
    for op in ops:
        if isinstance(op, tir.ForOp):
            total += _static_trips(op) * _work(op.block.ops)
        elif op.regions:
            total += 1 + sum(_work(b.ops) for r in op.regions for b in r.blocks)
        else:
            total += 1
        if total >= UNKNOWN:
            return UNKNOWN
    return total


def worth_parallel(loop: tir.ForOp, min_work: int) -> bool:
    """Whether ``loop`` does at least ``min_work`` ops, enough to pay for threads."""
    return min_work <= 0 or _static_trips(loop) * _work(loop.block.ops) >= min_work


def num_threads_global(default: int) -> llvm.GlobalOp:
    """``@xtvm_num_threads``: a writable, exported i32 the runtime sets to pick the thread
    count per module (a process-wide ``omp_set_num_threads`` would leak into the caller).

    Weak linkage: exported like external, and LLVM never folds its initial value into loads.
    """
    return llvm.GlobalOp(
        i32, NUM_THREADS_SYMBOL, "weak", value=IntegerAttr(default, i32), alignment=4
    )


def captured_values(loop: tir.ForOp) -> list[SSAValue]:
    """Values defined outside ``loop`` and used by it (bounds included), in first-use order."""
    inside: set[SSAValue] = set()
    for op in loop.walk():
        if op is not loop:
            inside.update(op.results)
        for region in op.regions:
            for block in region.blocks:
                inside.update(block.args)
    seen: dict[SSAValue, None] = {}
    for op in loop.walk():
        for v in op.operands:
            if v not in inside:
                seen.setdefault(v, None)
    return list(seen)


def _rematerializable(v: SSAValue) -> bool:
    return isinstance(v.owner, arith.ConstantOp | tir.GlobalRefOp)


def _slot(fl: FuncLowering, data: SSAValue, word: int) -> SSAValue:
    """Address of the field starting at 8-byte word ``word`` of the argument block."""
    return fl.emit(llvm.GEPOp(data, [word], PTR, inbounds=True))


def _layout(types: list[Attribute]) -> tuple[list[int], int]:
    """Word offset of each captured value (8-byte words; vectors take several)."""
    offsets, words = [], 0
    for t in types:
        size = _natural_align(t) * (t.get_shape()[0] if isinstance(t, VectorType) else 1)
        offsets.append(words)
        words += -(-size // 8)
    return offsets, words


def _omp_call(fl: FuncLowering, name: str) -> SSAValue:
    return fl.call(fl.module.declare(name, [], i32), [], i32)


def _ceil_div(fl: FuncLowering, a: SSAValue, b: SSAValue, one: SSAValue) -> SSAValue:
    """(a + b - 1) / b for b > 0."""
    return fl.emit(llvm.SDivOp(fl.emit(llvm.AddOp(a, fl.emit(llvm.SubOp(b, one)))), b))


def lower_parallel(fl: FuncLowering, loop: tir.ForOp) -> None:
    captured = captured_values(loop)
    fields = [v for v in captured if not _rematerializable(v)]
    field_types = [lower_type(v.type) for v in fields]
    offsets, words = _layout(field_types)

    # Caller side: pack the captured values, then fork/join.
    if fields:
        data = fl.alloca(8 * words, 64)
        for k, v in enumerate(fields):
            slot = _slot(fl, data, offsets[k])
            fl.emit(llvm.StoreOp(fl.get(v), slot, alignment=_natural_align(field_types[k])))
    else:
        data = fl.emit(llvm.ZeroOp.create(result_types=[PTR]))
    name = fl.module.fresh_name(f"{fl.name}_parallel")
    internal = llvm.LinkageAttr("internal")
    trampoline = llvm.FuncOp(name, llvm.LLVMFunctionType([PTR], None), linkage=internal)
    noalias = DictionaryAttr({"llvm.noalias": UnitAttr()})
    body_fn = llvm.FuncOp(
        f"{name}_body",
        llvm.LLVMFunctionType([*field_types, i64, i64], None),
        linkage=internal,
        other_props={
            "arg_attrs": ArrayAttr(
                [noalias if t == PTR else DictionaryAttr({}) for t in field_types]
                + [DictionaryAttr({})] * 2
            )
        },
    )
    fl.module.extra_funcs += [trampoline, body_fn]
    gomp = fl.module.declare(GOMP_PARALLEL, [PTR, PTR, i32, i32])
    fn_ptr = fl.emit(llvm.AddressOfOp(name, PTR))
    nthreads_ptr = fl.emit(llvm.AddressOfOp(NUM_THREADS_SYMBOL, PTR))
    nthreads = fl.emit(llvm.LoadOp(nthreads_ptr, i32, alignment=4))
    fl.call(gomp, [fn_ptr, data, nthreads, fl.const(0, i32)])

    # Trampoline: unpack, take this thread's chunk, call the body on [first, last).
    tramp = FuncLowering(fl.module, trampoline, in_parallel=True)
    arg = tramp.args[0]
    values: dict[SSAValue, SSAValue] = {}
    for k, v in enumerate(fields):
        slot = _slot(tramp, arg, offsets[k])
        align = _natural_align(field_types[k])
        values[v] = tramp.emit(llvm.LoadOp(slot, field_types[k], alignment=align))
        tramp.set(v, values[v])
    _rematerialize(tramp, captured)
    lb, ub, step = (tramp.get(v) for v in (loop.lb, loop.ub, loop.step))
    tid = tramp.emit(llvm.SExtOp(_omp_call(tramp, "omp_get_thread_num"), i64))
    nth = tramp.emit(llvm.SExtOp(_omp_call(tramp, "omp_get_num_threads"), i64))
    one = tramp.const(1)
    trips = _ceil_div(tramp, tramp.emit(llvm.SubOp(ub, lb)), step, one)
    chunk = _ceil_div(tramp, trips, nth, one)
    begin = tramp.emit(llvm.MulOp(tid, chunk))
    end = tramp.emit(llvm.AddOp(begin, chunk))
    end = tramp.select(tramp.icmp("slt", end, trips), end, trips)
    # iv = lb + it * step for it in [begin, end)
    first = tramp.emit(llvm.AddOp(lb, tramp.emit(llvm.MulOp(begin, step))))
    last = tramp.emit(llvm.AddOp(lb, tramp.emit(llvm.MulOp(end, step))))
    tramp.call(body_fn.sym_name.data, [*(values[v] for v in fields), first, last])
    tramp.emit(llvm.ReturnOp())
    tramp.finish()

    # Body: buffers arrive as noalias arguments (tir buffers never alias), which keeps
    # LLVM's alias analysis as sharp as in the kernel itself.
    body = FuncLowering(fl.module, body_fn, in_parallel=True)
    for v, a in zip(fields, body.args):
        body.set(v, a)
    _rematerialize(body, captured)
    first, last = body.args[-2:]
    counted_loop(body, first, last, body.get(loop.step), loop)
    body.emit(llvm.ReturnOp())
    body.finish()


def _rematerialize(fl: FuncLowering, captured: list[SSAValue]) -> None:
    for v in captured:
        if _rematerializable(v):
            HANDLERS[type(v.owner)](fl, v.owner)


def _natural_align(t: Attribute) -> int:
    """Alignment of a captured scalar/pointer/vector slot in the argument block."""
    if isinstance(t, VectorType):
        return byte_size(t.element_type)
    return 8 if t == PTR else byte_size(t)
