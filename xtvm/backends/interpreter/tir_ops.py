"""Interpreter functions for ``tir``, ``memref`` element access and basic ``vector`` ops.

Buffers are numpy arrays: arguments are the caller's arrays, workspace buffers are views
into one byte array (so liveness-based sharing is exercised for real), globals are
read-only arrays, and fresh allocations are filled with NaN (or a junk integer) so that
reading an element before writing it shows up in the results. Every index is bounds-checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects import memref, vector
from xdsl.dialects.builtin import MemRefType
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    ReturnedValues,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.utils.exceptions import InterpretationError

from xtvm.backends.interpreter.dtypes import np_dtype
from xtvm.backends.interpreter.gpu import GpuThreads
from xtvm.dialects import tir

_JUNK_INT = 0x5A5A5A5A


def _typed_view(base: np.ndarray, off: int, t: MemRefType, where: str) -> np.ndarray:
    """Buffer of type ``t`` over bytes ``[off, ...)`` of the uint8 array ``base``."""
    dt = np_dtype(t.element_type)
    shape = tuple(t.get_shape())
    n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if off + n > base.size:
        raise InterpretationError(f"buffer [{off}, {off + n}) beyond {where}")
    return base[off : off + n].view(dt).reshape(shape)


def fresh_buffer(t: MemRefType) -> np.ndarray:
    dt = np_dtype(t.element_type)
    shape = tuple(t.get_shape())
    if dt.kind == "f":
        return np.full(shape, np.nan, dtype=dt)
    if dt.kind == "b":
        return np.ones(shape, dtype=dt)
    return np.full(shape, _JUNK_INT % (1 << (8 * dt.itemsize - 1)), dtype=dt)


def _check(arr: np.ndarray, idx: tuple[int, ...], n_last: int = 1) -> None:
    if len(idx) != arr.ndim:
        raise InterpretationError(f"{len(idx)} indices for a rank-{arr.ndim} buffer")
    for d, (i, e) in enumerate(zip(idx, arr.shape)):
        hi = e - (n_last - 1) if d == arr.ndim - 1 else e
        if not 0 <= i < hi:
            raise InterpretationError(f"index {list(idx)} out of bounds of buffer {arr.shape}")


def _scalar(v: Any) -> Any:
    if isinstance(v, np.integer | np.bool_):
        return int(v)
    return v


@register_impls
class TirFunctions(InterpreterFunctions):
    def __init__(self, workspace: np.ndarray | None = None):
        super().__init__()
        self.workspace = workspace if workspace is not None else np.zeros(0, np.uint8)
        self.functions: dict[str, tir.PrimFuncOp] = {}
        self.globals: dict[str, np.ndarray] = {}
        self.gpu = GpuThreads()

    @impl(tir.ForOp)
    def run_for(self, interp: Interpreter, op: tir.ForOp, args):
        lb, ub, step = args
        if op.thread is not None and self.gpu.run_for(interp, op, ub):
            return ()
        for i in range(lb, ub, step):
            interp.run_ssacfg_region(op.body, (i,), "tir.for")
        return ()

    @impl_terminator(tir.YieldOp)
    def run_yield(self, interp: Interpreter, op: tir.YieldOp, args):
        return ReturnedValues(()), ()

    @impl_terminator(tir.ReturnOp)
    def run_return(self, interp: Interpreter, op: tir.ReturnOp, args):
        return ReturnedValues(()), ()

    @impl(tir.CallOp)
    def run_call(self, interp: Interpreter, op: tir.CallOp, args):
        fn = self.functions[op.callee.root_reference.data]
        interp.run_ssacfg_region(fn.body, args, fn.sym_name.data)
        return ()

    @impl(tir.AllocOp)
    def run_alloc(self, interp: Interpreter, op: tir.AllocOp, args):
        return (fresh_buffer(op.buffer.type),)

    @impl(tir.BarrierOp)
    def run_barrier(self, interp: Interpreter, op: tir.BarrierOp, args):
        self.gpu.barrier()
        return ()

    @impl(tir.FreeOp)
    def run_free(self, interp: Interpreter, op: tir.FreeOp, args):
        return ()

    @impl(tir.WorkspaceBufferOp)
    def run_workspace_buffer(self, interp: Interpreter, op: tir.WorkspaceBufferOp, args):
        return (_typed_view(self.workspace, op.offset.value.data, op.buffer.type, "workspace"),)

    @impl(tir.ViewOp)
    def run_view(self, interp: Interpreter, op: tir.ViewOp, args):
        base = args[0].view(np.uint8)
        return (_typed_view(base, op.offset.value.data, op.buffer.type, "its base buffer"),)

    @impl(tir.GlobalRefOp)
    def run_global_ref(self, interp: Interpreter, op: tir.GlobalRefOp, args):
        return (self.globals[op.global_name.root_reference.data],)

    @impl(memref.LoadOp)
    def run_load(self, interp: Interpreter, op: memref.LoadOp, args):
        arr, *idx = args
        _check(arr, tuple(idx))
        return (_scalar(arr[tuple(idx)]),)

    @impl(memref.StoreOp)
    def run_store(self, interp: Interpreter, op: memref.StoreOp, args):
        val, arr, *idx = args
        _check(arr, tuple(idx))
        arr[tuple(idx)] = val
        return ()

    @impl(vector.LoadOp)
    def run_vector_load(self, interp: Interpreter, op: vector.LoadOp, args):
        arr, *idx = args
        n = op.result.type.get_shape()[-1]
        _check(arr, tuple(idx), n)
        return (arr[(*idx[:-1], slice(idx[-1], idx[-1] + n))].copy(),)

    @impl(vector.StoreOp)
    def run_vector_store(self, interp: Interpreter, op: vector.StoreOp, args):
        val, arr, *idx = args
        n = len(val)
        _check(arr, tuple(idx), n)
        arr[(*idx[:-1], slice(idx[-1], idx[-1] + n))] = val
        return ()

    @impl(vector.BroadcastOp)
    def run_broadcast(self, interp: Interpreter, op: vector.BroadcastOp, args):
        t = op.vector.type
        return (np.full(tuple(t.get_shape()), args[0], dtype=np_dtype(t.element_type)),)

    @impl(vector.FMAOp)
    def run_vector_fma(self, interp: Interpreter, op: vector.FMAOp, args):
        a, b, c = args
        return ((a * b + c).astype(a.dtype),)

    @impl(vector.ReductionOp)
    def run_reduction(self, interp: Interpreter, op: vector.ReductionOp, args):
        v, *acc = args
        kind = op.kind.data.value
        fns = {
            "add": np.sum,
            "mul": np.prod,
            "maximumf": np.max,
            "minimumf": np.min,
            "maxnumf": np.nanmax,
            "minnumf": np.nanmin,
            "maxsi": np.max,
            "minsi": np.min,
        }
        if kind not in fns:
            raise InterpretationError(f"vector.reduction <{kind}> not supported")
        r = fns[kind](v)
        if acc:
            r = fns[kind](np.array([r, acc[0]], dtype=v.dtype))
        return (_scalar(v.dtype.type(r)),)
