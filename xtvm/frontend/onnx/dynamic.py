"""Tensors whose length along one axis depends on the data: bounded buffers plus a count.

NonZero, Compress, Unique, NonMaxSuppression and TopK with a run-time ``k`` produce a tensor
of static *bound* shape whose first ``count`` entries along one axis are real (``count`` is
an int64 scalar relay value computed next to it). The importer records that pair
(``Bounded``) per SSA value and, node by node, either carries it to the consumer's result
(``CONSUMERS`` below: the consumer runs over the whole bound, padding included, and its
result is real up to the same count along the mapped axis) or stops with a ModelError naming
the op. At the graph's outputs each bounded tensor gets its count as an extra ``@main``
result named ``xtvm.count:<axis>:<name>``; the runtime reads it and returns the real-size
slice (``xtvm/runtime/dynamic.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import GraphProto, NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.errors import ModelError
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.runtime.dynamic import COUNT_PREFIX


@dataclass(frozen=True)
class Bounded:
    """Real length of ``value`` along ``axis`` is the int64 scalar ``count``."""

    axis: int
    count: SSAValue


Infos = list[Bounded | None]
Rule = Callable[["Use"], Infos]

ELEMENTWISE = frozenset(
    "Abs Acos Acosh Add And Asin Asinh Atan Atanh BitShift BitwiseAnd BitwiseNot BitwiseOr "
    "BitwiseXor Cast CastLike Ceil Celu Clip Cos Cosh Div Elu Equal Erf Exp Floor Gelu Greater "
    "GreaterOrEqual HardSigmoid HardSwish Identity IsInf IsNaN LeakyRelu Less LessOrEqual Log "
    "Max Min Mish Mod Mul Neg Not Or Pow PRelu Reciprocal Relu Round Selu Sigmoid Sign Sin "
    "Sinh Softplus Softsign Sqrt Sub Sum Tan Tanh ThresholdedRelu Where Xor".split()
)
RESHAPES = frozenset({"Reshape", "Squeeze", "Unsqueeze", "Flatten"})


def dynamic_values(ctx: ConversionContext) -> DynamicValues:
    """The importer's table of bounded values (converters register their outputs in it)."""
    table = getattr(ctx, "dynamic_values", None)
    if not isinstance(table, DynamicValues):
        raise ctx.error("data-dependent output shapes need the ONNX importer's context")
    return table


class DynamicValues:
    """Bounded values of one import, keyed by SSA value."""

    def __init__(self) -> None:
        self.info: dict[SSAValue, Bounded] = {}

    def attach(self, ctx: ConversionContext) -> None:
        # the context is the frontend's shared object; the table rides on it for converters
        ctx.dynamic_values = self  # type: ignore[attr-defined]
        inner = ctx.convert_subgraph
        if inner is None:
            return

        def checked(graph: GraphProto, **kw: Any) -> list[SSAValue]:
            # relay.if/relay.loop results have static types: a bound is not a length
            outs = inner(graph, **kw)
            if any(v in self.info for v in outs):
                raise ctx.error(
                    "a control-flow branch cannot return a tensor with a data-dependent length"
                )
            return outs

        ctx.convert_subgraph = checked

    def mark(self, ctx: ConversionContext, value: SSAValue, axis: int, count: SSAValue) -> SSAValue:
        """Record ``value`` as real up to ``count`` along ``axis``; a count known at import
        time slices it to a static tensor instead."""
        if ctx.is_constant(count):
            n = int(ctx.const_value(count, "count").reshape(-1)[0])
            s = shape_of(value)
            if n == s[axis]:
                return value
            out = tuple(n if d == axis else e for d, e in enumerate(s))
            return ctx.emit(relay.StridedSliceOp(value, [0] * len(s), [1] * len(s), out))
        self.info[value] = Bounded(axis, count)
        return value

    def check_consumer(
        self, ctx: ConversionContext, node: NodeProto, inputs: Sequence[SSAValue | None]
    ) -> None:
        """Raise before converting a node that cannot take a bounded input."""
        if node.op_type in CONSUMERS:
            return
        for v in inputs:
            if v is not None and v in self.info:
                raise ctx.error(
                    f"{node.op_type} cannot take a tensor with a data-dependent length (an "
                    "output of NonZero, Compress, Unique, NonMaxSuppression or TopK with a "
                    f"run-time k); ops that can: {', '.join(sorted(CONSUMERS))}"
                )

    def propagate(
        self,
        ctx: ConversionContext,
        node: NodeProto,
        attrs: dict[str, Any],
        inputs: Sequence[SSAValue | None],
        results: Sequence[SSAValue],
    ) -> None:
        """Record which results of a converted consumer are bounded, and along which axis."""
        infos: Infos = [self.info.get(v) if v is not None else None for v in inputs]
        if not any(infos):
            return
        try:
            out = CONSUMERS[node.op_type](Use(ctx, node, attrs, inputs, infos, results))
        except _Refused as e:
            raise ctx.error(f"{node.op_type}: {e}") from None
        for v, b in zip(results, out):
            if b is not None and v not in self.info:
                self.info[v] = b

    def count_outputs(
        self, values: Sequence[SSAValue], names: Sequence[str]
    ) -> tuple[list[SSAValue], list[str]]:
        """The extra ``@main`` results (counts) and their names for the bounded outputs."""
        extra, extra_names = [], []
        for v, name in zip(values, names):
            b = self.info.get(v)
            if b is not None:
                extra.append(b.count)
                extra_names.append(f"{COUNT_PREFIX}{b.axis}:{name}")
        return extra, extra_names


