"""A reference interpreter for ``tir`` modules, for tests: slow, simple, bounds-checked.

``run_tir(module, inputs)`` runs the entry ``tir.prim_func`` (the one with ``xtvm.entry``)
on numpy arrays and returns its outputs. Built on xDSL's interpreter: ``scf`` and
``builtin`` come from xDSL, while ``tir``, ``memref`` element access, ``vector`` and a
numpy-based ``arith``/``math`` (element-type precision, vector operands) are ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.interpreter import Interpreter
from xdsl.interpreters.builtin import BuiltinFunctions
from xdsl.interpreters.scf import ScfFunctions

from xtvm.backends.interpreter.arith_math import ArithMathFunctions
from xtvm.backends.interpreter.dtypes import np_dtype
from xtvm.backends.interpreter.tir_ops import TirFunctions
from xtvm.dialects import tir
from xtvm.errors import InputError

__all__ = ["run_tir", "run_prim_func"]


def _interpreter(module: ModuleOp, workspace: np.ndarray) -> tuple[Interpreter, TirFunctions]:
    fns = TirFunctions(workspace)
    for op in module.ops:
        if isinstance(op, tir.PrimFuncOp):
            fns.functions[op.sym_name.data] = op
        elif isinstance(op, tir.GlobalOp):
            t = op.type
            vals = np.array(op.value.get_values(), dtype=np_dtype(t.element_type))
            shape = tuple(t.get_shape())
            arr = np.broadcast_to(vals, shape).copy() if vals.size == 1 else vals.reshape(shape)
            arr.flags.writeable = False
            fns.globals[op.sym_name.data] = arr
    interp = Interpreter(module, index_bitwidth=64)
    interp.register_implementations(fns)
    interp.register_implementations(ArithMathFunctions())
    interp.register_implementations(ScfFunctions())
    interp.register_implementations(BuiltinFunctions())
    return interp, fns


def _arg_arrays(fn: tir.PrimFuncOp, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    out = []
    for k, (t, a) in enumerate(zip(fn.function_type.inputs.data, arrays)):
        assert isinstance(t, MemRefType)
        shape = tuple(t.get_shape())
        if tuple(np.shape(a)) != shape:
            raise InputError(
                f"argument {k} of @{fn.sym_name.data}: shape {np.shape(a)}, want {shape}"
            )
        out.append(a)
    return out


def run_prim_func(module: ModuleOp, name: str, buffers: Sequence[np.ndarray]) -> None:
    """Run one prim_func on caller-owned buffers (written in place)."""
    interp, fns = _interpreter(module, np.zeros(0, np.uint8))
    fn = fns.functions[name]
    with np.errstate(all="ignore"):
        interp.run_ssacfg_region(fn.body, tuple(_arg_arrays(fn, buffers)), name)


def run_tir(module: ModuleOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run the entry prim_func of ``module`` on ``inputs``; return fresh output arrays."""
    entries = [
        op
        for op in module.ops
        if isinstance(op, tir.PrimFuncOp) and tir.ENTRY_ATTR in op.attributes
    ]
    if len(entries) != 1:
        raise InputError(f"expected one entry tir.prim_func, found {len(entries)}")
    fn = entries[0]
    n_in = fn.attributes["xtvm.num_inputs"].value.data  # type: ignore[attr-defined]
    ws_bytes = fn.attributes["xtvm.workspace_bytes"].value.data  # type: ignore[attr-defined]
    types = list(fn.function_type.inputs.data)
    if len(inputs) != n_in:
        raise InputError(f"@{fn.sym_name.data} takes {n_in} inputs, got {len(inputs)}")
    args = [np.array(a, dtype=np_dtype(t.element_type)) for a, t in zip(inputs, types)]  # type: ignore[attr-defined]
    outs = [np.full(tuple(t.get_shape()), 0, np_dtype(t.element_type)) for t in types[n_in:]]  # type: ignore[attr-defined]
    for o in outs:
        if o.dtype.kind == "f":
            o.fill(np.nan)
    workspace = np.full(ws_bytes, 0xFF, np.uint8)
    interp, _ = _interpreter(module, workspace)
    with np.errstate(all="ignore"):
        interp.run_ssacfg_region(fn.body, tuple(_arg_arrays(fn, [*args, *outs])), "main")
    return outs
