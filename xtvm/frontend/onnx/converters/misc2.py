"""Trig/hyperbolic, activation, generator, masking and small normalization ONNX ops.

The trig ops and CumProd map to one relay op each. The rest compose existing relay ops:
generators whose shape is known at import (EyeLike, the window functions) become constants;
Trilu multiplies by a constant mask; OneHot compares the indices with ``arange(depth)``;
ReverseSequence gathers at constant indices; LpPool is an average pool of ``|x|^p`` scaled
by the window size; LRN sums squares over channels with a band matrix (``relay.dense``);
Det expands cofactors of matrices up to 3x3.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto, helper
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape, transpose
from xtvm.frontend.onnx.converters.conv import _pool_attrs
from xtvm.frontend.onnx.converters.math import emit, scalar
from xtvm.frontend.onnx.converters.runtime_operands import along_axis, is_runtime, runtime_trilu
from xtvm.frontend.onnx.registry import converter

Ins = list[SSAValue | None]
Attrs = dict[str, Any]

_TRIG = {
    "Sin": relay.SinOp,
    "Cos": relay.CosOp,
    "Tan": relay.TanOp,
    "Asin": relay.AsinOp,
    "Acos": relay.AcosOp,
    "Atan": relay.AtanOp,
    "Sinh": relay.SinhOp,
    "Cosh": relay.CoshOp,
    "Asinh": relay.AsinhOp,
    "Acosh": relay.AcoshOp,
    "Atanh": relay.AtanhOp,
}


def _x(ctx: ConversionContext, ins: Ins) -> SSAValue:
    if not ins or ins[0] is None:
        raise ctx.error("expects an input")
    return ins[0]


def _float(ctx: ConversionContext, ins: Ins) -> SSAValue:
    x = _x(ctx, ins)
    if relay.elt_of(x) != relay.element_type_of("float32"):
        raise ctx.error(f"input must be float32, got {relay.numpy_dtype_of(relay.elt_of(x))}")
    return x


def _trig(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    return emit(ctx, _TRIG[node.op_type](_float(ctx, ins)))


for _op in ("Sin", "Cos", "Tan", "Asin", "Acos", "Atan"):
    converter(_op, since=7)(_trig)
for _op in ("Sinh", "Cosh", "Asinh", "Acosh", "Atanh"):
    converter(_op, since=9)(_trig)


# ----------------------------------------------------------------------------------------------
# activations and predicates
# ----------------------------------------------------------------------------------------------


def _bin(ctx: ConversionContext, cls: type[relay.BinaryOp], a: SSAValue, b: SSAValue | float):
    rhs = scalar(ctx, b, a) if isinstance(b, float) else b
    return emit(ctx, cls(a, rhs))


@converter("ThresholdedRelu", since=10)
def thresholded_relu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs):
    """``x if x > alpha else 0``."""
    x = _float(ctx, ins)
    keep = _bin(ctx, relay.GreaterOp, x, float(attrs.get("alpha", 1.0)))
    return emit(ctx, relay.WhereOp(keep, x, scalar(ctx, 0.0, x)))


@converter("Celu", since=12)
def celu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    x = _float(ctx, ins)
    alpha = float(attrs.get("alpha", 1.0))
    e = emit(ctx, relay.ExpOp(_bin(ctx, relay.MultiplyOp, x, 1.0 / alpha)))
    neg = _bin(ctx, relay.MultiplyOp, _bin(ctx, relay.SubtractOp, e, 1.0), alpha)
    neg = _bin(ctx, relay.MinimumOp, neg, 0.0)
    return emit(ctx, relay.AddOp(emit(ctx, relay.ReluOp(x)), neg))


@converter("Mish", since=18)
def mish(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``x * tanh(softplus(x))`` with the overflow-free softplus."""
    x = _float(ctx, ins)
    e = emit(ctx, relay.ExpOp(emit(ctx, relay.NegativeOp(emit(ctx, relay.AbsOp(x))))))
    sp = emit(
        ctx,
        relay.AddOp(
            emit(ctx, relay.ReluOp(x)), emit(ctx, relay.LogOp(_bin(ctx, relay.AddOp, e, 1.0)))
        ),
    )
    return emit(ctx, relay.MultiplyOp(x, emit(ctx, relay.TanhOp(sp))))


