"""Elementwise and broadcast relay ops."""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import AnyFloat, FloatAttr, TensorType, f32
from xdsl.ir import SSAValue
from xdsl.irdl import (
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, broadcast_shapes, elt_of, shape_of, tensor_type

# ----------------------------------------------------------------------------------------------
# elementwise and broadcast
# ----------------------------------------------------------------------------------------------


class BinaryOp(RelayOp):
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[lhs, rhs], result_types=[lhs.type])
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        if elt_of(self.lhs) != elt_of(self.rhs):
            raise VerifyException(
                f"{self.name}: element types differ ({elt_of(self.lhs)} vs {elt_of(self.rhs)})"
            )
        try:
            shape = broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs))
        except ValueError:
            raise VerifyException(
                f"{self.name}: cannot broadcast shapes {list(shape_of(self.lhs))} and "
                f"{list(shape_of(self.rhs))}"
            ) from None
        return tensor_type(shape, elt_of(self.lhs))


@irdl_op_definition
class AddOp(BinaryOp):
    name = "relay.add"


@irdl_op_definition
class SubtractOp(BinaryOp):
    name = "relay.subtract"


@irdl_op_definition
class MultiplyOp(BinaryOp):
    name = "relay.multiply"


@irdl_op_definition
class DivideOp(BinaryOp):
    name = "relay.divide"


@irdl_op_definition
class MaximumOp(BinaryOp):
    name = "relay.maximum"


@irdl_op_definition
class MinimumOp(BinaryOp):
    name = "relay.minimum"


class UnaryOp(RelayOp):
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input)"
    FLOAT_ONLY: ClassVar[bool] = True

    def __init__(self, x: SSAValue):
        super().__init__(operands=[x], result_types=[x.type])

    def infer_type(self) -> TensorType:
        if self.FLOAT_ONLY and not isinstance(elt_of(self.input), AnyFloat):
            raise VerifyException(f"{self.name}: expects a floating-point tensor")
        return self.input.type  # type: ignore[return-value]


@irdl_op_definition
class ReluOp(UnaryOp):
    name = "relay.relu"


@irdl_op_definition
class SigmoidOp(UnaryOp):
    name = "relay.sigmoid"


@irdl_op_definition
class TanhOp(UnaryOp):
    name = "relay.tanh"


@irdl_op_definition
class ExpOp(UnaryOp):
    name = "relay.exp"


@irdl_op_definition
class ClipOp(RelayOp):
    """``min(max(x, a_min), a_max)``."""

    name = "relay.clip"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    a_min = prop_def(FloatAttr)
    a_max = prop_def(FloatAttr)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, x: SSAValue, a_min: float, a_max: float):
        super().__init__(
            operands=[x],
            result_types=[x.type],
            properties={"a_min": FloatAttr(a_min, f32), "a_max": FloatAttr(a_max, f32)},
        )

    def infer_type(self) -> TensorType:
        if self.a_min.value.data > self.a_max.value.data:
            raise VerifyException("relay.clip: a_min must not exceed a_max")
        return self.input.type  # type: ignore[return-value]
