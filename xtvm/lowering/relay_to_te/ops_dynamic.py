"""Lowerings of the bounded-output relay ops (``dialects/relay/dynamic.py``) to topi."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects.relay.dynamic import MaskPositionsOp, NmsOp, UniqueOp
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.compaction import mask_positions, unique
from xtvm.topi.nn.nms import nms


@lowers(MaskPositionsOp)
def _mask_positions(op: MaskPositionsOp, args: Sequence[Tensor], name: str) -> Tensor:
    return mask_positions(args[0], name)


@lowers(UniqueOp)
def _unique(op: UniqueOp, args: Sequence[Tensor], name: str) -> Tensor:
    return unique(args[0], op.is_sorted, op.output.data, f"{name}_{op.output.data}")


@lowers(NmsOp)
def _nms(op: NmsOp, args: Sequence[Tensor], name: str) -> Tensor:
    boxes, scores, max_per_class, iou, score_threshold = args
    center = bool(op.center_point_box.value.data)
    per_class = op.per_class.value.data
    output = op.output.data
    return nms(boxes, scores, max_per_class, iou, score_threshold, center, per_class, output, name)
