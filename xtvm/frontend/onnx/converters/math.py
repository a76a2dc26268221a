"""Elementwise math, comparison, logic and cast ONNX ops.

Primitives map to one relay op each; activations are composed from them in forms that stay
finite (Softplus as ``max(x, 0) + log(1 + exp(-|x|))``, Elu selecting before ``exp`` can
matter). Ops whose operands are all constants are evaluated at import time, so shape
arithmetic (Cast/Equal/Where/Mod on shapes) folds to constants.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from onnx import NodeProto, TensorProto
from xdsl.dialects.builtin import AnyFloat
from xdsl.ir import Operation, SSAValue

from xtvm.dialects import relay
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.registry import converter
from xtvm.passes.relay.evaluate import evaluate_op

Ins = list[SSAValue | None]
Attrs = dict[str, Any]

# ONNX element types Cast can produce, as numpy dtypes
_CAST_TO = {
    TensorProto.FLOAT: np.dtype("float32"),
    TensorProto.INT64: np.dtype("int64"),
    TensorProto.INT32: np.dtype("int32"),
    TensorProto.INT16: np.dtype("int16"),
    TensorProto.INT8: np.dtype("int8"),
    TensorProto.BOOL: np.dtype("bool"),
    TensorProto.DOUBLE: np.dtype("float64"),
    TensorProto.UINT8: np.dtype("uint8"),
    TensorProto.UINT16: np.dtype("uint16"),
    TensorProto.UINT32: np.dtype("uint32"),
    TensorProto.UINT64: np.dtype("uint64"),
}


def emit(ctx: ConversionContext, op: Operation) -> SSAValue:
    """Emit ``op``, or its value as a constant when every operand is a constant."""
    if op.operands and all(ctx.is_constant(v) for v in op.operands):
        op.verify()
        value = evaluate_op(op, [ctx.const_value(v, "operand") for v in op.operands])
        op.erase()
        return ctx.constant(value)
    return ctx.emit(op)


def _inputs(ctx: ConversionContext, ins: Ins, n: int) -> list[SSAValue]:
    values = [v for v in ins[:n] if v is not None]
    if len(values) != n:
        raise ctx.error(f"expects {n} input{'s' if n > 1 else ''}")
    return values


def scalar(ctx: ConversionContext, value: float, like: SSAValue) -> SSAValue:
    """A rank-0 constant of ``like``'s element type."""
    dtype = relay.numpy_dtype_of(relay.elt_of(like))
    return ctx.emit(relay.ConstantOp.from_numpy(np.array(value, dtype)))


def _float(ctx: ConversionContext, x: SSAValue, what: str = "input") -> SSAValue:
    if relay.elt_of(x) != relay.element_type_of("float32"):
        raise ctx.error(f"{what} must be float32, got {relay.numpy_dtype_of(relay.elt_of(x))}")
    return x


# ----------------------------------------------------------------------------------------------
# unary primitives
# ----------------------------------------------------------------------------------------------

_UNARY: dict[str, type[relay.UnaryOp]] = {
    "Neg": relay.NegativeOp,
    "Abs": relay.AbsOp,
    "Sign": relay.SignOp,
    "Sqrt": relay.SqrtOp,
    "Log": relay.LogOp,
    "Floor": relay.FloorOp,
    "Ceil": relay.CeilOp,
    "Round": relay.RoundOp,
    "Erf": relay.ErfOp,
    "Not": relay.LogicalNotOp,
}


