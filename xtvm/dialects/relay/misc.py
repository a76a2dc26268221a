"""Trigonometric/hyperbolic unary ops and the running product.

The trig ops keep their float operand's type, like the other float unary math ops. ONNX ops
that compose naturally from existing relay ops (ThresholdedRelu, Trilu, OneHot, LpPool, ...)
have no op here: the frontend builds them from primitives.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, TensorType, i1, i64
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, shape_of
from xtvm.dialects.relay.math import FloatUnaryOp


@irdl_op_definition
class SinOp(FloatUnaryOp):
    name = "relay.sin"


@irdl_op_definition
class CosOp(FloatUnaryOp):
    name = "relay.cos"


@irdl_op_definition
class TanOp(FloatUnaryOp):
    name = "relay.tan"


@irdl_op_definition
class AsinOp(FloatUnaryOp):
    name = "relay.asin"


@irdl_op_definition
class AcosOp(FloatUnaryOp):
    name = "relay.acos"


@irdl_op_definition
class AtanOp(FloatUnaryOp):
    name = "relay.atan"


@irdl_op_definition
class SinhOp(FloatUnaryOp):
    name = "relay.sinh"


@irdl_op_definition
class CoshOp(FloatUnaryOp):
    name = "relay.cosh"


@irdl_op_definition
class AsinhOp(FloatUnaryOp):
    name = "relay.asinh"


@irdl_op_definition
class AcoshOp(FloatUnaryOp):
    name = "relay.acosh"


@irdl_op_definition
class AtanhOp(FloatUnaryOp):
    name = "relay.atanh"


TRIG_OPS: tuple[type[FloatUnaryOp], ...] = (
    SinOp,
    CosOp,
    TanOp,
    AsinOp,
    AcosOp,
    AtanOp,
    SinhOp,
    CoshOp,
    AsinhOp,
    AcoshOp,
    AtanhOp,
)


def _flag(value: bool) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


@irdl_op_definition
class CumProdOp(RelayOp):
    """Running product along ``axis``; ``exclusive`` leaves out the element itself (the first
    output is 1), ``reverse`` multiplies from the end."""

    name = "relay.cumprod"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    data = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    exclusive = prop_def(IntegerAttr)
    reverse = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, axis: int, exclusive: bool = False, reverse: bool = False):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={
                "axis": IntegerAttr(axis % max(rank, 1), i64),
                "exclusive": _flag(exclusive),
                "reverse": _flag(reverse),
            },
        )

    @property
    def attrs(self) -> tuple[int, bool, bool]:
        """(axis, exclusive, reverse)."""
        return (
            self.axis.value.data,
            bool(self.exclusive.value.data),
            bool(self.reverse.value.data),
        )

    def infer_type(self) -> TensorType:
        axis = self.axis.value.data
        rank = len(shape_of(self.data))
        if not 0 <= axis < rank:
            raise VerifyException(f"{self.name}: axis {axis} out of range for rank {rank}")
        if elt_of(self.data) == i1:
            raise VerifyException(f"{self.name}: cannot multiply booleans")
        return self.data.type  # type: ignore[return-value]
