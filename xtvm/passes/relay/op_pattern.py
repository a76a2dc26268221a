"""Fusion patterns of relay ops (TVM's ``OpPatternKind``): what ``relay-fuse-ops`` may group.

The kinds are ordered as in TVM, so ``kind <= BROADCAST`` reads "elementwise or broadcast".
Softmax is opaque (as in TVM): its two reductions plus a normalization do not fit either the
epilogue or the injective-chain rule.
"""

from __future__ import annotations

from enum import IntEnum

from xdsl.ir import Operation

from xtvm.dialects import relay


class OpPattern(IntEnum):
    ELEMWISE = 0
    BROADCAST = 1
    INJECTIVE = 2
    COMM_REDUCE = 3
    OUT_ELEMWISE_FUSABLE = 4
    OPAQUE = 8


_PATTERNS: dict[type[Operation], OpPattern] = {
    relay.AddOp: OpPattern.BROADCAST,
    relay.SubtractOp: OpPattern.BROADCAST,
    relay.MultiplyOp: OpPattern.BROADCAST,
    relay.DivideOp: OpPattern.BROADCAST,
    relay.MaximumOp: OpPattern.BROADCAST,
    relay.MinimumOp: OpPattern.BROADCAST,
    relay.ReluOp: OpPattern.ELEMWISE,
    relay.SigmoidOp: OpPattern.ELEMWISE,
    relay.TanhOp: OpPattern.ELEMWISE,
    relay.ExpOp: OpPattern.ELEMWISE,
    relay.ClipOp: OpPattern.ELEMWISE,
    relay.BatchNormOp: OpPattern.BROADCAST,
    relay.ReshapeOp: OpPattern.INJECTIVE,
    relay.FlattenOp: OpPattern.INJECTIVE,
    relay.TransposeOp: OpPattern.INJECTIVE,
    relay.ConcatenateOp: OpPattern.INJECTIVE,
    relay.StridedSliceOp: OpPattern.INJECTIVE,
    relay.GlobalAvgPool2dOp: OpPattern.COMM_REDUCE,
    relay.MaxPool2dOp: OpPattern.COMM_REDUCE,
    relay.AvgPool2dOp: OpPattern.COMM_REDUCE,
    relay.Conv2dOp: OpPattern.OUT_ELEMWISE_FUSABLE,
    relay.DenseOp: OpPattern.OUT_ELEMWISE_FUSABLE,
    relay.BatchMatmulOp: OpPattern.OUT_ELEMWISE_FUSABLE,
    relay.SoftmaxOp: OpPattern.OPAQUE,
}


_BY_NAME = {
    "elemwise": OpPattern.ELEMWISE,
    "broadcast": OpPattern.BROADCAST,
    "injective": OpPattern.INJECTIVE,
    "comm_reduce": OpPattern.COMM_REDUCE,
    "out_elemwise_fusable": OpPattern.OUT_ELEMWISE_FUSABLE,
    "opaque": OpPattern.OPAQUE,
}


def op_pattern(op: Operation) -> OpPattern:
    """The fusion pattern of ``op``: the table above, else the op class's ``FUSE_PATTERN``
    (one of the names in ``_BY_NAME``, so dialect files need not import this pass), else opaque."""
    known = _PATTERNS.get(type(op))
    if known is not None:
        return known
    return _BY_NAME.get(getattr(type(op), "FUSE_PATTERN", "opaque"), OpPattern.OPAQUE)
