"""``convert-tir-to-llvm``: tir (+ arith/math/vector/memref/scf.if bodies) -> ``llvm`` dialect.

Expects tir per docs/contracts.md (``tir-vectorize`` may or may not have run).
Guarantees a module of only ``llvm.func`` and ``llvm.mlir.global`` whose bodies hold only
``llvm`` ops plus ``llvmx`` ops (vector compare/select, int<->float casts, extractelement),
following the ABI in docs/contracts.md:

* kernel ``tir.prim_func @k`` -> ``llvm.func internal @k(!llvm.ptr {llvm.noalias}, ...)``
* the ``xtvm.entry`` function -> ``llvm.func @xtvm_main(%args: !llvm.ptr, %ws: !llvm.ptr)
  -> i32`` that loads buffer ``k`` from ``args[k]`` and returns 0
* ``tir.global`` -> ``llvm.mlir.global internal constant`` (an array of the elements)
* the module gets ``xtvm.metadata``: the JSON signature the runtime needs.
* a module with parallel loops gets ``llvm.mlir.global weak @xtvm_num_threads``
  (i32, initialized to ``num_threads``; 0 = the OpenMP default) that every fork reads.
* with ``profile``, the entry times each kernel call into ``@xtvm_prof_ns`` /
  ``@xtvm_prof_calls`` and the metadata names the kernels (see :mod:`.profile`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from xdsl.context import Context
from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
    UnitAttr,
    i32,
)
from xdsl.ir import Attribute, Operation
from xdsl.passes import ModulePass

# Importing the handler modules registers their lowerings.
from xtvm.dialects import tir
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm import arith_ops, control, math_vector, memory, parallel, profile
from xtvm.lowering.tir_to_llvm.parallel import PARALLEL_MIN_WORK
from xtvm.lowering.tir_to_llvm.state import PTR, FuncLowering, ModuleState, lower_type
from xtvm.passes.registry import register_pass

ENTRY_SYMBOL = "xtvm_main"
METADATA_ATTR = "xtvm.metadata"
_HANDLER_MODULES = (arith_ops, control, math_vector, memory, parallel)


def numpy_dtype(t: Attribute) -> str:
    """numpy's name for a memref element type (float32, int64, bool, uint8, ...)."""
    if isinstance(t, BFloat16Type):
        return "bfloat16"  # ml_dtypes' name; the runtime says how it is passed
    if isinstance(t, AnyFloat):
        return f"float{t.bitwidth}"
    if isinstance(t, IntegerType):
        width = t.width.data
        if width == 1:
            return "bool"
        unsigned = t.signedness.data == Signedness.UNSIGNED
        return f"{'uint' if unsigned else 'int'}{width}"
    raise CompileError(f"no numpy dtype for element type {t}")


def entry_metadata(entry: tir.PrimFuncOp) -> dict[str, Any]:
    """``{"inputs": [...], "outputs": [...], "workspace_bytes": B}`` for the entry function."""
    types = list(entry.function_type.inputs.data)
    names_attr = entry.attributes.get("xtvm.arg_names")
    names = (
        [a.data for a in names_attr.data if isinstance(a, StringAttr)]
        if isinstance(names_attr, ArrayAttr)
        else []
    )
    if len(names) != len(types):
        names = [f"arg{k}" for k in range(len(types))]
    n_in = entry.attributes.get("xtvm.num_inputs")
    num_inputs = n_in.value.data if isinstance(n_in, IntegerAttr) else max(0, len(types) - 1)
    ws = entry.attributes.get("xtvm.workspace_bytes")
    infos = []
    for name, t in zip(names, types):
        assert isinstance(t, MemRefType)
        infos.append(
            {"name": name, "shape": list(t.get_shape()), "dtype": numpy_dtype(t.element_type)}
        )
    return {
        "inputs": infos[:num_inputs],
        "outputs": infos[num_inputs:],
        "workspace_bytes": ws.value.data if isinstance(ws, IntegerAttr) else 0,
    }


def _lower_global(op: tir.GlobalOp) -> llvm.GlobalOp:
    t = op.type
    count = 1
    for d in t.get_shape():
        count *= d
    elt, value = lower_type(t.element_type), op.value
    if elt != t.element_type and isinstance(value, DenseIntOrFPElementsAttr):
        value = DenseIntOrFPElementsAttr(TensorType(elt, t.get_shape()), value.data)  # bf16 bits
    return llvm.GlobalOp(
        llvm.LLVMArrayType(count, elt),
        op.sym_name.data,
        "internal",
        constant=True,
        value=value,
        alignment=64,
    )


