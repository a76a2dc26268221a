"""Indexing ops: Slice, Split, Gather, GatherElements, GatherND, ScatterND, ScatterElements.

Starts/ends/axes/steps, split sizes and constant indices are read at import time. Slices and
gathers with constant indices that form a strided range become ``relay.strided_slice`` (a
pure view); other gathers are ``relay.take`` / ``relay.gather_elements``, whose computes
clamp run-time indices. A slice, split piece or gather with no elements becomes an empty
constant (``ConversionContext.emit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape
from xtvm.frontend.onnx.registry import converter


def _input(ins: list[SSAValue | None], i: int) -> SSAValue | None:
    return ins[i] if len(ins) > i else None


def slice_bounds(start: int, end: int, step: int, dim: int) -> tuple[int, int]:
    """ONNX Slice's (start, count) for one axis: negative values count from the end, then
    start is clamped to [0, dim] ([0, dim-1] stepping backwards) and end to [0, dim]
    ([-1, dim-1] stepping backwards)."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        count = max(0, -(-(end - start) // step))
    else:
        start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        count = max(0, -(-(start - end) // -step))
    return start, count


def strided_slice(
    ctx: ConversionContext,
    x: SSAValue,
    begin: Sequence[int],
    strides: Sequence[int],
    out_shape: Sequence[int],
) -> SSAValue:
    """``relay.strided_slice`` (folded on constants; the input itself if it is the identity)."""
    src = shape_of(x)
    if tuple(out_shape) == src and all(b == 0 and s == 1 for b, s in zip(begin, strides)):
        return x
    if ctx.is_constant(x):
        arr = ctx.const_value(x, "input")
        index = tuple(
            np.arange(n, dtype=np.int64) * s + b for n, b, s in zip(out_shape, begin, strides)
        )
        return ctx.constant(arr[np.ix_(*index)] if index else arr)
    begin = [b if n > 0 else 0 for b, n in zip(begin, out_shape)]
    return ctx.emit(relay.StridedSliceOp(x, begin, strides, out_shape))


@converter("Slice", since=10)
def slice_op(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    starts = ctx.ints(_input(ins, 1), "starts (input 1)")
    ends = ctx.ints(_input(ins, 2), "ends (input 2)")
    axes_in = _input(ins, 3)
    axes = ctx.ints(axes_in, "axes (input 3)") if axes_in is not None else list(range(len(starts)))
    steps_in = _input(ins, 4)
    steps = ctx.ints(steps_in, "steps (input 4)") if steps_in is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ctx.error(
            f"starts, ends, axes and steps differ in length ({len(starts)}, {len(ends)}, "
            f"{len(axes)}, {len(steps)})"
        )
    begin, strides, out = [0] * len(s), [1] * len(s), list(s)
    seen: set[int] = set()
    for st, en, ax, step in zip(starts, ends, axes, steps):
        a = normalize_axis(ctx, ax, len(s), "axes entry")
        if a in seen:
            raise ctx.error(f"axis {ax} appears more than once in axes {axes}")
        seen.add(a)
        if step == 0:
            raise ctx.error(f"steps {steps} has a 0 (for axis {ax})")
        begin[a], out[a] = slice_bounds(st, en, step, s[a])
        strides[a] = step
    return strided_slice(ctx, x, begin, strides, out)


def _split_sizes(
    ctx: ConversionContext, ins: list[SSAValue | None], attrs: dict, dim: int, n_out: int
) -> list[int]:
    if ctx.opset < 13 and "split" in attrs:
        return [int(v) for v in attrs["split"]]
    if ctx.opset >= 13 and _input(ins, 1) is not None:
        return ctx.ints(ins[1], "split (input 1)")
    if ctx.opset >= 18:
        if "num_outputs" not in attrs:
            raise ctx.error("needs the split input or the num_outputs attribute")
        n = int(attrs["num_outputs"])
        if n < 1:
            raise ctx.attr_error("num_outputs", n, "a positive count")
        chunk = -(-dim // n)  # ceil: the last piece may be smaller
        return [chunk] * (n - 1) + [dim - chunk * (n - 1)]
    if dim % n_out:
        raise ctx.error(f"cannot split a dim of {dim} into {n_out} equal outputs")
    return [dim // n_out] * n_out


@converter("Split", since=11)
def split(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", 0)), len(s))
    sizes = _split_sizes(ctx, ins, attrs, s[axis], len(node.output))
    if sum(sizes) != s[axis] or any(n < 0 for n in sizes):
        raise ctx.error(f"split sizes {sizes} do not partition dim {axis} of size {s[axis]}")
    if len(sizes) != len(node.output):
        raise ctx.error(f"{len(sizes)} split sizes {sizes} for {len(node.output)} outputs")
    outs, offset = [], 0
    for n in sizes:
        begin = [offset if d == axis else 0 for d in range(len(s))]
        shape = [n if d == axis else e for d, e in enumerate(s)]
        outs.append(strided_slice(ctx, x, begin, [1] * len(s), shape))
        offset += n
    return outs


def _const_indices(ctx: ConversionContext, v: SSAValue, dim: int, what: str) -> np.ndarray:
    """Constant indices made non-negative; out-of-range ones are a ModelError."""
    return _normalize_indices(ctx, ctx.const_value(v, what), dim, what)


def _normalize_indices(ctx: ConversionContext, idx: np.ndarray, dim: int, what: str) -> np.ndarray:
    if idx.dtype.kind not in "iu":
        raise ctx.error(f"{what} must be an integer tensor, got {idx.dtype}")
    idx = idx.astype(np.int64)
    bad = (idx < -dim) | (idx >= dim)
    if bad.any():
        raise ctx.error(f"{what} holds {int(idx[bad][0])}, outside [-{dim}, {dim - 1}]")
    return np.where(idx < 0, idx + dim, idx)


def _check_index_operand(ctx: ConversionContext, v: SSAValue, what: str) -> None:
    elt = elt_of(v)
    if not isinstance(elt, IntegerType) or elt.width.data not in (32, 64):
        raise ctx.error(f"{what} must be an int32 or int64 tensor, got {elt}")


@converter("Gather", since=11)
def gather(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, idx = ins[0], _input(ins, 1)
    assert x is not None and idx is not None
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", 0)), len(s))
    if not ctx.is_constant(idx):
        _check_index_operand(ctx, idx, "indices (input 1)")
        return ctx.emit(relay.TakeOp(x, idx, axis))
    values = _const_indices(ctx, idx, s[axis], "indices (input 1)")
    out_shape = s[:axis] + values.shape + s[axis + 1 :]
    if ctx.is_constant(x):
        return ctx.constant(np.take(ctx.const_value(x, "data"), values, axis=axis))
    flat = values.reshape(-1)
    step = int(flat[1] - flat[0]) if flat.size > 1 else 1
    if flat.size and step != 0 and np.array_equal(flat, flat[0] + step * np.arange(flat.size)):
        # a strided range of positions: a view, no index loads
        begin = [int(flat[0]) if d == axis else 0 for d in range(len(s))]
        strides = [step if d == axis else 1 for d in range(len(s))]
        sliced = [flat.size if d == axis else n for d, n in enumerate(s)]
        return reshape(ctx, strided_slice(ctx, x, begin, strides, sliced), out_shape)
    return ctx.emit(relay.TakeOp(x, ctx.constant(values), axis))


@converter("GatherElements", since=11)
def gather_elements(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, idx = ins[0], _input(ins, 1)
    assert x is not None and idx is not None
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", 0)), len(s))
    if ctx.is_constant(idx):
        idx = ctx.constant(_const_indices(ctx, idx, s[axis], "indices (input 1)"))
    else:
        _check_index_operand(ctx, idx, "indices (input 1)")
    return ctx.emit(relay.GatherElementsOp(x, idx, axis))


@converter("ScatterND", since=11)
def scatter_nd(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, idx, upd = ins[0], _input(ins, 1), _input(ins, 2)
    assert x is not None and idx is not None and upd is not None
    reduction = attrs.get("reduction", "none")  # attribute exists from opset 16
    if reduction not in relay.ScatterNdOp.REDUCTIONS:
        raise ctx.attr_error("reduction", reduction, "none, add, mul, max or min")
    s, si = shape_of(x), shape_of(idx)
    if ctx.is_constant(idx):
        if not si or not 1 <= si[-1] <= len(s):
            raise ctx.error(f"indices shape {list(si)} does not fit data of rank {len(s)}")
        arr = ctx.const_value(idx, "indices (input 1)")
        cols = [
            _normalize_indices(ctx, arr[..., t], s[t], "indices (input 1)") for t in range(si[-1])
        ]
        idx = ctx.constant(np.stack(cols, axis=-1))
    else:
        _check_index_operand(ctx, idx, "indices (input 1)")
    return ctx.emit(relay.ScatterNdOp(x, idx, upd, reduction))


@converter("GatherND", since=11)
def gather_nd(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, idx = ins[0], _input(ins, 1)
    assert x is not None and idx is not None
    b = int(attrs.get("batch_dims", 0))  # attribute exists from opset 12
    s, si = shape_of(x), shape_of(idx)
    if not 0 <= b < min(len(s), len(si)):
        raise ctx.attr_error("batch_dims", b, f"0 <= batch_dims < {min(len(s), len(si))}")
    if si[:b] != s[:b] or not 1 <= si[-1] <= len(s) - b:
        raise ctx.error(f"indices shape {list(si)} does not fit data {list(s)}")
    if ctx.is_constant(idx):
        arr = ctx.const_value(idx, "indices (input 1)")
        cols = [
            _normalize_indices(ctx, arr[..., t], s[b + t], "indices (input 1)")
            for t in range(si[-1])
        ]
        idx = ctx.constant(np.stack(cols, axis=-1))
    else:
        _check_index_operand(ctx, idx, "indices (input 1)")
    return ctx.emit(relay.GatherNdOp(x, idx, b))


@converter("ScatterElements", since=11)
@converter("Scatter", since=9)  # deprecated alias: ScatterElements without reduction
def scatter_elements(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x, idx, upd = ins[0], _input(ins, 1), _input(ins, 2)
    assert x is not None and idx is not None and upd is not None
    reduction = attrs.get("reduction", "none")  # attribute exists from opset 16
    if reduction not in relay.ScatterElementsOp.REDUCTIONS:
        raise ctx.attr_error("reduction", reduction, "none, add, mul, max or min")
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", 0)), len(s))
    if ctx.is_constant(idx):
        idx = ctx.constant(_const_indices(ctx, idx, s[axis], "indices (input 1)"))
    else:
        _check_index_operand(ctx, idx, "indices (input 1)")
    return ctx.emit(relay.ScatterElementsOp(x, idx, upd, axis, reduction))
