"""``relay-simplify-inference``: fold inference batch norms into the preceding conv / dense.

Expects: relay in ``func.func`` bodies (any stage; ``relay.fused`` groups may be present).
Guarantees (top level of function bodies only; ``relay.fused`` regions are untouched): every
``relay.batch_norm`` whose gamma, beta, mean and var are ``relay.constant`` is gone:

- after ``relay.conv2d`` with a constant weight whose only use is the batch norm (directly,
  or through one ``relay.add`` of a constant bias that broadcasts without changing the conv's
  shape), the weights are scaled per output channel and the batch norm becomes one
  ``relay.add`` of a bias constant (``[1, C, 1, 1]``, or the old bias's broadcast shape);
- after a rank-2 ``relay.dense`` under the same conditions, the weight rows are scaled and
  the bias is a ``[N]`` constant;
- otherwise it becomes ``relay.multiply`` + ``relay.add`` with ``[1, C, 1, ...]`` constants.

A batch norm with non-constant parameters is left alone; relay ops left without uses are
erased. New weights are computed with numpy in the tensor's dtype from a per-channel scale
``gamma / sqrt(var + eps)`` taken in float64 and rounded once (eps read as float32, as
onnxruntime reads it), which keeps results within float32 rounding of onnxruntime's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from xtvm.dialects import relay
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.rewrite_utils import (
    EraseDeadRelayOp,
    constant_array,
    inside_fused,
    single_use_by,
)


@dataclass(frozen=True)
class _Affine:
    """The batch norm as ``y = x * scale + shift`` per channel, in the tensor's dtype."""

    scale: np.ndarray
    shift: np.ndarray


def _affine(op: relay.BatchNormOp) -> _Affine | None:
    params = [constant_array(v) for v in (op.gamma, op.beta, op.mean, op.var)]
    if any(p is None for p in params):
        return None
    gamma, beta, mean, var = (p.astype(np.float64) for p in params)  # type: ignore[union-attr]
    dtype = relay.numpy_dtype_of(relay.elt_of(op.result))
    eps = float(np.float32(op.epsilon.value.data))
    scale = (gamma / np.sqrt(var + eps)).astype(dtype)
    shift = (beta - mean * scale.astype(np.float64)).astype(dtype)
    return _Affine(scale, shift)


def _named(value: SSAValue, hint: str | None, fallback: str) -> None:
    """Name a new intermediate value, so that only the final one takes the batch norm's name."""
    value.name_hint = hint or fallback


def _channel_shape(rank: int, channels: int) -> tuple[int, ...]:
    """A per-channel constant's shape that broadcasts along axis 1 of a rank-``rank`` tensor."""
    return (1, channels) + (1,) * (rank - 2)


def _bias_producer(value: SSAValue, user: Operation) -> tuple[SSAValue, np.ndarray | None]:
    """``(v, b)`` when ``value`` is ``v + b`` (b constant, same shape as v) used only by
    ``user``; else ``(value, None)``."""
    add = value.owner
    if not isinstance(add, relay.AddOp) or not single_use_by(value, user):
        return value, None
    for pos in (0, 1):
        b = constant_array(add.operands[pos])
        other = add.operands[1 - pos]
        if b is not None and other.type == add.result.type:
            return other, b
    return value, None


def _new_bias(
    old: np.ndarray | None, affine: _Affine, default_shape: tuple[int, ...]
) -> np.ndarray:
    """The bias after the batch norm: ``(old * scale + shift)`` broadcast per channel."""
    shift = affine.shift.reshape(default_shape)
    if old is None:
        return shift
    scale = affine.scale.reshape(default_shape)
    return (old.astype(shift.dtype) * scale + shift).astype(shift.dtype)


def _fold_into(op: relay.BatchNormOp, rewriter: PatternRewriter, kind: type[relay.RelayOp]) -> bool:
    """Fold ``op`` into a preceding conv2d / dense (``kind``); False when it does not apply."""
    affine = _affine(op)
    if affine is None:
        return False
    producer_value, old_bias = _bias_producer(op.data, op)
    anchor = producer_value.owner
    if not isinstance(anchor, kind):
        return False
    weight = constant_array(anchor.weight)  # type: ignore[attr-defined]
    user = op if old_bias is None else op.data.owner
    if weight is None or not single_use_by(producer_value, user):  # type: ignore[arg-type]
        return False
    rank = len(relay.shape_of(op.result))
    if kind is relay.DenseOp:
        if rank != 2:  # batch norm's axis 1 is dense's output axis only for rank 2
            return False
        bias_shape: tuple[int, ...] = (weight.shape[0],)
    else:
        bias_shape = _channel_shape(rank, weight.shape[0])
    new_bias = _new_bias(old_bias, affine, bias_shape)
    out_shape = relay.shape_of(op.result)
    if np.broadcast_shapes(out_shape, new_bias.shape) != out_shape:
        return False
    w_scale = affine.scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    new_weight = relay.ConstantOp.from_numpy((weight * w_scale).astype(weight.dtype))
    if isinstance(anchor, relay.Conv2dOp):
        strides, padding, dilation, groups = anchor.attrs
        new_anchor: relay.RelayOp = relay.Conv2dOp(
            anchor.data, new_weight.result, strides, padding, dilation, groups
        )
    else:
        new_anchor = relay.DenseOp(anchor.data, new_weight.result)  # type: ignore[attr-defined]
    bias = relay.ConstantOp.from_numpy(new_bias)
    add = relay.AddOp(new_anchor.results[0], bias.result)
    _named(new_weight.result, anchor.weight.name_hint, "bn_weight")  # type: ignore[attr-defined]
    _named(new_anchor.results[0], producer_value.name_hint, anchor.name.split(".")[-1])
    _named(bias.result, None, "bn_bias")
    rewriter.replace(op, [new_weight, new_anchor, bias, add])
    return True


class FoldBatchNormIntoConv(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.BatchNormOp, rewriter: PatternRewriter) -> None:
        if not inside_fused(op):
            _fold_into(op, rewriter, relay.Conv2dOp)


class FoldBatchNormIntoDense(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.BatchNormOp, rewriter: PatternRewriter) -> None:
        if not inside_fused(op):
            _fold_into(op, rewriter, relay.DenseOp)


class BatchNormToScaleShift(RewritePattern):
    """A lone batch norm of constant parameters is ``x * scale + shift`` per channel."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.BatchNormOp, rewriter: PatternRewriter) -> None:
        if inside_fused(op) or (affine := _affine(op)) is None:
            return
        shape = _channel_shape(len(relay.shape_of(op.result)), affine.scale.shape[0])
        scale = relay.ConstantOp.from_numpy(affine.scale.reshape(shape))
        shift = relay.ConstantOp.from_numpy(affine.shift.reshape(shape))
        mul = relay.MultiplyOp(op.data, scale.result)
        add = relay.AddOp(mul.result, shift.result)
        for value, hint in ((scale.result, "bn_scale"), (shift.result, "bn_shift")):
            _named(value, None, hint)
        _named(mul.result, None, "bn_scaled")
        rewriter.replace(op, [scale, shift, mul, add])


@register_pass
@dataclass(frozen=True)
class RelaySimplifyInferencePass(ModulePass):
    """Fold constant batch norms into conv2d / dense or scale + shift (see the module doc)."""

    name = "relay-simplify-inference"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = [
            EraseDeadRelayOp(),
            FoldBatchNormIntoConv(),
            FoldBatchNormIntoDense(),
            BatchNormToScaleShift(),
        ]
        applier = GreedyRewritePatternApplier(patterns, dce_enabled=False)
        PatternRewriteWalker(applier).rewrite_module(op)
