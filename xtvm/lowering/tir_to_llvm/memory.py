"""Buffers: element access as ``getelementptr`` + aligned load/store; scratch allocation.

A static-shape row-major memref is a plain pointer; ``%m[%i, %j]`` is one inbounds GEP
over the element type at ``i * stride0 + j`` (constant strides, constant indices folded).
Every load/store carries alignment = element size: numpy buffers promise no more, and a
vector access without alignment would be assumed vector-aligned and could fault.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, llvm, memref, vector
from xdsl.dialects.builtin import IntegerAttr, MemRefType, VectorType, i1, i8, i64
from xdsl.ir import Attribute, SSAValue

from xtvm.dialects import tir
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.state import PTR, FuncLowering, byte_size, lower_type, lowers

HEAP_ALIGN = 64
LOCAL_ALIGN = 64


def _strides(t: MemRefType) -> list[int]:
    shape = list(t.get_shape())
    if any(d < 0 for d in shape):
        raise CompileError(f"dynamic memref {t} cannot be lowered")
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return strides[::-1]


def element_ptr(fl: FuncLowering, buf: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
    """Pointer to ``buf[indices]`` (a tir memref value)."""
    t = buf.type
    assert isinstance(t, MemRefType)
    const_part = 0
    terms: list[SSAValue] = []
    for idx, stride in zip(indices, _strides(t)):
        owner = idx.owner
        if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
            const_part += owner.value.value.data * stride
            continue
        v = fl.get(idx)
        if stride != 1:
            v = fl.emit(llvm.MulOp(v, fl.const(stride)))
        terms.append(v)
    if const_part or not terms:
        terms.append(fl.const(const_part))
    linear = terms[0]
    for v in terms[1:]:
        linear = fl.emit(llvm.AddOp(linear, v))
    elt = lower_type(t.element_type)
    gep = llvm.GEPOp.from_mixed_indices(fl.get(buf), [linear], elt, inbounds=True)
    return fl.emit(gep)


def _align(t: MemRefType) -> int:
    return byte_size(t.element_type)


@lowers(memref.LoadOp)
def _load(fl: FuncLowering, op: memref.LoadOp) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    ptr = element_ptr(fl, op.memref, list(op.indices))
    elt = lower_type(t.element_type)
    fl.set(op.res, fl.emit(llvm.LoadOp(ptr, elt, alignment=_align(t))))


@lowers(memref.StoreOp)
def _store(fl: FuncLowering, op: memref.StoreOp) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    ptr = element_ptr(fl, op.memref, list(op.indices))
    fl.emit(llvm.StoreOp(fl.get(op.value), ptr, alignment=_align(t)))


def _byte_vector(t: Attribute) -> VectorType:
    """``vector<N x i8>``: how a ``vector<N x i1>`` sits in memory (LLVM would pack bits)."""
    assert isinstance(t, VectorType)
    return VectorType(i8, t.get_shape())


@lowers(vector.LoadOp)
def _vload(fl: FuncLowering, op: vector.LoadOp) -> None:
    t = op.base.type
    assert isinstance(t, MemRefType)
    ptr = element_ptr(fl, op.base, list(op.indices))
    if t.element_type == i1:
        raw = fl.emit(llvm.LoadOp(ptr, _byte_vector(op.result.type), alignment=1))
        fl.set(op.result, fl.emit(llvm.TruncOp(raw, op.result.type)))
        return
    vt = lower_type(op.result.type)
    fl.set(op.result, fl.emit(llvm.LoadOp(ptr, vt, alignment=_align(t))))


@lowers(vector.StoreOp)
def _vstore(fl: FuncLowering, op: vector.StoreOp) -> None:
    t = op.base.type
    assert isinstance(t, MemRefType)
    ptr = element_ptr(fl, op.base, list(op.indices))
    value = fl.get(op.vector)
    if t.element_type == i1:
        value = fl.emit(llvm.ZExtOp(value, _byte_vector(value.type)))
    fl.emit(llvm.StoreOp(value, ptr, alignment=_align(t)))


def _num_elements(t: MemRefType) -> int:
    n = 1
    for d in t.get_shape():
        n *= d
    return n


@lowers(tir.AllocOp)
def _alloc(fl: FuncLowering, op: tir.AllocOp) -> None:
    t = op.buffer.type
    assert isinstance(t, MemRefType)
    count = max(1, _num_elements(t))
    if op.scope.data == "local":
        fl.set(op.buffer, fl.alloca(count * byte_size(t.element_type), LOCAL_ALIGN))
        return
    nbytes = count * byte_size(t.element_type)
    nbytes = (nbytes + HEAP_ALIGN - 1) // HEAP_ALIGN * HEAP_ALIGN  # aligned_alloc's rule
    name = fl.module.declare("aligned_alloc", [i64, i64], PTR)
    fl.set(op.buffer, fl.call(name, [fl.const(HEAP_ALIGN), fl.const(nbytes)], PTR))


@lowers(tir.FreeOp)
def _free(fl: FuncLowering, op: tir.FreeOp) -> None:
    owner = op.buffer.owner
    if isinstance(owner, tir.AllocOp) and owner.scope.data == "local":
        return  # stack slots go away with the frame
    fl.call(fl.module.declare("free", [PTR]), [fl.get(op.buffer)])


@lowers(tir.WorkspaceBufferOp)
def _workspace(fl: FuncLowering, op: tir.WorkspaceBufferOp) -> None:
    if fl.workspace is None:
        raise CompileError(f"@{fl.name}: tir.workspace_buffer outside the entry function")
    offset = fl.const(op.offset.value.data)
    gep = llvm.GEPOp.from_mixed_indices(fl.workspace, [offset], i8, inbounds=True)
    fl.set(op.buffer, fl.emit(gep))


@lowers(tir.ViewOp)
def _view(fl: FuncLowering, op: tir.ViewOp) -> None:
    base = fl.get(op.base)
    off = op.offset.value.data
    if off == 0:
        fl.set(op.buffer, base)
        return
    gep = llvm.GEPOp.from_mixed_indices(base, [fl.const(off)], i8, inbounds=True)
    fl.set(op.buffer, fl.emit(gep))


@lowers(tir.GlobalRefOp)
def _global_ref(fl: FuncLowering, op: tir.GlobalRefOp) -> None:
    name = op.global_name.root_reference.data
    fl.set(op.buffer, fl.emit(llvm.AddressOfOp(name, PTR)))