@converter("IsNaN", since=9)
def is_nan(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """NaN is the only value unequal to itself."""
    x = _float(ctx, ins)
    return emit(ctx, relay.NotEqualOp(x, x))


@converter("IsInf", since=10)
def is_inf(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float(ctx, ins)
    pos, neg = int(attrs.get("detect_positive", 1)), int(attrs.get("detect_negative", 1))
    if pos and neg:
        return _bin(ctx, relay.EqualOp, emit(ctx, relay.AbsOp(x)), float("inf"))
    if pos:
        return _bin(ctx, relay.EqualOp, x, float("inf"))
    if neg:
        return _bin(ctx, relay.EqualOp, x, float("-inf"))
    return ctx.constant(np.zeros(shape_of(x), dtype=bool))


# ----------------------------------------------------------------------------------------------
# generators and masks
# ----------------------------------------------------------------------------------------------


def _np_dtype(ctx: ConversionContext, code: int, attr: str) -> np.dtype:
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(code)))
    except (KeyError, ValueError, TypeError):
        raise ctx.attr_error(attr, code, "a numeric ONNX element type") from None
    if dtype.kind not in "fiub":
        raise ctx.attr_error(attr, code, "a numeric ONNX element type")
    return dtype


def _const(ctx: ConversionContext, value: np.ndarray) -> SSAValue:
    """A constant of exactly ``value``'s dtype (``ctx.constant`` would normalize it)."""
    return ctx.emit(relay.ConstantOp.from_numpy(np.ascontiguousarray(value)))


