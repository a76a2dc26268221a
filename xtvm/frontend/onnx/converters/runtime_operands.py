"""Scalar operands that arrive at run time although the output shape does not depend on them.

xtvm fixes shapes at compile time, so an operand that decides a shape (Reshape's shape, Pad's
pads, Range's limit, TopK's k) must fold to a constant (a chain from ``Shape`` of a static
tensor does) or import fails with a ModelError naming the node and the operand. Some
operands only decide values: Clip's bounds, Trilu's diagonal ``k``, and the axis of CumSum /
CumProd (computed along every axis, the runtime axis selecting one: ranks are small), and
Squeeze's axes when the input has exactly as many dims of size 1 as it names. Those
stay runtime tensors here, so a model that feeds them as graph inputs compiles and gives the
same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import ConstantOp, elt_of, numpy_dtype_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape


def is_runtime(value: SSAValue | None) -> bool:
    """A given operand that is not an import-time constant."""
    return value is not None and not ConversionContext.is_constant(value)


def _scalar(ctx: ConversionContext, v: SSAValue, what: str) -> SSAValue:
    """A one-element operand as a rank-0 tensor (ModelError if it holds more)."""
    s = shape_of(v)
    if int(np.prod(s)) != 1:
        raise ctx.error(f"{what} must be a scalar, got shape {list(s)}")
    return reshape(ctx, v, ())


def runtime_clip(
    ctx: ConversionContext, x: SSAValue, lo: SSAValue | None, hi: SSAValue | None
) -> SSAValue:
    """``min(max(x, lo), hi)`` on tensors: every element is ``hi`` when ``lo > hi``, as in
    ONNX; a missing bound is no bound."""
    y = x
    for v, what, op in ((lo, "min", relay.MaximumOp), (hi, "max", relay.MinimumOp)):
        if v is None:
            continue
        if elt_of(v) != elt_of(x):
            raise ctx.error(f"Clip {what} has type {elt_of(v)}, the input {elt_of(x)}")
        y = ctx.emit(op(y, _scalar(ctx, v, f"Clip {what}")))
    return y


def runtime_trilu(ctx: ConversionContext, x: SSAValue, k: SSAValue, upper: bool) -> SSAValue:
    """Keep ``x[.., i, j]`` where ``j - i >= k`` (upper) or ``j - i <= k`` (lower)."""
    rows, cols = shape_of(x)[-2:]
    diag = np.arange(cols, dtype=np.int64)[None, :] - np.arange(rows, dtype=np.int64)[:, None]
    k0 = _scalar(ctx, k, "k (input 1)")
    if elt_of(k0) != relay.element_type_of("int64"):
        k0 = ctx.emit(relay.CastOp(k0, "int64"))
    offsets = ctx.emit(ConstantOp.from_numpy(diag))
    compare = relay.GreaterEqualOp if upper else relay.LessEqualOp
    keep = ctx.emit(compare(offsets, k0))
    zero = ctx.emit(ConstantOp.from_numpy(np.zeros((), np.dtype(numpy_dtype_of(elt_of(x))))))
    return ctx.emit(relay.WhereOp(keep, x, zero))


def along_axis(
    ctx: ConversionContext,
    x: SSAValue,
    v: SSAValue | None,
    what: str,
    build: Callable[[int], SSAValue],
) -> SSAValue:
    """``build(axis)`` for a one-value axis operand ``v``: at its constant value, or, for a
    runtime axis, at every axis with the runtime value (negative counts from the end)
    selecting one result (a 1-D input has only axis 0)."""
    rank = len(shape_of(x))
    if not is_runtime(v):
        return build(single_axis(ctx, v, rank, what))
    assert v is not None
    axis = _scalar(ctx, v, what)
    if rank == 1:
        return build(0)
    if elt_of(axis) != relay.element_type_of("int64"):
        axis = ctx.emit(relay.CastOp(axis, "int64"))

    def const(value: int) -> SSAValue:
        return ctx.emit(ConstantOp.from_numpy(np.array(value, np.int64)))

    negative = ctx.emit(relay.LessOp(axis, const(0)))
    axis = ctx.emit(relay.WhereOp(negative, ctx.emit(relay.AddOp(axis, const(rank))), axis))
    out = build(rank - 1)
    for d in range(rank - 2, -1, -1):
        out = ctx.emit(relay.WhereOp(ctx.emit(relay.EqualOp(axis, const(d))), build(d), out))
    return out


def single_axis(ctx: ConversionContext, v: SSAValue | None, rank: int, what: str) -> int:
    """A constant one-value axis operand, normalized."""
    axes = ctx.ints(v, what)
    if len(axes) != 1:
        raise ctx.error(f"{what} must hold one value, got {axes}")
    return normalize_axis(ctx, axes[0], rank)


def runtime_squeeze(ctx: ConversionContext, x: SSAValue, axes: SSAValue) -> set[int]:
    """The dims a runtime Squeeze ``axes`` operand drops: it names dims of size 1, so when
    it is empty or holds as many entries as the input has such dims, they are those (the
    values are not checked at run time); otherwise the output shape depends on them."""
    ones = {d for d, n in enumerate(shape_of(x)) if n == 1}
    count = int(np.prod(shape_of(axes)))
    if count not in (0, len(ones)):
        raise ctx.error(
            f"axes (input 1) must be a constant: it is computed at run time and names {count} "
            f"of the {len(ones)} dims of size 1 in shape {list(shape_of(x))}, so the output "
            "shape depends on its value"
        )
    return ones