def _unary(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    (x,) = _inputs(ctx, ins, 1)
    return emit(ctx, _UNARY[node.op_type](x))


for _op, _since in (("Neg", 6), ("Abs", 6), ("Sqrt", 6), ("Log", 6), ("Floor", 6)):
    converter(_op, since=_since)(_unary)
for _op, _since in (("Ceil", 6), ("Sign", 9), ("Erf", 9), ("Round", 11), ("Not", 1)):
    converter(_op, since=_since)(_unary)


# ----------------------------------------------------------------------------------------------
# binary primitives
# ----------------------------------------------------------------------------------------------

_BINARY: dict[str, type[relay.BinaryOp]] = {
    "Equal": relay.EqualOp,
    "Less": relay.LessOp,
    "Greater": relay.GreaterOp,
    "LessOrEqual": relay.LessEqualOp,
    "GreaterOrEqual": relay.GreaterEqualOp,
    "And": relay.LogicalAndOp,
    "Or": relay.LogicalOrOp,
    "Xor": relay.LogicalXorOp,
}


def _binary(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    a, b = _inputs(ctx, ins, 2)
    return emit(ctx, _BINARY[node.op_type](a, b))


for _op, _since in (("Equal", 11), ("Less", 9), ("Greater", 9), ("LessOrEqual", 12)):
    converter(_op, since=_since)(_binary)
for _op, _since in (("GreaterOrEqual", 12), ("And", 7), ("Or", 7), ("Xor", 7)):
    converter(_op, since=_since)(_binary)


@converter("Mod", since=10)
def mod(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    a, b = _inputs(ctx, ins, 2)
    fmod = int(attrs.get("fmod", 0))
    if fmod not in (0, 1):
        raise ctx.attr_error("fmod", fmod, "0 or 1")
    return emit(ctx, relay.ModOp(a, b, bool(fmod)))


@converter("Pow", since=7)
def pow_(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """The result has the base's type. A constant scalar exponent 1, 2, 3 or 0.5 on a float
    base becomes multiplies / a square root."""
    x, y = _inputs(ctx, ins, 2)
    if ctx.is_constant(y) and not ctx.is_constant(x) and isinstance(relay.elt_of(x), AnyFloat):
        e = ctx.const_value(y, "exponent")
        if e.size == 1 and len(relay.shape_of(y)) <= len(relay.shape_of(x)):
            p = float(e.reshape(()))
            if p == 1.0:
                return x
            if p == 2.0:
                return ctx.emit(relay.MultiplyOp(x, x))
            if p == 3.0:
                return ctx.emit(relay.MultiplyOp(ctx.emit(relay.MultiplyOp(x, x)), x))
            if p == 0.5:
                return ctx.emit(relay.SqrtOp(x))
    return emit(ctx, relay.PowerOp(x, y))


@converter("Cast", since=24)  # adds round_mode: it only affects float8 targets
@converter("Cast", since=6)
def cast(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    (x,) = _inputs(ctx, ins, 1)
    to = int(attrs.get("to", TensorProto.UNDEFINED))
    if to not in _CAST_TO:
        name = TensorProto.DataType.Name(to) if to in TensorProto.DataType.values() else to
        raise ctx.attr_error("to", name, ", ".join(TensorProto.DataType.Name(t) for t in _CAST_TO))
    dtype = _CAST_TO[to]
    if relay.numpy_dtype_of(relay.elt_of(x)) == dtype:
        return x
    return emit(ctx, relay.CastOp(x, dtype))


@converter("CastLike", since=24)  # adds round_mode: it only affects float8 targets
@converter("CastLike", since=15)
def cast_like(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """Cast to the element type of the second input (only its type is read)."""
    x, like = _inputs(ctx, ins, 2)
    if relay.elt_of(x) == relay.elt_of(like):
        return x
    return emit(ctx, relay.CastOp(x, relay.elt_of(like)))


@converter("Where", since=9)
def where(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    c, x, y = _inputs(ctx, ins, 3)
    return emit(ctx, relay.WhereOp(c, x, y))


def _variadic(ctx: ConversionContext, ins: Ins, cls: type[relay.BinaryOp]) -> SSAValue:
    values = [v for v in ins if v is not None]
    if not values:
        raise ctx.error("expects at least one input")
    acc = values[0]
    for v in values[1:]:
        acc = emit(ctx, cls(acc, v))
    return acc


@converter("Sum", since=8)
def sum_(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    return _variadic(ctx, ins, relay.AddOp)


@converter("Mean", since=8)
def mean(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    total = _variadic(ctx, ins, relay.AddOp)
    n = len([v for v in ins if v is not None])
    if n == 1:
        return total
    return emit(ctx, relay.DivideOp(total, scalar(ctx, n, total)))


# ----------------------------------------------------------------------------------------------
# activations composed from primitives
# ----------------------------------------------------------------------------------------------


def _mul(ctx: ConversionContext, x: SSAValue, k: float) -> SSAValue:
    return ctx.emit(relay.MultiplyOp(x, scalar(ctx, k, x)))


def _add(ctx: ConversionContext, x: SSAValue, k: float) -> SSAValue:
    return ctx.emit(relay.AddOp(x, scalar(ctx, k, x)))


def _hard_sigmoid(ctx: ConversionContext, x: SSAValue, alpha: float, beta: float) -> SSAValue:
    return ctx.emit(relay.ClipOp(_add(ctx, _mul(ctx, x, alpha), beta), 0.0, 1.0))


def _float_input(ctx: ConversionContext, ins: Ins) -> SSAValue:
    (x,) = _inputs(ctx, ins, 1)
    return _float(ctx, x)


@converter("HardSigmoid", since=6)
def hard_sigmoid(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    return _hard_sigmoid(ctx, x, float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5)))


@converter("HardSwish", since=14)
def hard_swish(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    return ctx.emit(relay.MultiplyOp(x, _hard_sigmoid(ctx, x, 1.0 / 6.0, 0.5)))


@converter("LeakyRelu", since=6)
def leaky_relu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    return emit(ctx, relay.LeakyReluOp(x, float(attrs.get("alpha", 0.01))))


@converter("PRelu", since=9)
def prelu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``x < 0 ? slope * x : x``; slope broadcasts to x's shape (unidirectionally)."""
    x, slope = _inputs(ctx, ins, 2)
    xs, ss = relay.shape_of(x), relay.shape_of(slope)
    try:
        ok = relay.broadcast_shapes(xs, ss) == xs
    except ValueError:
        ok = False
    if not ok:
        raise ctx.error(f"slope shape {list(ss)} does not broadcast to input shape {list(xs)}")
    negative = ctx.emit(relay.LessOp(x, scalar(ctx, 0, x)))
    return ctx.emit(relay.WhereOp(negative, ctx.emit(relay.MultiplyOp(x, slope)), x))


def _elu_core(ctx: ConversionContext, x: SSAValue, alpha: float) -> SSAValue:
    """``x > 0 ? x : alpha * (exp(x) - 1)``; exp's overflow on the unused side is dropped."""
    positive = ctx.emit(relay.GreaterOp(x, scalar(ctx, 0.0, x)))
    em1 = _add(ctx, ctx.emit(relay.ExpOp(x)), -1.0)
    return ctx.emit(relay.WhereOp(positive, x, _mul(ctx, em1, alpha)))


@converter("Elu", since=6)
def elu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    return _elu_core(ctx, x, float(attrs.get("alpha", 1.0)))


@converter("Selu", since=6)
def selu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    alpha = float(attrs.get("alpha", 1.67326319217681884765625))
    gamma = float(attrs.get("gamma", 1.05070102214813232421875))
    return _mul(ctx, _elu_core(ctx, x, alpha), gamma)


@converter("Softplus", since=1)
def softplus(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``max(x, 0) + log(1 + exp(-|x|))``: never overflows, unlike ``log(1 + exp(x))``."""
    x = _float_input(ctx, ins)
    e = ctx.emit(relay.ExpOp(ctx.emit(relay.NegativeOp(ctx.emit(relay.AbsOp(x))))))
    tail = ctx.emit(relay.LogOp(_add(ctx, e, 1.0)))
    return ctx.emit(relay.AddOp(ctx.emit(relay.ReluOp(x)), tail))


@converter("Softsign", since=1)
def softsign(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    return ctx.emit(relay.DivideOp(x, _add(ctx, ctx.emit(relay.AbsOp(x)), 1.0)))


@converter("Reciprocal", since=6)
def reciprocal(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float_input(ctx, ins)
    return emit(ctx, relay.DivideOp(scalar(ctx, 1.0, x), x))


@converter("Gelu", since=20)
def gelu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """none: ``x/2 * (1 + erf(x/sqrt(2)))``; tanh:
    ``x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``."""
    x = _float_input(ctx, ins)
    approx = attrs.get("approximate", "none")
    if approx == "none":
        inner = ctx.emit(relay.ErfOp(_mul(ctx, x, 1.0 / math.sqrt(2.0))))
    elif approx == "tanh":
        cube = ctx.emit(relay.MultiplyOp(ctx.emit(relay.MultiplyOp(x, x)), x))
        poly = ctx.emit(relay.AddOp(x, _mul(ctx, cube, 0.044715)))
        inner = ctx.emit(relay.TanhOp(_mul(ctx, poly, math.sqrt(2.0 / math.pi))))
    else:
        raise ctx.attr_error("approximate", approx, "'none' or 'tanh'")
    return ctx.emit(relay.MultiplyOp(_mul(ctx, x, 0.5), _add(ctx, inner, 1.0)))