class _Refused(ModelError):
    """A consumer whose bounded input it cannot carry (message completed by the caller)."""


def _one(infos: Infos) -> tuple[int, Bounded]:
    found = [(k, b) for k, b in enumerate(infos) if b is not None]
    if len(found) != 1:
        raise _Refused("more than one input has a data-dependent length")
    return found[0]


@dataclass(frozen=True)
class Use:
    """One consumer node with a bounded input: what its rule needs to map the bound."""

    ctx: ConversionContext
    node: NodeProto
    attrs: dict[str, Any]
    inputs: Sequence[SSAValue | None]
    infos: Infos
    results: Sequence[SSAValue]

    def shape(self, k: int) -> tuple[int, ...]:
        v = self.inputs[k]
        assert v is not None
        return shape_of(v)


def _elementwise(u: Use) -> Infos:
    out_shape = shape_of(u.results[0])
    rank = len(out_shape)
    axis, count = None, None
    for v, b in zip(u.inputs, u.infos):
        if v is None or b is None:
            continue
        s = shape_of(v)
        a = b.axis + rank - len(s)
        if axis is not None and (a != axis or b.count is not count):
            raise _Refused("its inputs have different data-dependent lengths")
        if s[b.axis] != out_shape[a]:
            raise _Refused("a data-dependent axis cannot broadcast")
        axis, count = a, b.count
    assert axis is not None and count is not None
    for v, b in zip(u.inputs, u.infos):
        if v is None or b is not None:
            continue
        s = shape_of(v)
        d = axis - (rank - len(s))
        if d >= 0 and s[d] != 1:
            raise _Refused("an input of static length meets a data-dependent axis")
    if u.node.op_type in ("Div", "Mod") and len(u.infos) > 1 and u.infos[1] is not None:
        raise _Refused("a divisor with a data-dependent length would divide by its padding")
    return [Bounded(axis, count) for _ in u.results]


def _transpose(u: Use) -> Infos:
    _, b = _one(u.infos)
    perm = [int(p) for p in u.attrs.get("perm", reversed(range(len(u.shape(0)))))]
    return [Bounded(perm.index(b.axis), b.count)]


def _reshape(u: Use) -> Infos:
    k, b = _one(u.infos)
    if k != 0:
        raise _Refused("its shape operand has a data-dependent length")
    s, out = u.shape(0), shape_of(u.results[0])
    before, after = math.prod(s[: b.axis]), math.prod(s[b.axis + 1 :])
    for d, e in enumerate(out):
        if e == s[b.axis] and math.prod(out[:d]) == before and math.prod(out[d + 1 :]) == after:
            return [Bounded(d, b.count)]
    raise _Refused("it would merge or split the data-dependent axis")


