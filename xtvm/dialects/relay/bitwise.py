"""Bitwise relay ops on integer tensors: and/or/xor/not, shifts, and bit reinterpretation.

Shifts follow ONNX BitShift (opset 28): a shift amount that is negative or at least the bit
width gives what sign extension alone produces (-1 for a right shift of a negative signed
value, else 0); a right shift of a signed type is arithmetic.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import IntegerType, TensorType, i1
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import (
    RelayOp,
    element_type_of,
    elt_of,
    numpy_dtype_of,
    shape_of,
    tensor_type,
)
from xtvm.dialects.relay.elementwise import BinaryOp, UnaryOp


def _require_int(op: RelayOp, elt: Attribute) -> None:
    if not isinstance(elt, IntegerType) or elt == i1:
        raise VerifyException(f"{op.name}: expects integer tensors, got element type {elt}")


class BitwiseBinaryOp(BinaryOp):
    FUSE_PATTERN: ClassVar[str] = "broadcast"

    def infer_type(self) -> TensorType:
        t = super().infer_type()
        _require_int(self, elt_of(t))
        return t


@irdl_op_definition
class BitwiseAndOp(BitwiseBinaryOp):
    name = "relay.bitwise_and"


@irdl_op_definition
class BitwiseOrOp(BitwiseBinaryOp):
    name = "relay.bitwise_or"


@irdl_op_definition
class BitwiseXorOp(BitwiseBinaryOp):
    name = "relay.bitwise_xor"


@irdl_op_definition
class LeftShiftOp(BitwiseBinaryOp):
    name = "relay.left_shift"


@irdl_op_definition
class RightShiftOp(BitwiseBinaryOp):
    """Arithmetic for signed element types, logical for unsigned ones."""

    name = "relay.right_shift"


@irdl_op_definition
class BitwiseNotOp(UnaryOp):
    name = "relay.bitwise_not"
    FUSE_PATTERN: ClassVar[str] = "elemwise"

    def infer_type(self) -> TensorType:
        _require_int(self, elt_of(self.input))
        return self.input.type  # type: ignore[return-value]


def storage_bits(elt: Attribute) -> int:
    """Bits one element occupies in memory (bool takes a byte, as in numpy)."""
    return numpy_dtype_of(elt).itemsize * 8


@irdl_op_definition
class ReinterpretOp(RelayOp):
    """Reinterpret each element's bits as the result's element type (same storage width)."""

    name = "relay.reinterpret"
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
        src, dst = elt_of(self.input), elt_of(out)
        if storage_bits(src) != storage_bits(dst):
            raise VerifyException(f"{self.name}: {src} and {dst} differ in bit width")
        if dst == i1:
            raise VerifyException(f"{self.name}: cannot reinterpret as i1")
        return out
