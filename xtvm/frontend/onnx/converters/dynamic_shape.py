"""Ops whose output length depends on the data: NonZero, Compress, Unique, NonMaxSuppression.

Each becomes a bounded relay tensor plus an int64 count registered with the importer's
``DynamicValues`` (``frontend/onnx/dynamic.py``); a count known at import time (constant
operands) slices the result to a static tensor instead. TopK with a run-time ``k`` is in
``topk_runtime_k`` (called by the TopK converter).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.dialects.builtin import i1, i64
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, numpy_dtype_of, shape_of
from xtvm.dialects.relay.dynamic import MaskPositionsOp, NmsOp, UniqueOp
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape, transpose
from xtvm.frontend.onnx.dynamic import dynamic_values
from xtvm.frontend.onnx.registry import converter
from xtvm.topi.nn.nms import MAX_NMS_BOXES

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]


def _operand(ins: Inputs, k: int) -> SSAValue | None:
    return ins[k] if k < len(ins) else None


def _count_true(ctx: ConversionContext, mask: SSAValue) -> SSAValue:
    """Number of true entries of a 1-D bool tensor, as an int64 scalar."""
    ones = ctx.emit(relay.CastOp(mask, i64))
    return ctx.emit(relay.ReduceOp(ones, "sum", [0], keepdims=False))


def _positions(ctx: ConversionContext, mask: SSAValue) -> tuple[SSAValue, SSAValue]:
    """(positions of the true entries then zeros, their number) of a 1-D bool tensor."""
    return ctx.emit(MaskPositionsOp(mask)), _count_true(ctx, mask)


@converter("NonZero", since=9)
def nonzero(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> SSAValue:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    if not s:
        raise ctx.error("NonZero of a scalar is not supported")
    n = math.prod(s)
    if n == 0:
        return ctx.empty((len(s), 0), i64)
    if elt_of(x) == i1:
        mask = x
    else:
        zero = ctx.constant(np.zeros((), numpy_dtype_of(elt_of(x))))
        mask = ctx.emit(relay.NotEqualOp(x, zero))
    pos, count = _positions(ctx, reshape(ctx, mask, (n,)))
    rows = []
    stride = n
    for d in s:  # unravel the flat positions, one row per axis
        stride //= d
        q = ctx.emit(relay.DivideOp(pos, ctx.constant(np.array(stride, np.int64))))
        r = ctx.emit(relay.ModOp(q, ctx.constant(np.array(d, np.int64)), False))
        rows.append(reshape(ctx, r, (1, n)))
    out = rows[0] if len(rows) == 1 else ctx.emit(relay.ConcatenateOp(rows, 0))
    return dynamic_values(ctx).mark(ctx, out, 1, count)


@converter("Compress", since=9)
def compress(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> SSAValue:
    x, cond = ins[0], ins[1]
    assert x is not None and cond is not None
    if len(shape_of(cond)) != 1 or elt_of(cond) != i1:
        raise ctx.error(f"condition must be a 1-D bool tensor, got {cond.type}")
    if "axis" in attrs:
        axis = normalize_axis(ctx, int(attrs["axis"]), len(shape_of(x)))
    else:
        x, axis = reshape(ctx, x, (math.prod(shape_of(x)),)), 0
    n, length = shape_of(x)[axis], shape_of(cond)[0]
    if length > n:
        raise ctx.error(f"condition has {length} entries, but the axis has only {n}")
    if length == 0:
        out = tuple(0 if d == axis else e for d, e in enumerate(shape_of(x)))
        return ctx.empty(out, elt_of(x))
    pos, count = _positions(ctx, cond)
    out = ctx.emit(relay.TakeOp(x, pos, axis))
    return dynamic_values(ctx).mark(ctx, out, axis, count)


@converter("Unique", since=11)
def unique(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> list[SSAValue]:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    sorted_ = bool(attrs.get("sorted", 1))
    if math.prod(s) == 0:  # no rows, or rows of nothing: ONNX's reference finds none
        return _empty_unique(ctx, x, attrs)
    if "axis" in attrs:
        axis = normalize_axis(ctx, int(attrs["axis"]), len(s))
        rest = [d for d in range(len(s)) if d != axis]
        rows = reshape(ctx, transpose(ctx, x, [axis, *rest]), (s[axis], math.prod(s) // s[axis]))
        source = x
    else:
        axis = 0
        source = reshape(ctx, x, (math.prod(s),))
        rows = source  # 1-D: elements, NaN equal to NaN as in numpy's flat unique
    first, inverse, counts, count = (
        ctx.emit(UniqueOp(rows, sorted_, out)) for out in ("indices", "inverse", "counts", "count")
    )
    values = ctx.emit(relay.TakeOp(source, first, axis))
    table = dynamic_values(ctx)
    return [
        table.mark(ctx, values, axis, count),
        table.mark(ctx, first, 0, count),
        inverse,
        table.mark(ctx, counts, 0, count),
    ]


def _empty_unique(ctx: ConversionContext, x: SSAValue, attrs: Attrs) -> list[SSAValue]:
    s = shape_of(x)
    if "axis" in attrs and s[normalize_axis(ctx, int(attrs["axis"]), len(s))] != 0:
        raise ctx.error(f"Unique along an axis of slices with no elements ({list(s)})")
    axis = normalize_axis(ctx, int(attrs["axis"]), len(s)) if "axis" in attrs else None
    y = (0,) if axis is None else tuple(0 if d == axis else e for d, e in enumerate(s))
    return [ctx.empty(y, elt_of(x)), *(ctx.empty((0,), i64) for _ in range(3))]


def _scalar(ctx: ConversionContext, v: SSAValue | None, default: Any, dtype: Any) -> SSAValue:
    """An optional scalar operand as a rank-0 tensor of ``dtype`` (``default`` if absent)."""
    if v is None:
        return ctx.constant(np.array(default, dtype))
    if math.prod(shape_of(v)) != 1:
        raise ctx.error(f"expected a single value, got {v.type}")
    v = reshape(ctx, v, ())
    want = relay.element_type_of(np.dtype(dtype))
    return v if elt_of(v) == want else ctx.emit(relay.CastOp(v, want))


@converter("NonMaxSuppression", since=10)
def non_max_suppression(
    ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs
) -> SSAValue:
    boxes, scores = ins[0], ins[1]
    assert boxes is not None and scores is not None
    bs, ss = shape_of(boxes), shape_of(scores)
    if len(bs) != 3 or bs[2] != 4 or len(ss) != 3 or ss[0] != bs[0] or ss[2] != bs[1]:
        raise ctx.error(f"boxes must be [B, N, 4] and scores [B, C, N], got {bs} and {ss}")
    if bs[1] > MAX_NMS_BOXES:
        raise ctx.error(
            f"at most {MAX_NMS_BOXES} boxes per batch are supported (the kernel runs one stage "
            f"per box), got {bs[1]}"
        )
    if math.prod(ss) == 0:
        return ctx.empty((0, 3), i64)
    if elt_of(scores) != elt_of(boxes):
        scores = ctx.emit(relay.CastOp(scores, elt_of(boxes)))
    fdt = numpy_dtype_of(elt_of(boxes))
    limit_in = _operand(ins, 2)
    limit = _scalar(ctx, limit_in, 0, np.int64)
    per_class = bs[1]
    if ctx.is_constant(limit):
        per_class = min(max(int(ctx.const_value(limit, "max_output_boxes_per_class")), 0), bs[1])
    iou = _scalar(ctx, _operand(ins, 3), 0.0, fdt)
    # without a score threshold every box is a candidate; -inf leaves out only -inf and NaN
    threshold = _scalar(ctx, _operand(ins, 4), -np.inf, fdt)
    center = int(attrs.get("center_point_box", 0))
    if center not in (0, 1):
        raise ctx.attr_error("center_point_box", center, "0 or 1")
    args = (boxes, scores, limit, iou, threshold, bool(center), per_class)
    indices = ctx.emit(NmsOp(*args, "indices"))
    count = ctx.emit(NmsOp(*args, "count"))
    return dynamic_values(ctx).mark(ctx, indices, 0, count)


def topk_runtime_k(
    ctx: ConversionContext, x: SSAValue, k: SSAValue, axis: int, largest: bool
) -> list[SSAValue]:
    """TopK whose ``k`` is computed at run time: a full sort along ``axis`` (the bound), real
    up to ``clip(k, 0, n)`` entries."""
    n = shape_of(x)[axis]
    kk = _scalar(ctx, k, 0, np.int64)
    lo = ctx.emit(relay.MaximumOp(kk, ctx.constant(np.array(0, np.int64))))
    count = ctx.emit(relay.MinimumOp(lo, ctx.constant(np.array(n, np.int64))))
    table = dynamic_values(ctx)
    return [
        table.mark(ctx, ctx.emit(relay.TopKOp(x, n, axis, largest, ret)), axis, count)
        for ret in ("values", "indices")
    ]
