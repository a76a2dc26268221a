"""Trigonometric/hyperbolic unary ops and the running product.

The trig ops keep their float operand's type, like the other float unary math ops. ONNX ops
that compose naturally from existing relay ops (ThresholdedRelu, Trilu, OneHot, LpPool, ...)
have no op here: the frontend builds them from primitives.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.irdl import irdl_op_definition

from xtvm.dialects.relay.math import FloatUnaryOp
from xtvm.dialects.relay.reduce import CumulativeOp


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
class CumProdOp(CumulativeOp):
    """Running product along ``axis`` (the first exclusive output is 1)."""

    name = "relay.cumprod"
    VERB: ClassVar[str] = "multiply"
