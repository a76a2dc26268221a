"""Dense algebra and normalization: Gemm, MatMul, BatchNormalization, Softmax."""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import (
    normalize_axis,
    require_rank,
    reshape,
    transpose,
)
from xtvm.frontend.onnx.registry import converter


def _scale(ctx: ConversionContext, v: SSAValue, factor: float) -> SSAValue:
    """``v * factor``: folded into constants, a broadcast multiply otherwise."""
    if factor == 1.0:
        return v
    if ctx.is_constant(v):
        return ctx.constant(ctx.const_value(v, "operand") * np.float32(factor))
    return ctx.emit(relay.MultiplyOp(v, ctx.constant(np.float32(factor))))


@converter("Gemm", since=11)
def gemm(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """``alpha * A' @ B' + beta * C`` as ``relay.dense`` (weights [N, K]) plus a bias add."""
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    assert a is not None and b is not None
    require_rank(ctx, a, 2, "2-D A")
    require_rank(ctx, b, 2, "2-D B")
    alpha = float(attrs.get("alpha", 1.0))
    beta = float(attrs.get("beta", 1.0))
    if int(attrs.get("transA", 0)):
        a = transpose(ctx, a)
    w = b if int(attrs.get("transB", 0)) else transpose(ctx, b)  # dense wants B as [N, K]
    if ctx.is_constant(w):
        w = _scale(ctx, w, alpha)
        alpha = 1.0
    y = _scale(ctx, ctx.emit(relay.DenseOp(a, w)), alpha)
    if c is None or beta == 0.0:
        return y
    return ctx.emit(relay.AddOp(y, _scale(ctx, c, beta)))


@converter("MatMul", since=9)
def matmul(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """numpy ``matmul``: dense for a constant 2-D right operand, batch_matmul otherwise."""
    a, b = ins[0], ins[1]
    assert a is not None and b is not None
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        raise ctx.error("MatMul operands must have rank >= 1")
    out_shape = list(np.broadcast_shapes(sa[:-2], sb[:-2]))
    if len(sa) >= 2:
        out_shape.append(sa[-2])
    if len(sb) >= 2:
        out_shape.append(sb[-1])
    if len(sa) == 1:
        a = reshape(ctx, a, [1, sa[0]])
    if len(sb) == 1:
        b = reshape(ctx, b, [sb[0], 1])
    if len(shape_of(b)) == 2 and ctx.is_constant(b):
        y = ctx.emit(relay.DenseOp(a, transpose(ctx, b)))
    else:
        y = ctx.emit(relay.BatchMatmulOp(a, b))
    return reshape(ctx, y, out_shape)


@converter("BatchNormalization", since=9)
def batch_norm(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """Inference form only; the running-statistics outputs of training mode are not computed."""
    if int(attrs.get("training_mode", 0)) != 0:
        raise ctx.attr_error("training_mode", attrs["training_mode"], "only 0: inference")
    if len(ins) != 5 or any(v is None for v in ins):
        raise ctx.error("expects five inputs (X, scale, B, input_mean, input_var)")
    x, scale, bias, mean, var = ins
    eps = float(attrs.get("epsilon", 1e-5))
    return ctx.emit(relay.BatchNormOp(x, scale, bias, mean, var, eps))  # type: ignore[arg-type]


@converter("Softmax", since=1)
def softmax_flattening(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    """Before opset 13: coerce to 2-D at ``axis`` and normalize each row of the trailing block."""
    x = ins[0]
    assert x is not None
    s = shape_of(x)
    axis = normalize_axis(ctx, int(attrs.get("axis", 1)), max(len(s), 1))
    if axis == len(s) - 1:  # the trailing block is the last axis itself
        return ctx.emit(relay.SoftmaxOp(x, axis))
    rows = int(np.prod(s[:axis], dtype=np.int64))
    flat = reshape(ctx, x, [rows, int(np.prod(s[axis:], dtype=np.int64))])
    return reshape(ctx, ctx.emit(relay.SoftmaxOp(flat, 1)), s)


@converter("Softmax", since=13)
def softmax(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    rank = len(shape_of(x))
    return ctx.emit(relay.SoftmaxOp(x, normalize_axis(ctx, int(attrs.get("axis", -1)), rank)))
