"""Per-kernel timing hooks in ``xtvm_main`` (``convert-tir-to-llvm{profile=true}``).

Each kernel call of the entry function is bracketed by two reads of the monotonic clock;
the difference is added to ``@xtvm_prof_ns[k]`` and ``@xtvm_prof_calls[k]`` is bumped,
``k`` being the kernel's slot (one per distinct callee, in first-call order). The last
slot ``n`` times the whole entry function, so the runtime can tell kernel time from
what lies between kernels. Both arrays are ``weak`` globals of ``n + 1`` i64: exported
like ``@xtvm_num_threads``, so the runtime finds them in a JIT engine and in a shared
library alike, and LLVM never folds their values. The kernel names go into
``xtvm.metadata`` under ``"profile"``.

The clock is libc's ``clock_gettime(CLOCK_MONOTONIC)`` (Linux numbering, 64-bit
``timespec``), behind one internal helper ``@xtvm_prof_clock() -> i64`` nanoseconds.
Nothing here runs unless ``profile`` is set, so ordinary builds carry no timing code.
"""

from __future__ import annotations

from xdsl.dialects import llvm
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerAttr, TensorType, i32, i64
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.lowering.tir_to_llvm.state import PTR, FuncLowering, ModuleState

NS_SYMBOL = "xtvm_prof_ns"
CALLS_SYMBOL = "xtvm_prof_calls"
CLOCK_FUNC = "xtvm_prof_clock"
CLOCK_MONOTONIC = 1  # Linux's value


def _counter_global(name: str, slots: int) -> llvm.GlobalOp:
    zeros = DenseIntOrFPElementsAttr.from_list(TensorType(i64, [slots]), [0] * slots)
    return llvm.GlobalOp(llvm.LLVMArrayType(slots, i64), name, "weak", value=zeros, alignment=8)


def _clock_func(ms: ModuleState) -> llvm.FuncOp:
    """``i64 @xtvm_prof_clock()``: ``tv_sec * 1e9 + tv_nsec`` of the monotonic clock."""
    gettime = ms.declare("clock_gettime", [i32, PTR], i32)
    func = llvm.FuncOp(
        CLOCK_FUNC, llvm.LLVMFunctionType([], i64), linkage=llvm.LinkageAttr("internal")
    )
    fl = FuncLowering(ms, func)
    ts = fl.alloca(16, 8)
    fl.call(gettime, [fl.const(CLOCK_MONOTONIC, i32), ts], i32)
    sec = fl.emit(llvm.LoadOp(ts, i64, alignment=8))
    nsec_ptr = fl.emit(llvm.GEPOp(ts, [1], i64, inbounds=True))
    nsec = fl.emit(llvm.LoadOp(nsec_ptr, i64, alignment=8))
    ns = fl.emit(llvm.AddOp(fl.emit(llvm.MulOp(sec, fl.const(1_000_000_000))), nsec))
    fl.emit(llvm.ReturnOp(ns))
    fl.finish()
    return func


def _read_clock(ops: list[Operation]) -> SSAValue:
    call = llvm.CallOp(CLOCK_FUNC, return_type=i64)
    ops.append(call)
    return call.returned


def _accumulate(ops: list[Operation], symbol: str, slot: int, amount: SSAValue) -> None:
    """``symbol[slot] += amount`` as plain (single-threaded) load/add/store."""
    base = llvm.AddressOfOp(symbol, PTR)
    ptr = llvm.GEPOp(base.result, [slot], i64, inbounds=True)
    old = llvm.LoadOp(ptr.result, i64, alignment=8)
    new = llvm.AddOp(old.dereferenced_value, amount)
    ops += [base, ptr, old, new, llvm.StoreOp(new.res, ptr.result, alignment=8)]


def _record(ops: list[Operation], slot: int, start: SSAValue) -> None:
    """Add the time since ``start`` and one call to ``slot``."""
    elapsed = llvm.SubOp(_read_clock(ops), start)
    ops.append(elapsed)
    _accumulate(ops, NS_SYMBOL, slot, elapsed.res)
    one = llvm.ConstantOp(IntegerAttr(1, i64), i64)
    ops.append(one)
    _accumulate(ops, CALLS_SYMBOL, slot, one.result)


def instrument_entry(
    ms: ModuleState, entry: llvm.FuncOp, kernels: set[str]
) -> tuple[list[llvm.GlobalOp], list[str]]:
    """Time every call from ``entry`` to a function named in ``kernels``.

    Returns the counter globals to add to the module and the kernel name of each slot.
    """
    calls = [
        op
        for block in entry.body.blocks
        for op in block.ops
        if isinstance(op, llvm.CallOp) and op.callee.root_reference.data in kernels
    ]
    names: list[str] = []
    slots: dict[str, int] = {}
    for call in calls:
        name = call.callee.root_reference.data
        if name not in slots:
            slots[name] = len(names)
            names.append(name)
    total_slot = len(names)
    ms.extra_funcs.append(_clock_func(ms))

    for call in calls:
        before: list[Operation] = []
        start = _read_clock(before)
        Rewriter.insert_op(before, InsertPoint.before(call))
        after: list[Operation] = []
        _record(after, slots[call.callee.root_reference.data], start)
        Rewriter.insert_op(after, InsertPoint.after(call))

    # The whole entry: from the end of its first block to every return.
    first = entry.body.blocks[0]
    assert first.last_op is not None
    begin: list[Operation] = []
    run_start = _read_clock(begin)
    Rewriter.insert_op(begin, InsertPoint.before(first.last_op))
    for block in entry.body.blocks:
        for op in list(block.ops):
            if isinstance(op, llvm.ReturnOp):
                end: list[Operation] = []
                _record(end, total_slot, run_start)
                Rewriter.insert_op(end, InsertPoint.before(op))
    counters = [_counter_global(s, total_slot + 1) for s in (NS_SYMBOL, CALLS_SYMBOL)]
    return counters, names