def _gather(u: Use) -> Infos:
    k, b = _one(u.infos)
    axis = int(u.attrs.get("axis", 0)) % len(u.shape(0))
    if k == 1:
        return [Bounded(axis + b.axis, b.count)]
    if b.axis == axis:
        raise _Refused("gathering along the data-dependent axis is not supported")
    return [Bounded(b.axis if b.axis < axis else b.axis + len(u.shape(1)) - 1, b.count)]


def _gather_nd(u: Use) -> Infos:
    k, b = _one(u.infos)
    if k != 1 or int(u.attrs.get("batch_dims", 0)) != 0 or b.axis == len(u.shape(1)) - 1:
        raise _Refused("only indices with a data-dependent leading axis are supported")
    return [Bounded(b.axis, b.count)]


def _const_ints(v: SSAValue | None) -> list[int] | None:
    if v is None or not isinstance(v.owner, relay.ConstantOp):
        return None
    return [int(x) for x in v.owner.to_numpy().reshape(-1)]


def _slice(u: Use) -> Infos:
    k, b = _one(u.infos)
    if k != 0:
        raise _Refused("its starts/ends/axes/steps have a data-dependent length")
    s = u.shape(0)
    ops = [*u.inputs, None, None, None, None, None]
    starts = u.attrs.get("starts") or _const_ints(ops[1])
    ends = u.attrs.get("ends") or _const_ints(ops[2])
    if starts is None or ends is None:
        raise _Refused("run-time starts/ends")
    axes = u.attrs.get("axes") or _const_ints(ops[3]) or list(range(len(starts)))
    steps = _const_ints(ops[4]) or [1] * len(axes)
    count = b.count
    for a, lo, hi, st in zip(axes, starts, ends, steps):
        if int(a) % len(s) != b.axis:
            continue
        # a prefix [0, hi) keeps min(count, hi) entries; offsets from the end would count
        # from the bound, not from the real length
        if st != 1 or lo != 0 or hi < 0:
            raise _Refused("along the data-dependent axis only a prefix [0, k) is supported")
        if hi < s[b.axis]:
            limit = u.ctx.constant(np.array(hi, np.int64))
            count = u.ctx.emit(relay.MinimumOp(count, limit))
    return [Bounded(b.axis, count)]


def _concat(u: Use) -> Infos:
    axis = int(u.attrs.get("axis", 0)) % len(shape_of(u.results[0]))
    counts = {id(b.count) for b in u.infos if b is not None}
    first = next(b for b in u.infos if b is not None)
    if any(b is None for b in u.infos) or len(counts) != 1 or first.axis == axis:
        raise _Refused("only inputs sharing one data-dependent length, joined along another axis")
    return [first]


def _reduce(u: Use) -> Infos:
    """Reductions (and ArgMax/ArgMin) over other axes keep the bounded one."""
    k, b = _one(u.infos)
    rank = len(u.shape(0))
    if k != 0:
        raise _Refused("its axes operand has a data-dependent length")
    if "axis" in u.attrs or u.node.op_type in ("ArgMax", "ArgMin"):
        axes = [int(u.attrs.get("axis", 0))]
    else:
        axes = u.attrs.get("axes") or _const_ints(u.inputs[1] if len(u.inputs) > 1 else None)
        if not axes and u.attrs.get("noop_with_empty_axes", 0):
            return [b]
        axes = axes or list(range(rank))
    reduced = {int(a) % rank for a in axes}
    if b.axis in reduced:
        raise _Refused("reducing over the data-dependent axis is not supported")
    keep = int(u.attrs.get("keepdims", 1))
    return [Bounded(b.axis if keep else b.axis - sum(a < b.axis for a in reduced), b.count)]


REDUCTIONS = frozenset(
    "ArgMax ArgMin ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean "
    "ReduceMin ReduceProd ReduceSum ReduceSumSquare".split()
)

CONSUMERS: dict[str, Rule] = {
    **dict.fromkeys(REDUCTIONS, _reduce),
    **dict.fromkeys(ELEMENTWISE, _elementwise),
    **dict.fromkeys(RESHAPES, _reshape),
    "Transpose": _transpose,
    "Gather": _gather,
    "GatherND": _gather_nd,
    "Slice": _slice,
    "Concat": _concat,
}

__all__ = ["COUNT_PREFIX", "CONSUMERS", "Bounded", "DynamicValues", "dynamic_values"]
