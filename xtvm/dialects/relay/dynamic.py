"""Relay ops whose real output length depends on the data (NonZero, Compress, Unique, NMS).

Shapes stay static: each op writes a *bounded* buffer (the largest length the data allows)
and its real length is a separate int64 scalar, computed by the ``count`` form of the op (or
by ordinary relay ops). Entries past the count hold zeros (indices) so a consumer that runs
over the whole bound never reads out of bounds; docs/architecture.md ("Data-dependent output
shapes") says how the frontend carries the count to the runtime.

- ``relay.mask_positions``: ascending positions of the true entries of a 1-D mask.
- ``relay.unique``: first-occurrence facts about the rows of an ``[n, m]`` tensor
  (``indices``: the rows kept, sorted by value or by first occurrence; ``inverse``; ``counts``;
  ``count``: how many distinct rows).
- ``relay.nms``: greedy non-maximum suppression (``indices``: ``[bound, 3]`` triples of
  batch, class, box; ``count``).
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, IntegerType, StringAttr, TensorType, i1, i64
from xdsl.ir import SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, shape_of, tensor_type

UNIQUE_OUTPUTS = ("indices", "inverse", "counts", "count")
NMS_OUTPUTS = ("indices", "count")


@irdl_op_definition
class MaskPositionsOp(RelayOp):
    """``[n] i1 -> [n] i64``: the positions of the true entries in ascending order, then
    zeros (the real length is the number of true entries)."""

    name = "relay.mask_positions"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    mask = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$mask attr-dict `:` functional-type(operands, results)"

    def __init__(self, mask: SSAValue):
        super().__init__(operands=[mask], result_types=[tensor_type(shape_of(mask), i64)])

    def infer_type(self) -> TensorType:
        s = shape_of(self.mask)
        if len(s) != 1 or elt_of(self.mask) != i1:
            raise VerifyException(
                f"{self.name}: mask must be a 1-D i1 tensor, got {self.mask.type}"
            )
        return tensor_type(s, i64)


@irdl_op_definition
class UniqueOp(RelayOp):
    """Distinct elements of a 1-D ``data`` (NaN equal to NaN) or rows of a 2-D one (compared
    whole, IEEE: a row holding NaN equals no other); ``output`` picks
    ``indices`` (``[n]``: first-occurrence row of each distinct row, in value order when
    ``sorted`` else in order of appearance, then zeros), ``inverse`` (``[n]``: each row's
    position among the distinct rows), ``counts`` (``[n]``) or ``count`` (a scalar)."""

    name = "relay.unique"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    data = operand_def(TensorType)
    sorted = prop_def(IntegerAttr)
    output = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, sorted: bool, output: str):
        super().__init__(
            operands=[data],
            result_types=[tensor_type((), i64)],
            properties={"sorted": IntegerAttr(int(sorted), i64), "output": StringAttr(output)},
        )
        self._set_result_type(self.infer_type())

    @property
    def is_sorted(self) -> bool:
        return bool(self.sorted.value.data)

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        if len(s) not in (1, 2):
            raise VerifyException(
                f"{self.name}: data must be 1-D [n] or 2-D [n, m], got {self.data.type}"
            )
        out = self.output.data
        if out not in UNIQUE_OUTPUTS:
            raise VerifyException(
                f"{self.name}: output must be one of {UNIQUE_OUTPUTS}, got {out!r}"
            )
        return tensor_type(() if out == "count" else (s[0],), i64)


@irdl_op_definition
class NmsOp(RelayOp):
    """Greedy non-maximum suppression per (batch, class), as ONNX NonMaxSuppression.

    Operands: boxes ``[B, N, 4]``, scores ``[B, C, N]`` (float), and scalars
    ``max_per_class`` (i64; <= 0 keeps none), ``iou_threshold``, ``score_threshold``. At most
    ``per_class`` boxes are kept per (batch, class), so ``indices`` is ``[B * C * per_class,
    3]``; ``count`` is how many rows are real."""

    name = "relay.nms"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    boxes = operand_def(TensorType)
    scores = operand_def(TensorType)
    max_per_class = operand_def(TensorType)
    iou_threshold = operand_def(TensorType)
    score_threshold = operand_def(TensorType)
    center_point_box = prop_def(IntegerAttr)
    per_class = prop_def(IntegerAttr)
    output = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "operands attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        boxes: SSAValue,
        scores: SSAValue,
        max_per_class: SSAValue,
        iou_threshold: SSAValue,
        score_threshold: SSAValue,
        center_point_box: bool,
        per_class: int,
        output: str,
    ):
        super().__init__(
            operands=[boxes, scores, max_per_class, iou_threshold, score_threshold],
            result_types=[tensor_type((), i64)],
            properties={
                "center_point_box": IntegerAttr(int(center_point_box), i64),
                "per_class": IntegerAttr(int(per_class), i64),
                "output": StringAttr(output),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def bound(self) -> int:
        b, c, _ = shape_of(self.scores)
        return b * c * self.per_class.value.data

    def infer_type(self) -> TensorType:
        bs, ss = shape_of(self.boxes), shape_of(self.scores)
        if len(bs) != 3 or bs[2] != 4 or len(ss) != 3 or ss[0] != bs[0] or ss[2] != bs[1]:
            raise VerifyException(
                f"{self.name}: boxes must be [B, N, 4] and scores [B, C, N], got "
                f"{self.boxes.type} and {self.scores.type}"
            )
        for v, what in (
            (self.max_per_class, "max_per_class"),
            (self.iou_threshold, "iou_threshold"),
            (self.score_threshold, "score_threshold"),
        ):
            if shape_of(v) != ():
                raise VerifyException(f"{self.name}: {what} must be a scalar, got {v.type}")
        if elt_of(self.max_per_class) != i64 or isinstance(elt_of(self.boxes), IntegerType):
            raise VerifyException(f"{self.name}: float boxes and an i64 max_per_class expected")
        k = self.per_class.value.data
        if not 0 <= k <= bs[1]:
            raise VerifyException(f"{self.name}: per_class={k} outside [0, {bs[1]}]")
        out = self.output.data
        if out not in NMS_OUTPUTS:
            raise VerifyException(f"{self.name}: output must be one of {NMS_OUTPUTS}, got {out!r}")
        return tensor_type(() if out == "count" else (self.bound, 3), i64)


DYNAMIC_OPS = [MaskPositionsOp, UniqueOp, NmsOp]

__all__ = ["DYNAMIC_OPS", "MaskPositionsOp", "NmsOp", "UniqueOp"]
