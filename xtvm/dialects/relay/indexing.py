"""Indexing relay ops: take (Gather), gather_elements, gather_nd, scatter_nd,
scatter_elements, tile, broadcast_to.

Index operands are i32 or i64 tensors read at run time. ONNX calls out-of-range indices
undefined; xtvm's computes normalize a negative index by adding the dim and clamp the result
into range, so a bad index never reads or writes outside a buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    i1,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import (
    RelayOp,
    broadcast_shapes,
    elt_of,
    i64_array,
    shape_of,
    tensor_type,
)


def _check_index_type(op: RelayOp, v: SSAValue, what: str) -> None:
    elt = elt_of(v)
    if not isinstance(elt, IntegerType) or elt == i1 or elt.width.data not in (32, 64):
        raise VerifyException(f"{op.name}: {what} must be an i32 or i64 tensor, got {elt}")


def _axis(op: RelayOp, axis: IntegerAttr, rank: int) -> int:
    a = axis.value.data
    if not 0 <= a < rank:
        raise VerifyException(f"{op.name}: axis {a} out of range for rank {rank}")
    return a


@irdl_op_definition
class TakeOp(RelayOp):
    """``out[a.., j.., b..] = data[a.., indices[j..], b..]`` along ``axis`` (ONNX Gather)."""

    name = "relay.take"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $indices attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "injective"

    def __init__(self, data: SSAValue, indices: SSAValue, axis: int = 0):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data, indices],
            result_types=[data.type],
            properties={"axis": IntegerAttr(axis % max(rank, 1), i64)},
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        _check_index_type(self, self.indices, "indices")
        a = _axis(self, self.axis, len(s))
        return tensor_type(s[:a] + shape_of(self.indices) + s[a + 1 :], elt_of(self.data))


@irdl_op_definition
class GatherElementsOp(RelayOp):
    """``out[i] = data[i with dim axis replaced by indices[i]]``; the result has the indices'
    shape, which must fit inside the data's shape outside ``axis``."""

    name = "relay.gather_elements"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $indices attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "injective"

    def __init__(self, data: SSAValue, indices: SSAValue, axis: int = 0):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data, indices],
            result_types=[data.type],
            properties={"axis": IntegerAttr(axis % max(rank, 1), i64)},
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        s, si = shape_of(self.data), shape_of(self.indices)
        _check_index_type(self, self.indices, "indices")
        a = _axis(self, self.axis, len(s))
        if len(si) != len(s):
            raise VerifyException(f"{self.name}: indices rank {len(si)} != data rank {len(s)}")
        if any(si[d] > s[d] for d in range(len(s)) if d != a):
            raise VerifyException(
                f"{self.name}: indices shape {list(si)} exceeds data shape {list(s)} "
                f"outside axis {a}"
            )
        return tensor_type(si, elt_of(self.data))


@irdl_op_definition
class ScatterNdOp(RelayOp):
    """A copy of ``data`` where ``data[indices[m]] = updates[m]`` for every index tuple ``m``
    (ONNX ScatterND). ``reduction`` "none": with duplicate index tuples the last one wins;
    "add"/"mul"/"max"/"min": every update addressing an element is combined into it."""

    REDUCTIONS: ClassVar[tuple[str, ...]] = ("none", "add", "mul", "max", "min")

    name = "relay.scatter_nd"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    reduction = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$data `,` $indices `,` $updates attr-dict `:` functional-type(operands, results)"
    )
    FUSE_PATTERN: ClassVar[str] = "opaque"

    def __init__(
        self, data: SSAValue, indices: SSAValue, updates: SSAValue, reduction: str = "none"
    ):
        super().__init__(
            operands=[data, indices, updates],
            result_types=[data.type],
            properties={"reduction": StringAttr(reduction)},
        )

    def infer_type(self) -> TensorType:
        s, si, su = shape_of(self.data), shape_of(self.indices), shape_of(self.updates)
        _check_index_type(self, self.indices, "indices")
        if self.reduction.data not in self.REDUCTIONS:
            raise VerifyException(
                f"{self.name}: reduction {self.reduction.data!r} is not one of {self.REDUCTIONS}"
            )
        if not si or not 1 <= si[-1] <= len(s):
            raise VerifyException(
                f"{self.name}: indices shape {list(si)} must end in a size between 1 and the "
                f"data rank {len(s)}"
            )
        want = si[:-1] + s[si[-1] :]
        if su != want:
            raise VerifyException(
                f"{self.name}: updates shape {list(su)} must be {list(want)} for indices "
                f"{list(si)} and data {list(s)}"
            )
        if elt_of(self.updates) != elt_of(self.data):
            raise VerifyException(f"{self.name}: updates and data element types differ")
        return self.data.type  # type: ignore[return-value]


