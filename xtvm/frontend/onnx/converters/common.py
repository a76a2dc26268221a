"""Helpers shared by converters: folding on constants, window padding, attribute checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.ir import SSAValue

from xtvm.dialects.relay import ReshapeOp, TransposeOp, shape_of
from xtvm.frontend.onnx.context import ConversionContext


def reshape(ctx: ConversionContext, v: SSAValue, shape: Sequence[int]) -> SSAValue:
    """``relay.reshape`` (folded with numpy when ``v`` is a constant; a no-op if unchanged)."""
    shape = tuple(int(d) for d in shape)
    if shape_of(v) == shape:
        return v
    if ctx.is_constant(v):
        return ctx.constant(ctx.const_value(v, "operand").reshape(shape))
    return ctx.emit(ReshapeOp(v, shape))


def transpose(ctx: ConversionContext, v: SSAValue, perm: Sequence[int] | None = None) -> SSAValue:
    """``relay.transpose`` (folded with numpy when ``v`` is a constant)."""
    rank = len(shape_of(v))
    axes = list(reversed(range(rank))) if perm is None else [int(p) for p in perm]
    if axes == list(range(rank)):
        return v
    if ctx.is_constant(v):
        return ctx.constant(np.transpose(ctx.const_value(v, "operand"), axes))
    return ctx.emit(TransposeOp(v, axes))


def fold_or_emit(
    ctx: ConversionContext,
    inputs: Sequence[SSAValue],
    fold: Callable[..., np.ndarray],
    emit: Callable[[], SSAValue],
) -> SSAValue:
    """Compute with numpy at import time when every input is a constant, else emit relay."""
    if inputs and all(ctx.is_constant(v) for v in inputs):
        return ctx.constant(fold(*[ctx.const_value(v, "operand") for v in inputs]))
    return emit()


def normalize_axis(ctx: ConversionContext, axis: int, rank: int, what: str = "axis") -> int:
    """ONNX axes may be negative; return the axis in [0, rank) or raise a ModelError."""
    if not -rank <= axis < rank:
        raise ctx.error(f"{what} {axis} is out of range for a rank-{rank} input")
    return axis % rank


def require_rank(ctx: ConversionContext, v: SSAValue, rank: int, what: str) -> tuple[int, ...]:
    s = shape_of(v)
    if len(s) != rank:
        raise ctx.error(f"only {what} is supported (input has rank {len(s)})")
    return s


def window_pads(
    ctx: ConversionContext,
    attrs: dict,
    in_sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """ONNX ``pads`` / ``auto_pad`` for a 2-D window as [top, left, bottom, right]."""
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "NOTSET":
        pads = [int(p) for p in attrs.get("pads", [0] * (2 * len(in_sizes)))]
        if len(pads) != 2 * len(in_sizes) or any(p < 0 for p in pads):
            raise ctx.error(f"pads {pads} must hold {2 * len(in_sizes)} non-negative values")
        return pads
    if auto_pad == "VALID":
        return [0] * (2 * len(in_sizes))
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ctx.attr_error("auto_pad", auto_pad, "NOTSET, SAME_UPPER, SAME_LOWER or VALID")
    begins, ends = [], []
    for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, big = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else big)
        ends.append(big if auto_pad == "SAME_UPPER" else small)
    return begins + ends


def int_list(
    ctx: ConversionContext, attrs: dict, name: str, default: Sequence[int], n: int
) -> list[int]:
    """An ints attribute with exactly ``n`` entries (ModelError otherwise)."""
    values = [int(v) for v in attrs.get(name, default)]
    if len(values) != n:
        raise ctx.error(f"attribute {name}={values} must have {n} values")
    return values
