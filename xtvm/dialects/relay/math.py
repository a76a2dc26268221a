"""Elementwise math, comparison, logic and cast relay ops.

Unary math ops keep their operand's type; ``negative``/``abs``/``sign`` also take integers.
Comparisons broadcast like the arithmetic binaries and return ``i1`` tensors; the logical
ops take and return ``i1``. ``relay.where`` broadcasts its three operands. ``relay.cast``
carries its target element type in the result type (float -> int truncates toward zero,
anything -> i1 is ``!= 0``, i1 -> number is 0/1).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, TensorType, f32, i1, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import (
    RelayOp,
    broadcast_shapes,
    element_type_of,
    elt_of,
    numpy_dtype_of,
    shape_of,
    tensor_type,
)
from xtvm.dialects.relay.elementwise import BinaryOp, UnaryOp

# ----------------------------------------------------------------------------------------------
# unary math
# ----------------------------------------------------------------------------------------------


class FloatUnaryOp(UnaryOp):
    FUSE_PATTERN: ClassVar[str] = "elemwise"


class NumericUnaryOp(UnaryOp):
    """A unary op defined on floats and integers (not on ``i1``)."""

    FUSE_PATTERN: ClassVar[str] = "elemwise"
    FLOAT_ONLY: ClassVar[bool] = False

    def infer_type(self) -> TensorType:
        if elt_of(self.input) == i1:
            raise VerifyException(f"{self.name}: expects a numeric tensor, got i1")
        return self.input.type  # type: ignore[return-value]


@irdl_op_definition
class NegativeOp(NumericUnaryOp):
    name = "relay.negative"


@irdl_op_definition
class AbsOp(NumericUnaryOp):
    name = "relay.abs"


@irdl_op_definition
class SignOp(NumericUnaryOp):
    """-1, 0 or 1 (NaN stays NaN)."""

    name = "relay.sign"


@irdl_op_definition
class SqrtOp(FloatUnaryOp):
    name = "relay.sqrt"


@irdl_op_definition
class LogOp(FloatUnaryOp):
    name = "relay.log"


@irdl_op_definition
class FloorOp(FloatUnaryOp):
    name = "relay.floor"


@irdl_op_definition
class CeilOp(FloatUnaryOp):
    name = "relay.ceil"


@irdl_op_definition
class RoundOp(FloatUnaryOp):
    """Round half to even (ONNX Round, numpy ``round``)."""

    name = "relay.round"


@irdl_op_definition
class ErfOp(FloatUnaryOp):
    name = "relay.erf"


@irdl_op_definition
class LogicalNotOp(UnaryOp):
    name = "relay.logical_not"
    FUSE_PATTERN: ClassVar[str] = "elemwise"

    def infer_type(self) -> TensorType:
        if elt_of(self.input) != i1:
            raise VerifyException(f"{self.name}: expects an i1 tensor")
        return self.input.type  # type: ignore[return-value]


@irdl_op_definition
class LeakyReluOp(UnaryOp):
    """``x if x >= 0 else alpha * x``."""

    name = "relay.leaky_relu"
    alpha = prop_def(FloatAttr)
    FUSE_PATTERN: ClassVar[str] = "elemwise"

    def __init__(self, x: SSAValue, alpha: float):
        super(UnaryOp, self).__init__(
            operands=[x], result_types=[x.type], properties={"alpha": FloatAttr(alpha, f32)}
        )


# ----------------------------------------------------------------------------------------------
# binary math, comparisons, logic
# ----------------------------------------------------------------------------------------------


@irdl_op_definition
class PowerOp(BinaryOp):
    """``lhs ** rhs`` with ``lhs``'s element type (ONNX Pow: the exponent's type may differ).
    Integer or mixed operands are computed in double precision, then converted (integers
    truncate toward zero)."""

    name = "relay.power"
    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def infer_type(self) -> TensorType:
        for v in (self.lhs, self.rhs):
            if elt_of(v) == i1:
                raise VerifyException(f"{self.name}: expects numeric tensors, got i1")
        try:
            shape = broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs))
        except ValueError:
            raise VerifyException(
                f"{self.name}: cannot broadcast shapes {list(shape_of(self.lhs))} and "
                f"{list(shape_of(self.rhs))}"
            ) from None
        return tensor_type(shape, elt_of(self.lhs))


@irdl_op_definition
class ModOp(BinaryOp):
    """Remainder. ``fmod = 0``: sign of the divisor (Python ``%``); ``fmod = 1``: sign of
    the dividend (C ``fmod``). A zero integer divisor gives 0."""

    name = "relay.mod"
    fmod = prop_def(IntegerAttr)
    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, fmod: bool):
        super(BinaryOp, self).__init__(
            operands=[lhs, rhs],
            result_types=[lhs.type],
            properties={"fmod": IntegerAttr(int(fmod), i64)},
        )
        self._set_result_type(self.infer_type())

    @property
    def is_fmod(self) -> bool:
        return bool(self.fmod.value.data)

    def infer_type(self) -> TensorType:
        t = super().infer_type()
        if self.fmod.value.data not in (0, 1):
            raise VerifyException(f"{self.name}: fmod must be 0 or 1")
        if elt_of(t) == i1:
            raise VerifyException(f"{self.name}: expects numeric tensors, got i1")
        return t


class CompareOp(BinaryOp):
    """Broadcasting comparison; the result is ``i1``."""

    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def infer_type(self) -> TensorType:
        return tensor_type(shape_of(super().infer_type()), i1)


@irdl_op_definition
class EqualOp(CompareOp):
    name = "relay.equal"


@irdl_op_definition
class NotEqualOp(CompareOp):
    name = "relay.not_equal"


@irdl_op_definition
class LessOp(CompareOp):
    name = "relay.less"


@irdl_op_definition
class LessEqualOp(CompareOp):
    name = "relay.less_equal"


@irdl_op_definition
class GreaterOp(CompareOp):
    name = "relay.greater"


@irdl_op_definition
class GreaterEqualOp(CompareOp):
    name = "relay.greater_equal"


class LogicalBinaryOp(BinaryOp):
    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def infer_type(self) -> TensorType:
        t = super().infer_type()
        if elt_of(t) != i1:
            raise VerifyException(f"{self.name}: expects i1 tensors")
        return t


@irdl_op_definition
class LogicalAndOp(LogicalBinaryOp):
    name = "relay.logical_and"


@irdl_op_definition
class LogicalOrOp(LogicalBinaryOp):
    name = "relay.logical_or"


@irdl_op_definition
class LogicalXorOp(LogicalBinaryOp):
    name = "relay.logical_xor"


# ----------------------------------------------------------------------------------------------
# select and cast
# ----------------------------------------------------------------------------------------------


@irdl_op_definition
class WhereOp(RelayOp):
    """``cond ? x : y`` elementwise, broadcasting all three operands."""

    name = "relay.where"
    condition = operand_def(TensorType)
    x = operand_def(TensorType)
    y = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$condition `,` $x `,` $y attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def __init__(self, condition: SSAValue, x: SSAValue, y: SSAValue):
        super().__init__(operands=[condition, x, y], result_types=[x.type])
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        if elt_of(self.condition) != i1:
            raise VerifyException(f"{self.name}: condition must be an i1 tensor")
        if elt_of(self.x) != elt_of(self.y):
            raise VerifyException(
                f"{self.name}: element types differ ({elt_of(self.x)} vs {elt_of(self.y)})"
            )
        shapes = [shape_of(v) for v in (self.condition, self.x, self.y)]
        try:
            shape = broadcast_shapes(*shapes)
        except ValueError:
            raise VerifyException(
                f"{self.name}: cannot broadcast shapes {', '.join(str(list(s)) for s in shapes)}"
            ) from None
        return tensor_type(shape, elt_of(self.x))


@irdl_op_definition
class CastOp(RelayOp):
    """Convert the element type to the result type's (same shape)."""

    name = "relay.cast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` functional-type(operands, results)"
    FUSE_PATTERN: ClassVar[str] = "elemwise"

    def __init__(self, x: SSAValue, dtype: Attribute | np.dtype | str):
        elt = dtype if isinstance(dtype, Attribute) else element_type_of(dtype)
        super().__init__(operands=[x], result_types=[tensor_type(shape_of(x), elt)])

    def infer_type(self) -> TensorType:
        out = self.result.type
        assert isinstance(out, TensorType)
        if shape_of(out) != shape_of(self.input):
            raise VerifyException(f"{self.name}: the shape must not change")
        numpy_dtype_of(elt_of(out))  # raises TypeError for unsupported element types
        return out
