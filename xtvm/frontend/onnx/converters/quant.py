"""Integer quantization: (Dynamic)QuantizeLinear, DequantizeLinear, MatMulInteger, ConvInteger,
QLinearMatMul, QLinearConv for int8/uint8/int16/uint16 tensors.

Integer products are accumulated in float64 (exact for integers below 2^53, far beyond any
int8/uint8 reduction that fits int32), so the integer ops run on the float matmul/conv
kernels with results bit-identical to int32 accumulation. Quantization rounds half to even
and saturates to the target type's range, like the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto, TensorProto, helper
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, numpy_dtype_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape
from xtvm.frontend.onnx.converters.conv import conv
from xtvm.frontend.onnx.converters.nn import matmul
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]

QUANT_TYPES = (np.dtype("uint8"), np.dtype("int8"), np.dtype("uint16"), np.dtype("int16"))
F32, F64 = np.dtype("float32"), np.dtype("float64")


def _operand(ins: Inputs, k: int) -> SSAValue | None:
    return ins[k] if len(ins) > k else None


def _dtype(v: SSAValue) -> np.dtype:
    return numpy_dtype_of(elt_of(v))


def _cast(ctx: ConversionContext, v: SSAValue, dtype: np.dtype) -> SSAValue:
    if _dtype(v) == dtype:
        return v
    if ctx.is_constant(v):
        return ctx.emit(relay.ConstantOp.from_numpy(ctx.const_value(v, "operand").astype(dtype)))
    return ctx.emit(relay.CastOp(v, dtype))


def _quant_type(ctx: ConversionContext, dtype: np.dtype, what: str) -> np.dtype:
    if dtype not in QUANT_TYPES:
        raise ctx.error(f"{what} has element type {dtype}; supported are uint8, int8, (u)int16")
    return dtype


def _param(
    ctx: ConversionContext, p: SSAValue, shape: tuple[int, ...], axis: int, block: int, what: str
) -> SSAValue:
    """Scale / zero point shaped to broadcast against the data (per tensor, axis or block)."""
    ps = shape_of(p)
    size = int(np.prod(ps))
    if size == 1:
        return reshape(ctx, p, [])
    axis = normalize_axis(ctx, axis, len(shape))
    if block <= 0:
        if len(ps) != 1 or ps[0] != shape[axis]:
            raise ctx.error(f"{what} {list(ps)} must be a scalar or [{shape[axis]}] (axis {axis})")
        dims = [1] * len(shape)
        dims[axis] = ps[0]
        return reshape(ctx, p, dims)
    want = list(shape)
    want[axis] = -(-shape[axis] // block)
    if list(ps) != want:
        raise ctx.error(f"{what} {list(ps)} must be {want} for block_size {block}")
    index = np.arange(shape[axis], dtype=np.int64) // block
    return ctx.emit(relay.TakeOp(p, ctx.constant(index), axis))


def _axis_block(attrs: Attrs) -> tuple[int, int]:
    """``axis`` (normalized where a per-axis parameter uses it) and ``block_size``."""
    return int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))


def _saturate(ctx: ConversionContext, y: SSAValue, dtype: np.dtype) -> SSAValue:
    """Round half to even, clamp to ``dtype``'s range, convert (float input)."""
    info = np.iinfo(dtype)
    y = ctx.emit(relay.RoundOp(y))
    return _cast(ctx, ctx.emit(relay.ClipOp(y, float(info.min), float(info.max))), dtype)


def quantize(
    ctx: ConversionContext, x: SSAValue, scale: SSAValue, zp: SSAValue | None, dtype: np.dtype
) -> SSAValue:
    """``saturate(round(x / scale) + zp)`` with scale and zp already broadcastable."""
    y = ctx.emit(relay.DivideOp(x, scale))
    y = ctx.emit(relay.RoundOp(y))
    if zp is not None:
        y = ctx.emit(relay.AddOp(y, _cast(ctx, zp, _dtype(x))))
    return _saturate(ctx, y, dtype)


