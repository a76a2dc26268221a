"""Loss functions: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.

They are ordinary functions of their inputs (a model may end with its loss, e.g. to score
candidates), so they are decomposed into existing relay ops rather than given kernels of
their own: ``log_softmax`` along the class axis, ``gather_elements`` for the target class,
``take`` for the class weights, ``where`` for ``ignore_index`` and a sum or mean reduction.
The semantics follow the ONNX function bodies: an ignored element contributes neither loss
nor weight, and ``mean`` divides by the sum of the gathered weights (the count of kept
elements when there are no weights), so a batch where every element is ignored gives NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import ConstantOp, elt_of, numpy_dtype_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import reshape
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]

_REDUCTIONS = ("none", "sum", "mean")


def _scalar(ctx: ConversionContext, value: float, like: SSAValue) -> SSAValue:
    """A rank-0 constant of ``like``'s element type (ctx.constant would make it float32)."""
    dtype = np.dtype(numpy_dtype_of(elt_of(like)))
    return ctx.emit(ConstantOp.from_numpy(np.array(value, dtype=dtype)))


def _reduction(ctx: ConversionContext, attrs: Attrs) -> str:
    value = attrs.get("reduction", "mean")
    value = value.decode() if isinstance(value, bytes) else str(value)
    if value not in _REDUCTIONS:
        raise ctx.attr_error("reduction", value, "none, sum or mean")
    return value


def _check_operands(
    ctx: ConversionContext, x: SSAValue, target: SSAValue, weight: SSAValue | None
) -> None:
    """Shapes [N, C, d1..], [N, d1..] and [C]; a float input and an integer target."""
    s, t = shape_of(x), shape_of(target)
    if len(s) < 2:
        raise ctx.error(f"input must have shape [N, C, d1, ...], got {list(s)}")
    if np.dtype(numpy_dtype_of(elt_of(x))).kind != "f":
        raise ctx.error(f"input must be a float tensor, got {elt_of(x)}")
    if tuple(t) != tuple(s[:1]) + tuple(s[2:]):
        raise ctx.error(f"target shape {list(t)} must be {[s[0], *s[2:]]} for input {list(s)}")
    if np.dtype(numpy_dtype_of(elt_of(target))).kind not in "iu":
        raise ctx.error(f"target must be an integer tensor, got {elt_of(target)}")
    if weight is not None:
        if tuple(shape_of(weight)) != (s[1],):
            raise ctx.error(f"weight shape {list(shape_of(weight))} must be [{s[1]}] (C)")
        if elt_of(weight) != elt_of(x):
            raise ctx.error(f"weight type {elt_of(weight)} differs from input {elt_of(x)}")


def nll_loss(
    ctx: ConversionContext,
    log_prob: SSAValue,
    target: SSAValue,
    weight: SSAValue | None,
    reduction: str,
    ignore_index: int | None,
) -> SSAValue:
    """``-log_prob[n, target[n, d..], d..] * weight[target]``, then the reduction."""
    _check_operands(ctx, log_prob, target, weight)
    s = shape_of(log_prob)
    mask = None
    index = target
    if ignore_index is not None:
        # an ignored target may lie outside [0, C): gather at class 0 and mask the result
        tdt = np.dtype(numpy_dtype_of(elt_of(target)))
        ignored = ctx.emit(ConstantOp.from_numpy(np.array(ignore_index, dtype=tdt)))
        mask = ctx.emit(relay.EqualOp(target, ignored))
        zero_index = ctx.emit(ConstantOp.from_numpy(np.zeros((), dtype=tdt)))
        index = ctx.emit(relay.WhereOp(mask, zero_index, target))
    picked = ctx.emit(
        relay.GatherElementsOp(log_prob, reshape(ctx, index, (s[0], 1, *s[2:])), axis=1)
    )
    loss = ctx.emit(relay.NegativeOp(reshape(ctx, picked, shape_of(target))))
    zero = _scalar(ctx, 0.0, log_prob)
    w = None if weight is None else ctx.emit(relay.TakeOp(weight, index, axis=0))
    if mask is not None:
        loss = ctx.emit(relay.WhereOp(mask, zero, loss))
        w = ctx.emit(relay.WhereOp(mask, zero, _scalar(ctx, 1.0, log_prob) if w is None else w))
    if weight is not None:
        assert w is not None
        loss = ctx.emit(relay.MultiplyOp(loss, w))
    if reduction == "none":
        return loss
    axes = list(range(len(shape_of(loss))))
    if reduction == "mean" and w is None:
        return ctx.emit(relay.ReduceOp(loss, "mean", axes, False))
    total = ctx.emit(relay.ReduceOp(loss, "sum", axes, False))
    if reduction == "sum":
        return total
    assert w is not None
    return ctx.emit(relay.DivideOp(total, ctx.emit(relay.ReduceOp(w, "sum", axes, False))))


def _ignore_index(attrs: Attrs) -> int | None:
    return int(attrs["ignore_index"]) if "ignore_index" in attrs else None


def _operands(ctx: ConversionContext, ins: Inputs) -> tuple[SSAValue, SSAValue, SSAValue | None]:
    if len(ins) < 2 or ins[0] is None or ins[1] is None:
        raise ctx.error("needs the input and target operands")
    return ins[0], ins[1], ins[2] if len(ins) > 2 else None


@converter("NegativeLogLikelihoodLoss", since=12)
def negative_log_likelihood_loss(
    ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs
) -> SSAValue:
    """The input already holds log-probabilities; see the module docstring."""
    x, target, weight = _operands(ctx, ins)
    return nll_loss(ctx, x, target, weight, _reduction(ctx, attrs), _ignore_index(attrs))


@converter("SoftmaxCrossEntropyLoss", since=12)
def softmax_cross_entropy_loss(
    ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs
) -> list[SSAValue]:
    """NLL of ``log_softmax(scores, axis=1)``; the second output is that log_softmax."""
    x, target, weight = _operands(ctx, ins)
    if len(shape_of(x)) < 2:
        raise ctx.error(f"scores must have shape [N, C, d1, ...], got {list(shape_of(x))}")
    log_prob = ctx.emit(relay.LogSoftmaxOp(x, axis=1))
    loss = nll_loss(ctx, log_prob, target, weight, _reduction(ctx, attrs), _ignore_index(attrs))
    return [loss, log_prob]