def _lower_func(ms: ModuleState, op: tir.PrimFuncOp) -> llvm.FuncOp:
    n = len(op.function_type.inputs.data)
    if op.is_entry:
        ft = llvm.LLVMFunctionType([PTR, PTR], i32)
        func = llvm.FuncOp(ENTRY_SYMBOL, ft, linkage=llvm.LinkageAttr("external"))
    else:
        ft = llvm.LLVMFunctionType([PTR] * n, None)
        noalias = DictionaryAttr({"llvm.noalias": UnitAttr()})
        func = llvm.FuncOp(
            op.sym_name.data,
            ft,
            linkage=llvm.LinkageAttr("internal"),
            other_props={"arg_attrs": ArrayAttr([noalias] * n)},
        )
    fl = FuncLowering(ms, func)
    if op.is_entry:
        fl.returns_status = True
        args_ptr, fl.workspace = fl.args
        for k, arg in enumerate(op.block.args):
            slot = fl.emit(llvm.GEPOp(args_ptr, [k], PTR, inbounds=True))
            fl.set(arg, fl.emit(llvm.LoadOp(slot, PTR, alignment=8)))
    else:
        for arg, new in zip(op.block.args, fl.args):
            fl.set(arg, new)
    fl.lower_ops(op.block)
    fl.finish()
    return func


@register_pass
@dataclass(frozen=True)
class ConvertTirToLlvmPass(ModulePass):
    """Lower a tir module to the llvm dialect (see the module docstring)."""

    name = "convert-tir-to-llvm"

    num_threads: int = 0
    """Threads per parallel loop unless the runtime changes it; 0 = all cores."""

    profile: bool = False
    """Time every kernel call of the entry function (for ``Module.profile``)."""

    parallel_min_work: int = PARALLEL_MIN_WORK
    """A parallel loop that executes fewer ops than this (counted statically) runs serially:
    a fork/join would cost more than it saves. 0 keeps every parallel loop."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.num_threads < 0:
            raise CompileError(f"num_threads must be >= 0, got {self.num_threads}")
        if self.parallel_min_work < 0:
            raise CompileError(f"parallel_min_work must be >= 0, got {self.parallel_min_work}")
        ms = ModuleState(self.parallel_min_work)
        globals_: list[Operation] = []
        funcs: list[Operation] = []
        entries = [f for f in op.ops if isinstance(f, tir.PrimFuncOp) and f.is_entry]
        if len(entries) > 1:
            raise CompileError("a module may have only one xtvm.entry function")
        for top in op.ops:
            if isinstance(top, tir.GlobalOp):
                globals_.append(_lower_global(top))
            elif isinstance(top, tir.PrimFuncOp):
                funcs.append(_lower_func(ms, top))
            else:
                raise CompileError(f"convert-tir-to-llvm: unexpected top-level '{top.name}'")
        block = op.body.block
        for top in list(block.ops):
            top.detach()
            top.erase(safe_erase=False)
        if parallel.GOMP_PARALLEL in ms.declarations:
            globals_.append(parallel.num_threads_global(self.num_threads))
        kernel_names: list[str] | None = None
        if self.profile and entries:
            entry_func = next(f for f in funcs if f.sym_name.data == ENTRY_SYMBOL)
            kernels = {f.sym_name.data for f in funcs} - {ENTRY_SYMBOL}
            counters, kernel_names = profile.instrument_entry(ms, entry_func, kernels)
            globals_ += counters
        block.add_ops([*globals_, *ms.declarations.values(), *funcs, *ms.extra_funcs])
        if entries:
            meta = entry_metadata(entries[0])
            if kernel_names is not None:
                meta["profile"] = kernel_names
            op.attributes[METADATA_ATTR] = StringAttr(json.dumps(meta))


def module_metadata(module: ModuleOp) -> dict[str, Any]:
    """The ``xtvm.metadata`` signature that ``convert-tir-to-llvm`` attached to ``module``."""
    attr = module.attributes.get(METADATA_ATTR)
    if not isinstance(attr, StringAttr):
        raise CompileError("module has no xtvm.metadata (was it lowered from a tir entry?)")
    return json.loads(attr.data)