def _quantize_linear(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x, scale, zp = ins[0], ins[1], _operand(ins, 2)
    assert x is not None and scale is not None
    if _dtype(x) != F32 or _dtype(scale) != F32:
        raise ctx.error("x and y_scale must be float32")
    if int(attrs.get("precision", 0)) not in (0, TensorProto.FLOAT):
        raise ctx.attr_error("precision", attrs["precision"], "only float32")
    out = int(attrs.get("output_dtype", 0))
    if zp is not None:
        dtype = _dtype(zp)
        if out and helper.tensor_dtype_to_np_dtype(out) != dtype:
            raise ctx.error("output_dtype differs from the zero point's type")
    else:
        dtype = helper.tensor_dtype_to_np_dtype(out) if out else np.dtype("uint8")
    _quant_type(ctx, np.dtype(dtype), "the output")
    s = shape_of(x)
    axis, block = _axis_block(attrs)
    sc = _param(ctx, scale, s, axis, block, "y_scale")
    z = None if zp is None else _param(ctx, zp, s, axis, block, "y_zero_point")
    return quantize(ctx, x, sc, z, np.dtype(dtype))


def _dequantize_linear(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x, scale, zp = ins[0], ins[1], _operand(ins, 2)
    assert x is not None and scale is not None
    _quant_type(ctx, _dtype(x), "x")
    if _dtype(scale) != F32:
        raise ctx.error("x_scale must be float32")
    out = int(attrs.get("output_dtype", 0))
    if out not in (0, TensorProto.FLOAT):
        raise ctx.attr_error("output_dtype", out, "only float32")
    s = shape_of(x)
    axis, block = _axis_block(attrs)
    y = _cast(ctx, x, F32)
    if zp is not None:
        if _dtype(zp) != _dtype(x):
            raise ctx.error("x_zero_point must have x's type")
        z = _cast(ctx, _param(ctx, zp, s, axis, block, "x_zero_point"), F32)
        y = ctx.emit(relay.SubtractOp(y, z))
    return ctx.emit(relay.MultiplyOp(y, _param(ctx, scale, s, axis, block, "x_scale")))


for _v in (10, 13, 19, 21, 23, 24, 25, 28):
    converter("QuantizeLinear", since=_v)(_quantize_linear)
    converter("DequantizeLinear", since=_v)(_dequantize_linear)


@converter("DynamicQuantizeLinear", since=11)
def dynamic_quantize_linear(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """uint8 with scale = (max(x, 0) - min(x, 0)) / 255 and a rounded, clamped zero point."""
    x = ins[0]
    assert x is not None
    if _dtype(x) != F32:
        raise ctx.error("x must be float32")
    axes = list(range(len(shape_of(x))))
    zero = ctx.constant(np.float32(0))
    hi = ctx.emit(relay.MaximumOp(ctx.emit(relay.ReduceOp(x, "max", axes, False)), zero))
    lo = ctx.emit(relay.MinimumOp(ctx.emit(relay.ReduceOp(x, "min", axes, False)), zero))
    span = ctx.emit(relay.SubtractOp(hi, lo))
    same = ctx.emit(relay.EqualOp(span, zero))
    span = ctx.emit(relay.WhereOp(same, ctx.constant(np.float32(1)), span))
    scale = ctx.emit(relay.DivideOp(span, ctx.constant(np.float32(255))))
    zp = ctx.emit(relay.SubtractOp(zero, ctx.emit(relay.DivideOp(lo, scale))))
    zp = ctx.emit(relay.RoundOp(ctx.emit(relay.ClipOp(zp, 0.0, 255.0))))
    y = ctx.emit(relay.AddOp(ctx.emit(relay.RoundOp(ctx.emit(relay.DivideOp(x, scale)))), zp))
    u8 = np.dtype("uint8")
    return [_saturate(ctx, y, u8), scale, _cast(ctx, zp, u8)]


def _centered(ctx: ConversionContext, v: SSAValue, zp: SSAValue | None, axis: int | None):
    """``v - zp`` in float64 (exact); ``axis``: the dim a 1-D zero point runs along."""
    _quant_type(ctx, _dtype(v), "an integer operand")
    y = _cast(ctx, v, F64)
    if zp is None:
        return y
    if _dtype(zp) != _dtype(v):
        raise ctx.error("a zero point must have its operand's type")
    z = zp  # reshaped before the cast: folding a reshape normalizes floats to float32
    if int(np.prod(shape_of(zp))) == 1:
        z = reshape(ctx, z, [])
    elif axis is not None and len(shape_of(zp)) == 1:
        dims = [1] * len(shape_of(v))
        dims[axis] = shape_of(zp)[0]
        z = reshape(ctx, z, dims)
    return ctx.emit(relay.SubtractOp(y, _cast(ctx, z, F64)))


def _requantize(ctx: ConversionContext, acc: SSAValue, ins: Inputs, scale_axis: int) -> SSAValue:
    """``saturate(round(acc * (a_scale * b_scale / y_scale)) + y_zp)``; the factor in float32."""
    a_scale, b_scale, y_scale, y_zp = ins[1], ins[4], ins[6], _operand(ins, 7)
    assert a_scale is not None and b_scale is not None and y_scale is not None
    rank = len(shape_of(acc))

    def vec(v: SSAValue) -> SSAValue:
        if int(np.prod(shape_of(v))) == 1:
            return reshape(ctx, v, [])
        dims = [1] * rank
        dims[scale_axis] = int(np.prod(shape_of(v)))
        return reshape(ctx, v, dims)

    factor = ctx.emit(relay.MultiplyOp(vec(a_scale), vec(b_scale)))
    factor = ctx.emit(relay.DivideOp(factor, vec(y_scale)))
    y = ctx.emit(relay.MultiplyOp(acc, _cast(ctx, factor, F64)))
    if y_zp is not None:
        y = ctx.emit(relay.AddOp(y, _cast(ctx, vec(y_zp), F64)))
    dtype = _dtype(y_zp) if y_zp is not None else _dtype(ins[0])  # type: ignore[arg-type]
    return _saturate(ctx, y, _quant_type(ctx, dtype, "y_zero_point"))


@converter("MatMulInteger", since=10)
def matmul_integer(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    a, b = ins[0], ins[1]
    assert a is not None and b is not None
    ra, rb = len(shape_of(a)), len(shape_of(b))
    a = _centered(ctx, a, _operand(ins, 2), ra - 2 if ra >= 2 else None)
    b = _centered(ctx, b, _operand(ins, 3), rb - 1)
    return _cast(ctx, matmul(ctx, node, [a, b], {}), np.dtype("int32"))


@converter("QLinearMatMul", since=10)
def qlinear_matmul(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    a, b = ins[0], ins[3]
    assert a is not None and b is not None
    ra, rb = len(shape_of(a)), len(shape_of(b))
    a = _centered(ctx, a, ins[2], ra - 2 if ra >= 2 else None)
    b = _centered(ctx, b, ins[5], rb - 1)
    acc = matmul(ctx, node, [a, b], {})
    return _requantize(ctx, acc, ins, len(shape_of(acc)) - 1)


converter("QLinearMatMul", since=21)(qlinear_matmul)


@converter("ConvInteger", since=10)
def conv_integer(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x, w = ins[0], ins[1]
    assert x is not None and w is not None
    x = _centered(ctx, x, _operand(ins, 2), None)
    w = _centered(ctx, w, _operand(ins, 3), 0)
    return _cast(ctx, conv(ctx, node, [x, w], attrs), np.dtype("int32"))


@converter("QLinearConv", since=10)
def qlinear_conv(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    x, w = ins[0], ins[3]
    assert x is not None and w is not None
    x = _centered(ctx, x, ins[2], None)
    w = _centered(ctx, w, ins[5], 0)
    bias = _operand(ins, 8)
    acc = conv(ctx, node, [x, w], attrs)
    if bias is not None:
        dims = [1] * len(shape_of(acc))
        dims[1] = shape_of(bias)[0]
        acc = ctx.emit(relay.AddOp(acc, _cast(ctx, reshape(ctx, bias, dims), F64)))
    return _requantize(ctx, acc, ins, 1)
