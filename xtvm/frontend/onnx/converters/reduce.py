"""Reductions, normalizations and sorting-like ops: Reduce*, ArgMax/ArgMin, LogSoftmax,
Hardmax, LayerNormalization, InstanceNormalization, LpNormalization, GlobalMaxPool, TopK,
CumSum.

Reduce axes are an attribute up to opset 17 (ReduceSum: 12) and an optional constant input
from then on, together with ``noop_with_empty_axes``. LogSoftmax and Hardmax before opset 13
coerce the input to 2-D at ``axis`` like Softmax does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape
from xtvm.frontend.onnx.converters.dynamic_shape import topk_runtime_k
from xtvm.frontend.onnx.converters.runtime_operands import along_axis
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]

_REDUCE_KINDS = {
    "ReduceSum": "sum",
    "ReduceMean": "mean",
    "ReduceMax": "max",
    "ReduceMin": "min",
    "ReduceProd": "prod",
    "ReduceSumSquare": "sum_square",
    "ReduceL1": "l1",
    "ReduceL2": "l2",
    "ReduceLogSum": "log_sum",
    "ReduceLogSumExp": "log_sum_exp",
}
# the first opset that moved ``axes`` from an attribute to an input
_AXES_AS_INPUT = {op: 13 if op == "ReduceSum" else 18 for op in _REDUCE_KINDS}


def _flag(ctx: ConversionContext, attrs: Attrs, name: str, default: int) -> bool:
    value = int(attrs.get(name, default))
    if value not in (0, 1):
        raise ctx.attr_error(name, value, "0 or 1")
    return bool(value)


def _reduce(
    ctx: ConversionContext, x: SSAValue, kind: str, axes: list[int] | None, keep: bool, noop: bool
) -> SSAValue:
    rank = len(shape_of(x))
    if not axes:
        axes = [] if noop else list(range(rank))
    norm = [normalize_axis(ctx, a, rank, "reduce axis") for a in axes]
    if len(set(norm)) != len(norm):
        raise ctx.error(f"reduce axes {axes} repeat an axis")
    return ctx.emit(relay.ReduceOp(x, kind, norm, keep))


def _make_reduce(op_type: str, kind: str) -> None:
    def with_attribute(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
        x = ins[0]
        assert x is not None
        axes = [int(a) for a in attrs["axes"]] if "axes" in attrs else None
        return _reduce(ctx, x, kind, axes, _flag(ctx, attrs, "keepdims", 1), False)

    def with_input(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
        x = ins[0]
        assert x is not None
        axes_in = ins[1] if len(ins) > 1 else None
        axes = None if axes_in is None else ctx.ints(axes_in, "axes")
        keep = _flag(ctx, attrs, "keepdims", 1)
        return _reduce(ctx, x, kind, axes, keep, _flag(ctx, attrs, "noop_with_empty_axes", 0))

    with_attribute.__doc__ = f"{op_type} with ``axes`` as an attribute."
    with_input.__doc__ = f"{op_type} with ``axes`` as an optional constant input."
    converter(op_type, since=1)(with_attribute)
    converter(op_type, since=_AXES_AS_INPUT[op_type])(with_input)


for _op_type, _kind in _REDUCE_KINDS.items():
    _make_reduce(_op_type, _kind)


@converter("GlobalMaxPool", since=1)
def global_max_pool(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Max over every spatial dim of ``[N, C, ...]``, kept as size-1 dims."""
    x = ins[0]
    assert x is not None
    rank = len(shape_of(x))
    if rank < 3:
        raise ctx.error(f"expects an [N, C, ...] input of rank >= 3, got rank {rank}")
    if 0 in shape_of(x)[2:]:  # onnxruntime: "Only N can be zero"; the max of nothing is no pool
        raise ctx.error(f"cannot pool over the empty spatial dims of {list(shape_of(x))}")
    return ctx.emit(relay.ReduceOp(x, "max", list(range(2, rank)), True))


