"""Bitwise ONNX ops: BitwiseAnd/Or/Xor/Not, BitShift, BitCast (integer element types)."""

from __future__ import annotations

from typing import Any

from onnx import NodeProto, TensorProto
from xdsl.dialects.builtin import IntegerType, i1
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay.bitwise import storage_bits
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.math import _CAST_TO, emit
from xtvm.frontend.onnx.registry import converter

Ins = list[SSAValue | None]
Attrs = dict[str, Any]

_BINARY: dict[str, type[relay.BinaryOp]] = {
    "BitwiseAnd": relay.BitwiseAndOp,
    "BitwiseOr": relay.BitwiseOrOp,
    "BitwiseXor": relay.BitwiseXorOp,
}


def _ints(ctx: ConversionContext, ins: Ins, n: int) -> list[SSAValue]:
    values = [v for v in ins[:n] if v is not None]
    if len(values) != n:
        raise ctx.error(f"expects {n} input{'s' if n > 1 else ''}")
    for v in values:
        elt = relay.elt_of(v)
        if not isinstance(elt, IntegerType) or elt == i1:
            raise ctx.error(f"expects integer tensors, got {relay.numpy_dtype_of(elt)}")
    return values


def _binary(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    a, b = _ints(ctx, ins, 2)
    return emit(ctx, _BINARY[node.op_type](a, b))


for _op in _BINARY:
    converter(_op, since=18)(_binary)


@converter("BitwiseNot", since=18)
def bitwise_not(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    (x,) = _ints(ctx, ins, 1)
    return emit(ctx, relay.BitwiseNotOp(x))


@converter("BitShift", since=11)
def bit_shift(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """Opset 11 leaves out-of-range shift amounts undefined; opset 28's rule is used for all."""
    x, s = _ints(ctx, ins, 2)
    direction = attrs.get("direction")
    if isinstance(direction, bytes):
        direction = direction.decode()
    if direction not in ("LEFT", "RIGHT"):
        raise ctx.attr_error("direction", direction, "LEFT or RIGHT")
    cls = relay.LeftShiftOp if direction == "LEFT" else relay.RightShiftOp
    return emit(ctx, cls(x, s))


@converter("BitCast", since=26)
def bit_cast(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = ins[0] if ins else None
    if x is None:
        raise ctx.error("expects one input")
    to = int(attrs.get("to", TensorProto.UNDEFINED))
    if to not in _CAST_TO or to == TensorProto.BOOL:
        name = TensorProto.DataType.Name(to) if to in TensorProto.DataType.values() else to
        allowed = ", ".join(TensorProto.DataType.Name(t) for t in _CAST_TO if t != TensorProto.BOOL)
        raise ctx.attr_error("to", name, allowed)
    elt = relay.element_type_of(_CAST_TO[to])
    src = relay.elt_of(x)
    if storage_bits(src) != storage_bits(elt):
        raise ctx.error(
            f"cannot reinterpret {relay.numpy_dtype_of(src)} as {_CAST_TO[to]}: bit widths differ"
        )
    if src == elt:
        return x
    return emit(ctx, relay.ReinterpretOp(x, elt))
