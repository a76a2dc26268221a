"""Reference semantics of ``te`` kernels in numpy, for tests (schedules are ignored).

Each ``te.compute`` is evaluated at all its points at once: axis ``d`` is an ``arange``
shaped to broadcast along dim ``d``, and a ``te.reduce`` adds its own trailing dims that are
reduced away. Every ``te.read`` is bounds-checked, so a test also proves the reads stay in
bounds (the lowering never guards them). Covers the ``arith``/``math`` ops the operator
library emits; anything else raises ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    ModuleOp,
)
from xdsl.ir import Attribute, Block, SSAValue

from xtvm.dialects.relay.base import dense_to_numpy, numpy_dtype_of
from xtvm.dialects.te import CallOp, ComputeOp, KernelOp, PlaceholderOp, ReadOp, ReduceOp, YieldOp


def _np_dtype(t: Attribute) -> np.dtype:
    if isinstance(t, IndexType):
        return np.dtype(np.int64)
    return numpy_dtype_of(t)


def _trunc_div(a, b):
    q = np.abs(a) // np.abs(b)
    return np.where((np.asarray(a) < 0) != (np.asarray(b) < 0), -q, q)


def _trunc_rem(a, b):
    return a - _trunc_div(a, b) * b


_BIN: dict[str, Callable] = {
    "arith.addf": np.add,
    "arith.subf": np.subtract,
    "arith.mulf": np.multiply,
    "arith.divf": np.divide,
    "arith.maximumf": np.maximum,
    "arith.minimumf": np.minimum,
    "arith.addi": np.add,
    "arith.subi": np.subtract,
    "arith.muli": np.multiply,
    "arith.divsi": _trunc_div,
    "arith.remsi": _trunc_rem,
    "arith.maxsi": np.maximum,
    "arith.minsi": np.minimum,
    "arith.andi": np.logical_and,
    "arith.ori": np.logical_or,
}
_UN: dict[str, Callable] = {
    "arith.negf": np.negative,
    "math.exp": np.exp,
    "math.log": np.log,
    "math.tanh": np.tanh,
    "math.sqrt": np.sqrt,
    "math.absf": np.abs,
}
_CMPI = {"eq": np.equal, "ne": np.not_equal, "slt": np.less, "sle": np.less_equal}
_CMPI.update({"sgt": np.greater, "sge": np.greater_equal})
_CMPF = {"oeq": np.equal, "une": np.not_equal, "olt": np.less, "ole": np.less_equal}
_CMPF.update({"ogt": np.greater, "oge": np.greater_equal})
_REDUCE = {"sum": np.sum, "max": np.max, "min": np.min, "prod": np.prod}


class _Evaluator:
    def __init__(self, tensors: dict[SSAValue, np.ndarray], rank: int):
        self.tensors = tensors
        self.rank = rank  # total broadcast rank: compute dims + reduce dims
        self.env: dict[SSAValue, object] = {}

    def axis(self, pos: int, extent: int) -> np.ndarray:
        shape = [1] * self.rank
        shape[pos] = extent
        return np.arange(extent, dtype=np.int64).reshape(shape)

    def block(self, block: Block):
        for op in block.ops:
            if isinstance(op, YieldOp):
                return self.env[op.value]
            self.env[op.results[0]] = self.op(op)
        raise ValueError("block without te.yield")

    def op(self, op):
        v = self.env
        name = op.name
        if isinstance(op, ReadOp):
            data = self.tensors[op.tensor]
            idx = [np.asarray(v[i]) for i in op.indices]
            for d, (ix, size) in enumerate(zip(idx, data.shape)):
                if ix.size and (ix.min() < 0 or ix.max() >= size):
                    raise IndexError(
                        f"te.read out of bounds on dim {d}: [{ix.min()}, {ix.max()}] "
                        f"for size {size}"
                    )
            return data[tuple(idx)] if idx else data[()]
        if isinstance(op, arith.ConstantOp):
            a = op.value
            if isinstance(a, (IntegerAttr, FloatAttr)):
                return _np_dtype(op.result.type).type(a.value.data)
            raise NotImplementedError(f"constant {a}")
        if isinstance(op, ReduceOp):
            base = self.rank - len(op.axis_extents)
            for k, (arg, e) in enumerate(zip(op.block.args, op.axis_extents)):
                v[arg] = self.axis(base + k, e)
            body = self.block(op.block)
            full = np.broadcast_to(body, np.broadcast_shapes(np.shape(body), self._shape))
            axes = tuple(range(base, self.rank))
            return _REDUCE[op.kind.data](full, axis=axes, keepdims=True)
        if name in _BIN:
            return _BIN[name](v[op.operands[0]], v[op.operands[1]])
        if name in _UN:
            return _UN[name](v[op.operands[0]])
        if isinstance(op, arith.CmpiOp):
            pred = arith.CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]
            return _CMPI[pred](v[op.lhs], v[op.rhs])
        if isinstance(op, arith.CmpfOp):
            pred = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            return _CMPF[pred](v[op.lhs], v[op.rhs])
        if isinstance(op, arith.SelectOp):
            return np.where(v[op.cond], v[op.lhs], v[op.rhs])
        if name in ("arith.index_cast", "arith.sitofp", "arith.extf", "arith.truncf"):
            return np.asarray(v[op.operands[0]]).astype(_np_dtype(op.results[0].type))
        if name in ("arith.extsi", "arith.trunci"):
            return np.asarray(v[op.operands[0]]).astype(_np_dtype(op.results[0].type))
        if name == "arith.fptosi":
            return np.trunc(v[op.operands[0]]).astype(_np_dtype(op.results[0].type))
        raise NotImplementedError(f"reference evaluator: no rule for {name}")

    _shape: tuple[int, ...] = ()


def evaluate_compute(c: ComputeOp, tensors: dict[SSAValue, np.ndarray]) -> np.ndarray:
    """All elements of one compute stage, given the tensors it reads."""
    shape = c.shape
    red = c.reduce
    q = len(red.axis_extents) if red is not None else 0
    ev = _Evaluator(tensors, len(shape) + q)
    ev._shape = (*shape, *(red.axis_extents if red is not None else ()))
    for d, (arg, e) in enumerate(zip(c.block.args, shape)):
        ev.env[arg] = ev.axis(d, e)
    out = np.asarray(ev.block(c.block))
    out = np.broadcast_to(out, np.broadcast_shapes(out.shape, (*shape, *[1] * q)))
    out = out.reshape(shape) if q else out
    return np.array(out, dtype=_np_dtype(c.result.type.element_type), order="C")  # keeps 0-d


def evaluate_kernel(kernel: KernelOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The kernel's outputs for ``inputs`` (one array per placeholder, in order)."""
    tensors: dict[SSAValue, np.ndarray] = {}
    phs = kernel.placeholders
    if len(inputs) != len(phs):
        raise ValueError(f"kernel {kernel.sym_name.data}: {len(phs)} inputs, got {len(inputs)}")
    for p, x in zip(phs, inputs):
        t = p.result.type
        want = tuple(t.get_shape())
        if tuple(np.shape(x)) != want:
            raise ValueError(f"placeholder {p.tensor_name.data}: shape {np.shape(x)} != {want}")
        tensors[p.result] = np.asarray(x, dtype=_np_dtype(t.element_type))
    for op in kernel.block.ops:
        if isinstance(op, ComputeOp):
            tensors[op.result] = evaluate_compute(op, tensors)
        elif not isinstance(op, PlaceholderOp):
            continue
    return [tensors[v] for v in kernel.return_op.values]


def evaluate_module(
    module: ModuleOp, inputs: Sequence[np.ndarray], entry: str = "main"
) -> list[np.ndarray]:
    """Run a te-level module's graph function (``arith.constant``, ``te.call``)."""
    kernels: Mapping[str, KernelOp] = {
        k.sym_name.data: k for k in module.body.block.ops if isinstance(k, KernelOp)
    }
    fn = next(
        o for o in module.body.block.ops if isinstance(o, func.FuncOp) and o.sym_name.data == entry
    )
    env: dict[SSAValue, np.ndarray] = dict(zip(fn.body.block.args, inputs))
    for op in fn.body.block.ops:
        if isinstance(op, arith.ConstantOp):
            assert isinstance(op.value, DenseIntOrFPElementsAttr)
            env[op.result] = dense_to_numpy(op.value)
        elif isinstance(op, CallOp):
            outs = evaluate_kernel(
                kernels[op.callee.root_reference.data], [env[a] for a in op.args]
            )
            env.update(zip(op.res, outs))
        elif isinstance(op, func.ReturnOp):
            return [env[a] for a in op.arguments]
        else:
            raise NotImplementedError(f"reference evaluator: no rule for {op.name}")
    raise ValueError(f"@{entry} has no func.return")