def _arg_reduce(cls: type[relay.ArgReduceOp]):
    def convert(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
        x = ins[0]
        assert x is not None
        axis = normalize_axis(ctx, int(attrs.get("axis", 0)), len(shape_of(x)))
        keep = _flag(ctx, attrs, "keepdims", 1)
        last = _flag(ctx, attrs, "select_last_index", 0)
        return ctx.emit(cls(x, axis, keep, last))

    convert.__doc__ = f"{cls.name}: int64 indices; ``select_last_index`` picks the last tie."
    return convert


converter("ArgMax", since=1)(_arg_reduce(relay.ArgMaxOp))
converter("ArgMin", since=1)(_arg_reduce(relay.ArgMinOp))


def _axis_op(cls: type[relay.AxisOp], flattening: bool):
    def convert(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
        x = ins[0]
        assert x is not None
        s = shape_of(x)
        if not flattening:
            axis = normalize_axis(ctx, int(attrs.get("axis", -1)), len(s))
            return ctx.emit(cls(x, axis))
        # before opset 13: coerce to 2-D at ``axis`` and work on each row
        axis = normalize_axis(ctx, int(attrs.get("axis", 1)), max(len(s), 1))
        if axis == len(s) - 1:
            return ctx.emit(cls(x, axis))
        rows = int(np.prod(s[:axis], dtype=np.int64))
        flat = reshape(ctx, x, [rows, int(np.prod(s[axis:], dtype=np.int64))])
        return reshape(ctx, ctx.emit(cls(flat, 1)), s)

    return convert


converter("LogSoftmax", since=1)(_axis_op(relay.LogSoftmaxOp, flattening=True))
converter("LogSoftmax", since=13)(_axis_op(relay.LogSoftmaxOp, flattening=False))
converter("Hardmax", since=1)(_axis_op(relay.HardmaxOp, flattening=True))
converter("Hardmax", since=13)(_axis_op(relay.HardmaxOp, flattening=False))


@converter("LayerNormalization", since=17)
def layer_norm(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Y, Mean and InvStdDev (one op each; the statistics are dropped when unused)."""
    x, scale = ins[0], ins[1]
    assert x is not None
    if scale is None:
        raise ctx.error("expects a Scale input")
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", -1)), len(s))
    bias = ins[2] if len(ins) > 2 else None
    if bias is None:
        bias = ctx.constant(np.zeros((), np.float32))
    eps = float(attrs.get("epsilon", 1e-5))
    return [
        ctx.emit(relay.LayerNormOp(x, scale, bias, axis, eps, kind))
        for kind in ("output", "mean", "inv_std_dev")
    ]


@converter("InstanceNormalization", since=6)
def instance_norm(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x, scale, bias = ins[0], ins[1], ins[2]
    assert x is not None and scale is not None and bias is not None
    eps = float(attrs.get("epsilon", 1e-5))
    return ctx.emit(relay.InstanceNormOp(x, scale, bias, eps))


@converter("LpNormalization", since=1)
def lp_normalization(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """``x / ||x||_p`` along ``axis`` (p = 1 or 2); an all-zero slice stays zero, as in the
    ONNX reference (a plain division would give 0/0 = NaN)."""
    x = ins[0]
    assert x is not None
    p = int(attrs.get("p", 2))
    if p not in (1, 2):
        raise ctx.attr_error("p", p, "1 or 2")
    axis = normalize_axis(ctx, int(attrs.get("axis", -1)), len(shape_of(x)))
    norm = ctx.emit(relay.ReduceOp(x, "l1" if p == 1 else "l2", [axis], True))
    zero = ctx.constant(np.zeros((), relay.numpy_dtype_of(relay.elt_of(x))))
    one = ctx.constant(np.ones((), relay.numpy_dtype_of(relay.elt_of(x))))
    is_zero = ctx.emit(relay.EqualOp(norm, zero))
    safe = ctx.emit(relay.WhereOp(is_zero, one, norm))
    return ctx.emit(relay.DivideOp(x, safe))


@converter("TopK", since=10)
def topk(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Values and int64 indices, sorted, equal elements by lower index (``sorted=0`` leaves
    the order open, so sorted output is valid for it too)."""
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", -1)), len(s))
    largest = _flag(ctx, attrs, "largest", 1)
    _flag(ctx, attrs, "sorted", 1)
    k_in = ins[1] if len(ins) > 1 else None
    if k_in is not None and not ctx.is_constant(k_in):  # a data-dependent output length
        return topk_runtime_k(ctx, x, k_in, axis, largest)
    ks = ctx.ints(k_in, "K")
    if len(ks) != 1:
        raise ctx.error(f"K must hold one value, got {ks}")
    k = ks[0]
    if not 0 <= k <= s[axis]:
        raise ctx.error(f"K={k} is outside [0, {s[axis]}] (the size of axis {axis})")
    values = ctx.emit(relay.TopKOp(x, k, axis, largest, "values"))
    indices = ctx.emit(relay.TopKOp(x, k, axis, largest, "indices"))
    return [values, indices]


@converter("CumSum", since=11)
def cumsum(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x = ins[0]
    assert x is not None
    excl, rev = _flag(ctx, attrs, "exclusive", 0), _flag(ctx, attrs, "reverse", 0)
    axis_v = ins[1] if len(ins) > 1 else None
    return along_axis(ctx, x, axis_v, "axis", lambda a: ctx.emit(relay.CumSumOp(x, a, excl, rev)))
