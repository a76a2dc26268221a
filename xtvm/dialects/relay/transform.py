"""Shape-changing relay ops: reshape, flatten, transpose, concatenate."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, TensorType, i64
from xdsl.ir import SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, i64_array, shape_of, tensor_type


def _prod(s: Sequence[int]) -> int:
    n = 1
    for d in s:
        n *= d
    return n


@irdl_op_definition
class ReshapeOp(RelayOp):
    """Row-major reshape; the new shape is the result type (element counts must agree)."""

    name = "relay.reshape"
    data = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, new_shape: Sequence[int]):
        super().__init__(operands=[data], result_types=[tensor_type(new_shape, elt_of(data))])

    def infer_type(self) -> TensorType:
        out = self.result.type
        assert isinstance(out, TensorType)
        if elt_of(out) != elt_of(self.data):
            raise VerifyException(f"{self.name}: element type must not change")
        if _prod(shape_of(out)) != _prod(shape_of(self.data)):
            raise VerifyException(
                f"{self.name}: cannot reshape {shape_of(self.data)} to {shape_of(out)}"
            )
        return out


@irdl_op_definition
class FlattenOp(RelayOp):
    """Collapse dims [0, axis) and [axis, rank) into a 2-D tensor (ONNX Flatten)."""

    name = "relay.flatten"
    data = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, axis: int = 1):
        super().__init__(
            operands=[data], result_types=[data.type], properties={"axis": IntegerAttr(axis, i64)}
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        a = self.axis.value.data
        if not 0 <= a <= len(s):
            raise VerifyException(f"{self.name}: axis {a} out of range for rank {len(s)}")
        return tensor_type((_prod(s[:a]), _prod(s[a:])), elt_of(self.data))


@irdl_op_definition
class TransposeOp(RelayOp):
    """Permute dims: result dim i is input dim ``axes[i]``."""

    name = "relay.transpose"
    data = operand_def(TensorType)
    axes = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, axes: Sequence[int] | None = None):
        rank = len(shape_of(data))
        perm = list(reversed(range(rank))) if axes is None else [a % rank for a in axes]
        super().__init__(
            operands=[data], result_types=[data.type], properties={"axes": i64_array(perm)}
        )
        self._set_result_type(self.infer_type())

    @property
    def perm(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.axes.get_values())

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        p = self.perm
        if sorted(p) != list(range(len(s))):
            raise VerifyException(
                f"{self.name}: axes {list(p)} is not a permutation of rank {len(s)}"
            )
        return tensor_type(tuple(s[a] for a in p), elt_of(self.data))


@irdl_op_definition
class ConcatenateOp(RelayOp):
    """Join tensors along ``axis``; all other dims must match."""

    name = "relay.concatenate"
    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue], axis: int):
        rank = len(shape_of(inputs[0]))
        super().__init__(
            operands=[list(inputs)],
            result_types=[inputs[0].type],
            properties={"axis": IntegerAttr(axis % rank, i64)},
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        if not self.inputs:
            raise VerifyException(f"{self.name}: needs at least one input")
        shapes = [shape_of(v) for v in self.inputs]
        a = self.axis.value.data
        r = len(shapes[0])
        if not 0 <= a < r:
            raise VerifyException(f"{self.name}: axis {a} out of range for rank {r}")
        for v, s in zip(self.inputs, shapes):
            if len(s) != r or any(s[i] != shapes[0][i] for i in range(r) if i != a):
                raise VerifyException(f"{self.name}: shapes {shapes} differ outside axis {a}")
            if elt_of(v) != elt_of(self.inputs[0]):
                raise VerifyException(f"{self.name}: element types differ")
        out = list(shapes[0])
        out[a] = sum(s[a] for s in shapes)
        return tensor_type(out, elt_of(self.inputs[0]))


@irdl_op_definition
class StridedSliceOp(RelayOp):
    """Result element ``i`` along dim ``d`` is input element ``begin[d] + i * strides[d]``.

    The result shape is the result type; ``begin`` is normalized (non-negative) and every
    index it implies is in bounds, so the op is a pure affine view (negative strides walk
    backwards). Frontends translate ONNX Slice's clamped starts/ends/steps into this form."""

    name = "relay.strided_slice"
    data = operand_def(TensorType)
    begin = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, data: SSAValue, begin: Sequence[int], strides: Sequence[int], out_shape: Sequence[int]
    ):
        super().__init__(
            operands=[data],
            result_types=[tensor_type(out_shape, elt_of(data))],
            properties={"begin": i64_array(begin), "strides": i64_array(strides)},
        )

    @property
    def begins(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.begin.get_values())

    @property
    def steps(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.strides.get_values())

    def infer_type(self) -> TensorType:
        out = self.result.type
        assert isinstance(out, TensorType)
        src = shape_of(self.data)
        dst = shape_of(out)
        b, st = self.begins, self.steps
        if not (len(b) == len(st) == len(src) == len(dst)):
            raise VerifyException(f"{self.name}: begin, strides, input and result ranks differ")
        if elt_of(out) != elt_of(self.data):
            raise VerifyException(f"{self.name}: element type must not change")
        for d, (n, size, b0, s0) in enumerate(zip(dst, src, b, st)):
            if s0 == 0:
                raise VerifyException(f"{self.name}: stride of dim {d} is 0")
            if n == 0:
                continue
            last = b0 + (n - 1) * s0
            if not (0 <= b0 < size and 0 <= last < size):
                raise VerifyException(
                    f"{self.name}: dim {d} reads indices {b0}..{last} outside [0, {size})"
                )
        return out
