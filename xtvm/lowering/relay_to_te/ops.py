"""One small lowering per relay op family: relay op + operand tensors -> topi compute."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation

from xtvm.dialects import relay
from xtvm.topi import nn
from xtvm.topi.builder import Tensor

Lowering = Callable[[Operation, Sequence[Tensor], str], Tensor]
LOWERINGS: dict[type[Operation], Lowering] = {}


def lowers(*op_types: type[Operation]) -> Callable[[Lowering], Lowering]:
    def deco(fn: Lowering) -> Lowering:
        for t in op_types:
            LOWERINGS[t] = fn
        return fn

    return deco


def stage_name(op: Operation) -> str:
    """``relay.max_pool2d`` -> ``max_pool2d``."""
    return op.name.split(".", 1)[1]


@lowers(
    relay.AddOp,
    relay.SubtractOp,
    relay.MultiplyOp,
    relay.DivideOp,
    relay.MaximumOp,
    relay.MinimumOp,
)
def _binary(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    fn = {
        relay.AddOp: nn.add,
        relay.SubtractOp: nn.subtract,
        relay.MultiplyOp: nn.multiply,
        relay.DivideOp: nn.divide,
        relay.MaximumOp: nn.maximum,
        relay.MinimumOp: nn.minimum,
    }[type(op)]
    return fn(args[0], args[1], name)


@lowers(relay.ReluOp, relay.SigmoidOp, relay.TanhOp, relay.ExpOp)
def _unary(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    fn = {
        relay.ReluOp: nn.relu,
        relay.SigmoidOp: nn.sigmoid_,
        relay.TanhOp: nn.tanh_,
        relay.ExpOp: nn.exp_,
    }[type(op)]
    return fn(args[0], name)


@lowers(relay.ClipOp)
def _clip(op: relay.ClipOp, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.clip(args[0], op.a_min.value.data, op.a_max.value.data, name)


@lowers(relay.BatchNormOp)
def _batch_norm(op: relay.BatchNormOp, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.batch_norm(*args, epsilon=op.epsilon.value.data, name=name)


@lowers(relay.Conv2dOp)
def _conv2d(op: relay.Conv2dOp, args: Sequence[Tensor], name: str) -> Tensor:
    strides, padding, dilation, groups = op.attrs
    return nn.conv2d_nchw(args[0], args[1], strides, padding, dilation, groups, name)


@lowers(relay.DenseOp)
def _dense(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.dense(args[0], args[1], name)


@lowers(relay.BatchMatmulOp)
def _batch_matmul(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.batch_matmul(args[0], args[1], name)


@lowers(relay.MaxPool2dOp, relay.AvgPool2dOp)
def _pool2d(op: relay.Pool2dOp, args: Sequence[Tensor], name: str) -> Tensor:
    ks, strides, padding, dilation, ceil_mode = op.attrs
    if isinstance(op, relay.AvgPool2dOp):
        return nn.avg_pool2d(
            args[0], ks, strides, padding, dilation, ceil_mode, op.include_pad, name
        )
    return nn.max_pool2d(args[0], ks, strides, padding, dilation, ceil_mode, name)


@lowers(relay.GlobalAvgPool2dOp)
def _global_avg_pool2d(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.global_avg_pool2d(args[0], name)


@lowers(relay.SoftmaxOp)
def _softmax(op: relay.SoftmaxOp, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.softmax(args[0], op.axis.value.data, name)


@lowers(relay.ReshapeOp, relay.FlattenOp)
def _reshape(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    t = op.results[0].type
    assert isinstance(t, TensorType)
    return nn.reshape(args[0], tuple(t.get_shape()), name)


@lowers(relay.TransposeOp)
def _transpose(op: relay.TransposeOp, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.transpose(args[0], op.perm, name)


@lowers(relay.ConcatenateOp)
def _concatenate(op: relay.ConcatenateOp, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.concatenate(args, op.axis.value.data, name)


@lowers(relay.StridedSliceOp)
def _strided_slice(op: relay.StridedSliceOp, args: Sequence[Tensor], name: str) -> Tensor:
    return nn.strided_slice(args[0], op.begins, op.steps, relay.shape_of(op.result), name)
