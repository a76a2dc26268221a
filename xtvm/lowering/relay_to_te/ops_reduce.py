"""Lowerings of reductions, normalizations, top-k and cumulative sums to topi computes."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.norm import instance_norm, layer_norm
from xtvm.topi.nn.reduce import arg_reduce, hardmax, log_softmax, reduce
from xtvm.topi.nn.sort import cumsum, topk


@lowers(relay.ReduceOp)
def _reduce(op: relay.ReduceOp, args: Sequence[Tensor], name: str) -> Tensor:
    return reduce(args[0], op.kind.data, op.reduce_axes, op.keep, f"{name}_{op.kind.data}")


@lowers(relay.ArgMaxOp, relay.ArgMinOp)
def _arg_reduce(op: relay.ArgReduceOp, args: Sequence[Tensor], name: str) -> Tensor:
    axis, keep, last = op.attrs
    return arg_reduce(args[0], axis, isinstance(op, relay.ArgMaxOp), keep, last, name)


@lowers(relay.LogSoftmaxOp)
def _log_softmax(op: relay.LogSoftmaxOp, args: Sequence[Tensor], name: str) -> Tensor:
    return log_softmax(args[0], op.axis.value.data, name)


@lowers(relay.HardmaxOp)
def _hardmax(op: relay.HardmaxOp, args: Sequence[Tensor], name: str) -> Tensor:
    return hardmax(args[0], op.axis.value.data, name)


@lowers(relay.LayerNormOp)
def _layer_norm(op: relay.LayerNormOp, args: Sequence[Tensor], name: str) -> Tensor:
    x, scale, bias = args
    axis, eps = op.axis.value.data, op.epsilon.value.data
    return layer_norm(x, scale, bias, axis, eps, name, op.result_kind)


@lowers(relay.InstanceNormOp)
def _instance_norm(op: relay.InstanceNormOp, args: Sequence[Tensor], name: str) -> Tensor:
    x, scale, bias = args
    return instance_norm(x, scale, bias, op.epsilon.value.data, name)


@lowers(relay.TopKOp)
def _topk(op: relay.TopKOp, args: Sequence[Tensor], name: str) -> Tensor:
    k, axis, largest, ret = op.attrs
    return topk(args[0], k, axis, largest, ret, f"{name}_{ret}")


@lowers(relay.CumSumOp)
def _cumsum(op: relay.CumSumOp, args: Sequence[Tensor], name: str) -> Tensor:
    axis, exclusive, reverse = op.attrs
    return cumsum(args[0], axis, exclusive, reverse, name)
