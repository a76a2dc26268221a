"""Layout and shape ops: Reshape, Flatten, Transpose, Concat, Squeeze, Unsqueeze, Expand,
Tile, and the shape-valued Shape, Size, Range, ConstantOfShape.

When every data input is a constant the result is computed with numpy at import time, so
shape-computing chains (and transposed weights) reach relay as plain constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto, numpy_helper
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import fold_or_emit, normalize_axis, reshape, transpose
from xtvm.frontend.onnx.converters.runtime_operands import is_runtime, runtime_squeeze
from xtvm.frontend.onnx.registry import converter


def reshape_target(
    ctx: ConversionContext, in_shape: tuple[int, ...], spec: list[int], allowzero: bool
) -> list[int]:
    """Resolve ONNX's reshape spec: 0 copies the input dim (unless allowzero), -1 is inferred."""
    out: list[int] = []
    for i, d in enumerate(spec):
        if d == 0 and not allowzero:
            if i >= len(in_shape):
                raise ctx.error(f"shape {spec}: 0 at index {i} has no input dim to copy")
            out.append(in_shape[i])
        elif d < -1:
            raise ctx.error(f"shape {spec} has an invalid dim {d}")
        else:
            out.append(d)
    total = int(np.prod(in_shape, dtype=np.int64))
    if out.count(-1) > 1:
        raise ctx.error(f"shape {spec} has more than one -1")
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise ctx.error(f"cannot reshape {list(in_shape)} to {spec}")
        out[out.index(-1)] = total // known
    if int(np.prod(out, dtype=np.int64)) != total:
        raise ctx.error(f"cannot reshape {list(in_shape)} to {spec}")
    return out