@converter("EyeLike", since=9)
def eye_like(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _x(ctx, ins)
    shape = shape_of(x)
    if len(shape) != 2:
        raise ctx.error(f"input must be 2-D, got rank {len(shape)}")
    dtype = relay.numpy_dtype_of(relay.elt_of(x))
    if "dtype" in attrs:
        dtype = _np_dtype(ctx, attrs["dtype"], "dtype")
    return _const(ctx, np.eye(shape[0], shape[1], int(attrs.get("k", 0)), dtype=dtype))


_WINDOWS = {
    "HannWindow": (0.5, 0.5, 0.0),
    "HammingWindow": (25.0 / 46.0, 21.0 / 46.0, 0.0),
    "BlackmanWindow": (0.42, 0.5, 0.08),
}


def _window(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N)``, N = size (periodic) or size - 1."""
    sizes = ctx.ints(ins[0] if ins else None, "size (input 0)")
    if len(sizes) != 1 or sizes[0] < 1:
        raise ctx.error(f"size must be one positive integer, got {sizes}")
    size = sizes[0]
    periodic = int(attrs.get("periodic", 1))
    a0, a1, a2 = _WINDOWS[node.op_type]
    denom = size if periodic else size - 1
    n = np.arange(size, dtype=np.float64)
    ang = 2.0 * np.pi * n / denom if denom else np.zeros(size)
    w = a0 - a1 * np.cos(ang) + a2 * np.cos(2.0 * ang)
    dtype = _np_dtype(ctx, attrs.get("output_datatype", 1), "output_datatype")
    return _const(ctx, w.astype(dtype))


for _op in _WINDOWS:
    converter(_op, since=17)(_window)


@converter("Trilu", since=14)
def trilu(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """Keep the upper (or lower) triangle from diagonal ``k``: a select on a constant mask."""
    x = _x(ctx, ins)
    shape = shape_of(x)
    if len(shape) < 2:
        raise ctx.error(f"input must have rank >= 2, got {len(shape)}")
    k_in = ins[1] if len(ins) > 1 else None
    upper = int(attrs.get("upper", 1))
    if is_runtime(k_in):
        assert k_in is not None
        return runtime_trilu(ctx, x, k_in, bool(upper))
    k = ctx.ints(k_in, "k (input 1)")[0] if k_in is not None else 0
    ones = np.ones(shape[-2:], dtype=bool)
    mask = np.triu(ones, k) if upper else np.tril(ones, k)
    zero = _const(ctx, np.zeros((), relay.numpy_dtype_of(relay.elt_of(x))))
    return emit(ctx, relay.WhereOp(_const(ctx, mask), x, zero))


@converter("OneHot", since=9)
def one_hot(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``values[1]`` where ``indices == arange(depth)`` along ``axis``, else ``values[0]``."""
    if len(ins) < 3 or any(v is None for v in ins[:3]):
        raise ctx.error("expects indices, depth and values")
    indices, depth_v, values = ins[0], ins[1], ins[2]
    assert indices is not None and values is not None
    depth = int(ctx.const_value(depth_v, "depth (input 1)").reshape(-1)[0])
    rank = len(shape_of(indices)) + 1
    axis = normalize_axis(ctx, int(attrs.get("axis", -1)), rank)
    idx = indices
    if relay.elt_of(idx) != relay.element_type_of("int64"):
        idx = emit(ctx, relay.CastOp(idx, "int64"))
    depth_c = _const(ctx, np.array(depth, np.int64))
    negative = emit(ctx, relay.LessOp(idx, _const(ctx, np.array(0, np.int64))))
    idx = emit(ctx, relay.WhereOp(negative, emit(ctx, relay.AddOp(idx, depth_c)), idx))
    shape = list(shape_of(idx))
    idx = reshape(ctx, idx, [*shape[:axis], 1, *shape[axis:]])
    classes = np.arange(depth, dtype=np.int64).reshape([depth] + [1] * (rank - 1 - axis))
    hit = emit(ctx, relay.EqualOp(idx, _const(ctx, classes)))
    pick = [emit(ctx, relay.TakeOp(values, _const(ctx, np.array(i, np.int64)))) for i in (1, 0)]
    return emit(ctx, relay.WhereOp(hit, pick[0], pick[1]))


@converter("CumProd", since=26)
def cumprod(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _x(ctx, ins)
    flags = []
    for name in ("exclusive", "reverse"):
        value = int(attrs.get(name, 0))
        if value not in (0, 1):
            raise ctx.attr_error(name, value, "0 or 1")
        flags.append(bool(value))
    axis_v = ins[1] if len(ins) > 1 else None
    return along_axis(
        ctx, x, axis_v, "axis (input 1)", lambda a: emit(ctx, relay.CumProdOp(x, a, *flags))
    )


@converter("ReverseSequence", since=10)
def reverse_sequence(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs):
    """Gather along the time axis at ``L[b] - 1 - t`` for ``t < L[b]``, else at ``t``."""
    x = _x(ctx, ins)
    lens = ins[1] if len(ins) > 1 else None
    if lens is None:
        raise ctx.error("expects sequence_lens (input 1)")
    shape = shape_of(x)
    batch_axis, time_axis = int(attrs.get("batch_axis", 1)), int(attrs.get("time_axis", 0))
    if {batch_axis, time_axis} != {0, 1}:
        raise ctx.attr_error("batch_axis", batch_axis, "batch_axis and time_axis are 0 and 1")
    if shape_of(lens) != (shape[batch_axis],):
        raise ctx.error(f"sequence_lens must have shape [{shape[batch_axis]}]")
    i64 = np.int64
    if relay.elt_of(lens) != relay.element_type_of("int64"):
        lens = emit(ctx, relay.CastOp(lens, "int64"))
    trail = [1] * (len(shape) - 2)
    col = [shape[batch_axis], 1] if batch_axis == 0 else [1, shape[batch_axis]]
    n = reshape(ctx, lens, col + trail)
    t_shape = [1, shape[time_axis]] if time_axis == 1 else [shape[time_axis], 1]
    t = _const(ctx, np.arange(shape[time_axis], dtype=i64).reshape(t_shape + trail))
    flipped = emit(ctx, relay.SubtractOp(emit(ctx, relay.SubtractOp(n, t)), _const(ctx, i64(1))))
    idx = emit(ctx, relay.WhereOp(emit(ctx, relay.LessOp(t, n)), flipped, t))
    idx = emit(ctx, relay.AddOp(idx, _const(ctx, np.zeros(shape, i64))))
    return emit(ctx, relay.GatherElementsOp(x, idx, time_axis))


@converter("Shrink", since=9)
def shrink(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``x + bias`` below ``-lambd``, ``x - bias`` above ``lambd``, else 0."""
    x = _float(ctx, ins)
    lambd, bias = float(attrs.get("lambd", 0.5)), float(attrs.get("bias", 0.0))
    zero = scalar(ctx, 0.0, x)
    low = emit(
        ctx,
        relay.WhereOp(_bin(ctx, relay.LessOp, x, -lambd), _bin(ctx, relay.AddOp, x, bias), zero),
    )
    high = _bin(ctx, relay.GreaterOp, x, lambd)
    return emit(ctx, relay.WhereOp(high, _bin(ctx, relay.SubtractOp, x, bias), low))


@converter("Det", since=11)
def det(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """Closed forms for 1x1, 2x2 and 3x3 matrices (the cofactor expansion)."""
    x = _float(ctx, ins)
    shape = shape_of(x)
    if len(shape) < 2 or shape[-1] != shape[-2] or shape[-1] > 3:
        raise ctx.error(f"only square matrices up to 3x3 are supported, got shape {list(shape)}")
    n = shape[-1]
    flat = reshape(ctx, x, [*shape[:-2], n * n])
    axis = len(shape) - 2

    def at(r: int, c: int) -> SSAValue:
        index = _const(ctx, np.array(r * n + c, np.int64))
        return reshape(ctx, emit(ctx, relay.TakeOp(flat, index, axis)), shape[:-2])

    def mul(*vs: SSAValue) -> SSAValue:
        out = vs[0]
        for v in vs[1:]:
            out = emit(ctx, relay.MultiplyOp(out, v))
        return out

    if n == 1:
        return at(0, 0)
    if n == 2:
        return emit(ctx, relay.SubtractOp(mul(at(0, 0), at(1, 1)), mul(at(0, 1), at(1, 0))))
    plus = [mul(at(0, i), at(1, (i + 1) % 3), at(2, (i + 2) % 3)) for i in range(3)]
    minus = [mul(at(0, i), at(1, (i + 2) % 3), at(2, (i + 1) % 3)) for i in range(3)]
    total = emit(ctx, relay.AddOp(emit(ctx, relay.AddOp(plus[0], plus[1])), plus[2]))
    for m in minus:
        total = emit(ctx, relay.SubtractOp(total, m))
    return total


# ----------------------------------------------------------------------------------------------
# pooling and normalization
# ----------------------------------------------------------------------------------------------


@converter("LpPool", since=11)
def lp_pool(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``(sum |x|^p)^(1/p)`` over each window, as ``avg_pool(|x|^p) * window`` (padding 0)."""
    x = _float(ctx, ins)
    shape = shape_of(x)
    p = float(attrs.get("p", 2))
    if p <= 0:
        raise ctx.attr_error("p", attrs.get("p"), "a positive number")
    pool_attrs = dict(attrs)
    if len(shape) == 3:  # 1-D: pool a [N, C, 1, L] view
        for name, one in (("kernel_shape", 1), ("strides", 1), ("dilations", 1)):
            if name in attrs:
                pool_attrs[name] = [one, *attrs[name]]
        if "pads" in attrs:
            pool_attrs["pads"] = [0, attrs["pads"][0], 0, attrs["pads"][1]]
        x = reshape(ctx, x, [shape[0], shape[1], 1, shape[2]])
    elif len(shape) != 4:
        raise ctx.error(f"only 1-D and 2-D LpPool are supported (input has rank {len(shape)})")
    pool = _pool_attrs(ctx, x, pool_attrs)
    powered = _bin(ctx, relay.PowerOp, emit(ctx, relay.AbsOp(x)), p)
    avg = emit(ctx, relay.AvgPool2dOp(powered, count_include_pad=True, **pool))
    total = _bin(ctx, relay.MultiplyOp, avg, float(np.prod(pool["pool_size"])))
    y = _bin(ctx, relay.PowerOp, total, 1.0 / p)
    return reshape(ctx, y, [*shape[:2], *shape_of(y)[3:]]) if len(shape) == 3 else y


def _moments(ctx: ConversionContext, x: SSAValue, axes: list[int]) -> tuple[SSAValue, SSAValue]:
    """``(x - mean, mean((x - mean)^2))`` over ``axes`` (kept as size-1 dims)."""
    mean = emit(ctx, relay.ReduceOp(x, "mean", axes, True))
    centered = emit(ctx, relay.SubtractOp(x, mean))
    sq = emit(ctx, relay.MultiplyOp(centered, centered))
    return centered, emit(ctx, relay.ReduceOp(sq, "mean", axes, True))


@converter("MeanVarianceNormalization", since=9)
def mvn(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``(x - mean) / (std + 1e-9)`` over ``axes`` (default N, H, W), as ONNX's function."""
    x = _float(ctx, ins)
    rank = len(shape_of(x))
    axes = [normalize_axis(ctx, int(a), rank, "axes") for a in attrs.get("axes", [0, 2, 3])]
    centered, var = _moments(ctx, x, axes)
    std = _bin(ctx, relay.AddOp, emit(ctx, relay.SqrtOp(var)), 1e-9)
    return emit(ctx, relay.DivideOp(centered, std))


def _group_norm(ctx: ConversionContext, ins: Ins, attrs: Attrs) -> SSAValue:
    x = _float(ctx, ins)
    if len(ins) < 3 or ins[1] is None or ins[2] is None:
        raise ctx.error("expects X, scale and bias")
    shape = shape_of(x)
    groups = int(attrs.get("num_groups", 0))
    if len(shape) < 3 or groups < 1 or shape[1] % groups:
        raise ctx.attr_error("num_groups", groups, f"a divisor of the channel count {shape[1]}")
    eps = float(attrs.get("epsilon", 1e-5))
    grouped = reshape(ctx, x, [shape[0], groups, int(np.prod(shape[1:])) // groups])
    centered, var = _moments(ctx, grouped, [2])
    std = emit(ctx, relay.SqrtOp(_bin(ctx, relay.AddOp, var, eps)))
    y = reshape(ctx, emit(ctx, relay.DivideOp(centered, std)), shape)
    channel_shape = [1, shape[1]] + [1] * (len(shape) - 2)
    out = y
    for i, op in ((1, relay.MultiplyOp), (2, relay.AddOp)):
        v = ins[i]
        assert v is not None
        out = emit(ctx, op(out, reshape(ctx, v, channel_shape)))
    return out


@converter("GroupNormalization", since=21)
def group_norm(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """Opset 21: ``scale``/``bias`` hold one value per channel (the opset-18 form, one per
    group, is deprecated and rejected by the ONNX checker)."""
    return _group_norm(ctx, ins, attrs)


@converter("LRN", since=1)
def lrn(ctx: ConversionContext, node: NodeProto, ins: Ins, attrs: Attrs) -> SSAValue:
    """``x / (bias + alpha / size * sum of x^2 over nearby channels)^beta``."""
    x = _float(ctx, ins)
    shape = shape_of(x)
    if "size" not in attrs:
        raise ctx.error("attribute size is required")
    size = int(attrs["size"])
    alpha, beta = float(attrs.get("alpha", 1e-4)), float(attrs.get("beta", 0.75))
    bias = float(attrs.get("bias", 1.0))
    c = shape[1]
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    ch = np.arange(c)
    band = ((ch[None, :] >= ch[:, None] - lo) & (ch[None, :] <= ch[:, None] + hi)).astype(
        np.float32
    )
    perm = [0, *range(2, len(shape)), 1]
    sq = transpose(ctx, emit(ctx, relay.MultiplyOp(x, x)), perm)
    summed = emit(ctx, relay.DenseOp(sq, _const(ctx, band)))
    summed = transpose(ctx, summed, [0, len(shape) - 1, *range(1, len(shape) - 1)])
    denom = _bin(ctx, relay.AddOp, _bin(ctx, relay.MultiplyOp, summed, alpha / size), bias)
    return emit(ctx, relay.DivideOp(x, _bin(ctx, relay.PowerOp, denom, beta)))