@irdl_op_definition
class GatherNdOp(RelayOp):
    """``out[b.., m.., r..] = data[b.., indices[b.., m..], r..]`` where the first
    ``batch_dims`` dims are shared and each index tuple has ``k = indices.shape[-1]`` entries
    (ONNX GatherND)."""

    name = "relay.gather_nd"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    batch_dims = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $indices attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "injective"

    def __init__(self, data: SSAValue, indices: SSAValue, batch_dims: int = 0):
        super().__init__(
            operands=[data, indices],
            result_types=[data.type],
            properties={"batch_dims": IntegerAttr(batch_dims, i64)},
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        s, si = shape_of(self.data), shape_of(self.indices)
        _check_index_type(self, self.indices, "indices")
        b = self.batch_dims.value.data
        if not 0 <= b < min(len(s), len(si)) or si[:b] != s[:b]:
            raise VerifyException(
                f"{self.name}: batch_dims {b} does not fit data {list(s)} and indices {list(si)}"
            )
        if not 1 <= si[-1] <= len(s) - b:
            raise VerifyException(
                f"{self.name}: index tuples of {si[-1]} entries do not fit data {list(s)} "
                f"after {b} batch dims"
            )
        return tensor_type(si[:-1] + s[b + si[-1] :], elt_of(self.data))


@irdl_op_definition
class ScatterElementsOp(RelayOp):
    """A copy of ``data`` where the element at ``j`` with dim ``axis`` replaced by
    ``indices[j]`` receives ``updates[j]`` (ONNX ScatterElements; ``reduction`` as in
    ``relay.scatter_nd``; with duplicates and "none" the last index wins)."""

    REDUCTIONS: ClassVar[tuple[str, ...]] = ScatterNdOp.REDUCTIONS

    name = "relay.scatter_elements"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    reduction = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$data `,` $indices `,` $updates attr-dict `:` functional-type(operands, results)"
    )
    FUSE_PATTERN: ClassVar[str] = "opaque"

    def __init__(
        self,
        data: SSAValue,
        indices: SSAValue,
        updates: SSAValue,
        axis: int = 0,
        reduction: str = "none",
    ):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data, indices, updates],
            result_types=[data.type],
            properties={
                "axis": IntegerAttr(axis % max(rank, 1), i64),
                "reduction": StringAttr(reduction),
            },
        )

    def infer_type(self) -> TensorType:
        s, si, su = shape_of(self.data), shape_of(self.indices), shape_of(self.updates)
        _check_index_type(self, self.indices, "indices")
        a = _axis(self, self.axis, len(s))
        if self.reduction.data not in self.REDUCTIONS:
            raise VerifyException(
                f"{self.name}: reduction {self.reduction.data!r} is not one of {self.REDUCTIONS}"
            )
        if su != si or len(si) != len(s) or any(si[d] > s[d] for d in range(len(s)) if d != a):
            raise VerifyException(
                f"{self.name}: indices {list(si)} and updates {list(su)} must have one shape "
                f"that fits data {list(s)} outside axis {a}"
            )
        if elt_of(self.updates) != elt_of(self.data):
            raise VerifyException(f"{self.name}: updates and data element types differ")
        return self.data.type  # type: ignore[return-value]


@irdl_op_definition
class TileOp(RelayOp):
    """Repeat the input ``reps[d]`` times along every dim ``d`` (ONNX Tile)."""

    name = "relay.tile"
    data = operand_def(TensorType)
    reps = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "injective"

    def __init__(self, data: SSAValue, reps: Sequence[int]):
        super().__init__(
            operands=[data], result_types=[data.type], properties={"reps": i64_array(reps)}
        )
        self._set_result_type(self.infer_type())

    @property
    def repeats(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.reps.get_values())

    def infer_type(self) -> TensorType:
        s, r = shape_of(self.data), self.repeats
        if len(r) != len(s):
            raise VerifyException(f"{self.name}: {len(r)} repeats for a rank-{len(s)} input")
        if any(v < 1 for v in r):
            raise VerifyException(f"{self.name}: repeats {list(r)} must be positive")
        return tensor_type([d * k for d, k in zip(s, r)], elt_of(self.data))


@irdl_op_definition
class BroadcastToOp(RelayOp):
    """numpy-broadcast the input to the result type's shape (ONNX Expand)."""

    name = "relay.broadcast_to"
    data = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def __init__(self, data: SSAValue, shape: Sequence[int]):
        super().__init__(operands=[data], result_types=[tensor_type(shape, elt_of(data))])

    def infer_type(self) -> TensorType:
        out = self.result.type
        assert isinstance(out, TensorType)
        src, dst = shape_of(self.data), shape_of(out)
        if elt_of(out) != elt_of(self.data):
            raise VerifyException(f"{self.name}: element type must not change")
        try:
            ok = len(dst) >= len(src) and broadcast_shapes(src, dst) == dst
        except ValueError:
            ok = False
        if not ok:
            raise VerifyException(f"{self.name}: cannot broadcast {list(src)} to {list(dst)}")
        return out