@converter("Reshape", since=5)
def reshape_op(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    spec = ctx.ints(ins[1] if len(ins) > 1 else None, "the shape (input 1)")
    allowzero = bool(int(attrs.get("allowzero", 0)))  # attribute exists from opset 14
    return reshape(ctx, x, reshape_target(ctx, shape_of(x), spec, allowzero))


@converter("Flatten", since=1)
def flatten(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    axis = int(attrs.get("axis", 1))
    if not -len(s) <= axis <= len(s):
        raise ctx.error(f"axis {axis} is out of range for a rank-{len(s)} input")
    if axis < 0:
        axis += len(s)
    if ctx.is_constant(x):
        rows = int(np.prod(s[:axis], dtype=np.int64))
        return reshape(ctx, x, [rows, int(np.prod(s[axis:], dtype=np.int64))])
    return ctx.emit(relay.FlattenOp(x, axis))


@converter("Transpose", since=1)
def transpose_op(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    rank = len(shape_of(x))
    perm = attrs.get("perm")
    if perm is not None and sorted(int(p) for p in perm) != list(range(rank)):
        raise ctx.attr_error("perm", list(perm), f"a permutation of 0..{rank - 1}")
    return transpose(ctx, x, perm)


@converter("Concat", since=4)
def concat(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    values = [v for v in ins if v is not None]
    if not values:
        raise ctx.error("expects at least one input")
    if "axis" not in attrs:
        raise ctx.error("attribute axis is required")
    axis = normalize_axis(ctx, int(attrs["axis"]), len(shape_of(values[0])))
    if len(values) == 1:
        return values[0]
    return fold_or_emit(
        ctx,
        values,
        lambda *arrays: np.concatenate(arrays, axis=axis),
        lambda: ctx.emit(relay.ConcatenateOp(values, axis)),
    )


# ----------------------------------------------------------------------------------------------
# shape-valued ops: constants once input shapes are bound
# ----------------------------------------------------------------------------------------------


@converter("Shape", since=1)
def shape_op(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """Input shapes are static, so the shape is an int64 constant (opset 15: start/end slice
    it, clamped like Python slicing)."""
    x = ins[0]
    assert x is not None
    dims = np.asarray(shape_of(x), dtype=np.int64)
    start, end = int(attrs.get("start", 0)), attrs.get("end")
    return ctx.constant(dims[start : None if end is None else int(end)])


@converter("Size", since=1)
def size_op(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    return ctx.constant(np.int64(np.prod(shape_of(x), dtype=np.int64)))


def _scalar(ctx: ConversionContext, v: SSAValue | None, what: str) -> np.ndarray:
    arr = ctx.const_value(v, what)
    if arr.size != 1:
        raise ctx.error(f"{what} must be a scalar, got shape {list(arr.shape)}")
    return arr.reshape(())


@converter("Range", since=11)
@converter("Range", since=27)  # 27 adds stash_type: the accumulation precision of 16-bit floats
def range_op(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """``start + i * delta`` for ``i < max(ceil((limit - start) / delta), 0)``, computed now:
    its length depends on the values, so they must be constants. ``stash_type`` (opset 27)
    only changes how 16-bit floats accumulate, and those inputs are rejected at import."""
    start = _scalar(ctx, ins[0], "start (input 0)")
    limit = _scalar(ctx, ins[1] if len(ins) > 1 else None, "limit (input 1)")
    delta = _scalar(ctx, ins[2] if len(ins) > 2 else None, "delta (input 2)")
    if delta == 0:
        raise ctx.error("delta (input 2) must not be 0")
    if start.dtype.kind == "f":
        n = int(np.ceil((float(limit) - float(start)) / float(delta)))
    else:
        n = -(-(int(limit) - int(start)) // int(delta))
    values = start + np.arange(max(n, 0), dtype=start.dtype) * delta
    return ctx.constant(values.astype(start.dtype))


@converter("ConstantOfShape", since=9)
def constant_of_shape(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    shape = ctx.ints(ins[0] if ins else None, "the shape (input 0)")
    if any(d < 0 for d in shape):
        raise ctx.error(f"shape {shape} has a negative dim")
    value = attrs.get("value")
    fill = np.zeros((1,), np.float32) if value is None else numpy_helper.to_array(value)
    if fill.size != 1:
        raise ctx.attr_error("value", list(fill.shape), "a one-element tensor")
    return ctx.constant(np.full(shape, fill.reshape(()), dtype=fill.dtype))


def _axes(
    ctx: ConversionContext, ins: list[SSAValue | None], attrs: dict[str, Any], since: int
) -> list[int] | None:
    """Squeeze/Unsqueeze axes: an attribute before opset ``since``, an input from it."""
    if ctx.opset < since:
        return None if "axes" not in attrs else [int(a) for a in attrs["axes"]]
    v = ins[1] if len(ins) > 1 else None
    return None if v is None else ctx.ints(v, "axes (input 1)")


@converter("Squeeze", since=1)
def squeeze(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    axes_in = ins[1] if len(ins) > 1 else None
    if ctx.opset >= 13 and axes_in is not None and is_runtime(axes_in):
        drop = runtime_squeeze(ctx, x, axes_in)
        return reshape(ctx, x, [n for d, n in enumerate(s) if d not in drop])
    axes = _axes(ctx, ins, attrs, since=13)
    if axes is None:
        drop = {d for d, n in enumerate(s) if n == 1}
    else:
        drop = {normalize_axis(ctx, a, len(s), "axes entry") for a in axes}
        if len(drop) != len(axes):
            raise ctx.error(f"axes {axes} name a dim twice")
        for d in sorted(drop):
            if s[d] != 1:
                raise ctx.error(f"cannot squeeze dim {d} of shape {list(s)}: its size is not 1")
    return reshape(ctx, x, [n for d, n in enumerate(s) if d not in drop])


@converter("Unsqueeze", since=1)
def unsqueeze(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    axes = _axes(ctx, ins, attrs, since=13)
    if axes is None:
        raise ctx.error("needs axes")
    rank = len(s) + len(axes)
    new = {normalize_axis(ctx, a, rank, "axes entry") for a in axes}
    if len(new) != len(axes):
        raise ctx.error(f"axes {axes} name a dim twice")
    rest = iter(s)
    return reshape(ctx, x, [1 if d in new else next(rest) for d in range(rank)])


@converter("Expand", since=8)
def expand(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """Bidirectional broadcast of the input with the (constant) shape operand."""
    x = ins[0]
    assert x is not None
    spec = ctx.ints(ins[1] if len(ins) > 1 else None, "the shape (input 1)")
    try:
        out = tuple(int(d) for d in np.broadcast_shapes(shape_of(x), tuple(spec)))
    except ValueError:
        raise ctx.error(f"cannot broadcast shape {list(shape_of(x))} with {spec}") from None
    if out == shape_of(x):
        return x
    return ctx.emit(relay.BroadcastToOp(x, out))


@converter("Tile", since=6)
def tile(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    reps = ctx.ints(ins[1] if len(ins) > 1 else None, "repeats (input 1)")
    s = shape_of(x)
    if len(reps) != len(s):
        raise ctx.error(f"repeats {reps} must have one entry per dim of rank-{len(s)} input")
    if any(r < 0 for r in reps):
        raise ctx.error(f"repeats {reps} must not be negative")
    if all(r == 1 for r in reps):
        return x
    if 0 in reps or 0 in s:
        return ctx.empty([n * r for n, r in zip(s, reps)], elt_of(x))
    return ctx.emit(relay.TileOp(x, reps))
