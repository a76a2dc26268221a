"""Elementwise ONNX ops: numpy-broadcasting binaries, variadic Max/Min, activations, Clip.

Ops on constants only are evaluated at import time (integer shape arithmetic folds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.math import emit as emit_folded
from xtvm.frontend.onnx.converters.runtime_operands import is_runtime, runtime_clip
from xtvm.frontend.onnx.registry import converter

F32_MAX = float(np.finfo(np.float32).max)

_BINARY: dict[str, type[relay.BinaryOp]] = {
    "Add": relay.AddOp,
    "Sub": relay.SubtractOp,
    "Mul": relay.MultiplyOp,
    "Div": relay.DivideOp,
}
_VARIADIC: dict[str, type[relay.BinaryOp]] = {"Max": relay.MaximumOp, "Min": relay.MinimumOp}
_UNARY: dict[str, type[relay.UnaryOp]] = {
    "Relu": relay.ReluOp,
    "Sigmoid": relay.SigmoidOp,
    "Tanh": relay.TanhOp,
    "Exp": relay.ExpOp,
}


def _binary(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    if len(ins) != 2 or ins[0] is None or ins[1] is None:
        raise ctx.error("expects exactly two inputs")
    return emit_folded(ctx, _BINARY[node.op_type](ins[0], ins[1]))


def _variadic(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    values = [v for v in ins if v is not None]
    if not values:
        raise ctx.error("expects at least one input")
    acc = values[0]
    for v in values[1:]:
        acc = emit_folded(ctx, _VARIADIC[node.op_type](acc, v))
    return acc


def _unary(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    if not ins or ins[0] is None:
        raise ctx.error("expects one input")
    return emit_folded(ctx, _UNARY[node.op_type](ins[0]))


for _op in _BINARY:
    converter(_op, since=7)(_binary)  # numpy broadcasting since opset 7
for _op in _VARIADIC:
    converter(_op, since=8)(_variadic)  # variadic with broadcasting since opset 8
for _op in _UNARY:
    converter(_op, since=6)(_unary)


@converter("Clip", since=11)
def clip(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """Bounds come as optional constant inputs; a missing one is the float32 range's end
    (for integer inputs: no bound; a bound at or past the integer range is none either)."""
    x = ins[0]
    assert x is not None
    lo_v, hi_v = (ins[k] if len(ins) > k else None for k in (1, 2))
    if is_runtime(lo_v) or is_runtime(hi_v):
        return runtime_clip(ctx, x, lo_v, hi_v)
    dtype = relay.numpy_dtype_of(relay.elt_of(x))
    is_int = dtype.kind in "iu"
    bounds = []
    for idx, default, what in ((1, -F32_MAX, "min"), (2, F32_MAX, "max")):
        v = ins[idx] if len(ins) > idx else None
        if v is None:
            bounds.append(default * np.inf if is_int else default)
            continue
        arr = ctx.const_value(v, f"Clip {what} (input {idx})")
        if arr.size != 1:
            raise ctx.error(f"Clip {what} must be a scalar, got shape {list(arr.shape)}")
        b = arr.reshape(())
        if is_int:
            info, f32 = np.iinfo(dtype), float(np.float32(b))
            out_of_range = f32 <= info.min if what == "min" else f32 >= info.max
            bounds.append(default * np.inf if out_of_range else f32)
        else:
            bounds.append(float(np.clip(b, -F32_MAX, F32_MAX)))
    lo, hi = bounds
    if lo > hi:
        # ONNX: every element becomes max when min > max
        lo = hi
    return emit_folded(ctx, relay.ClipOp(x, lo, hi))
