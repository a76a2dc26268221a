"""Layout ops: Reshape, Flatten, Transpose, Concat.

When every data input is a constant the result is computed with numpy at import time, so
shape-computing chains (and transposed weights) reach relay as plain constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import fold_or_emit, normalize_axis, reshape, transpose
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
