"""Transformer ops: Attention, RotaryEmbedding, RMSNormalization, SwiGLU (and its gate Swish).

RMSNormalization, RotaryEmbedding and SwiGLU are composed directly from relay elementwise,
reduce, slice and concatenate ops. Attention has many interacting options (grouped-query
heads, KV cache, boolean/float masks, causal and windowed masking, softcap, padded KV
lengths, the ``qk_matmul_output`` taps); its ONNX function body defines them exactly, so the
converter instantiates that body for the node's attributes and input types and converts its
nodes with the ordinary converters. Every shape computation in the body folds at import time
once input shapes are bound, leaving matmuls, softmax and elementwise ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnx.defs
from onnx import FunctionProto, NodeProto, TensorProto, TypeProto, helper
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import elt_of, numpy_dtype_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape, transpose
from xtvm.frontend.onnx.registry import DEFAULT_DOMAINS, MAX_OPSET, lookup
from xtvm.frontend.onnx.registry import converter as register

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]

# float types the function body may cast to (softmax_precision); xtvm computes in float32
_WIDE_FLOATS = {TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}


# -- function-body expansion -------------------------------------------------------------------


def _type_proto(v: SSAValue | None) -> TypeProto:
    if v is None:
        return TypeProto()
    dtype = helper.np_dtype_to_tensor_dtype(numpy_dtype_of(elt_of(v)))
    return helper.make_tensor_type_proto(dtype, list(shape_of(v)))


def _attr_value(attr: onnx.AttributeProto) -> Any:
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _function_body(ctx: ConversionContext, node: NodeProto, ins: Inputs) -> FunctionProto:
    schema = onnx.defs.get_schema(node.op_type, min(ctx.opset, MAX_OPSET), node.domain)
    proto = FunctionProto()
    if schema.context_dependent_function_opset_versions:
        version = max(schema.context_dependent_function_opset_versions)
        data = schema.get_context_dependent_function_with_opset_version(
            version, node.SerializeToString(), [_type_proto(v).SerializeToString() for v in ins]
        )
    elif schema.function_opset_versions:
        data = schema.get_function_with_opset_version(max(schema.function_opset_versions))
    else:
        raise ctx.error(f"{node.op_type} has no function body to expand")
    proto.ParseFromString(data)
    return proto


def _inner_attrs(ctx: ConversionContext, inner: NodeProto, outer: Attrs) -> Attrs:
    attrs: Attrs = {}
    for a in inner.attribute:
        if a.ref_attr_name:
            if a.ref_attr_name in outer:
                attrs[a.name] = outer[a.ref_attr_name]
            continue
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise ctx.error(f"function body uses a subgraph ({inner.op_type}), unsupported")
        attrs[a.name] = _attr_value(a)
    if inner.op_type == "Cast" and attrs.get("to") in _WIDE_FLOATS:
        attrs["to"] = TensorProto.FLOAT
    return attrs


def expand_function(
    ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs
) -> list[SSAValue | None]:
    """Convert ``node`` by converting the nodes of its ONNX function body; returns the
    function's outputs (None where the body does not produce one)."""
    body = _function_body(ctx, node, ins)
    opset = next((int(o.version) for o in body.opset_import if o.domain in DEFAULT_DOMAINS), 0)
    opset = min(max(opset, ctx.opset), MAX_OPSET)
    env: dict[str, SSAValue | None] = {name: None for name in body.input}
    env.update(zip(body.input, ins))
    outer_node, outer_label = ctx.node, ctx.label
    try:
        for i, inner in enumerate(body.node):
            fn = lookup(inner.op_type, inner.domain, opset)
            if fn is None:
                raise ctx.error(f"its function body uses {inner.op_type}, which xtvm lacks")
            inner_ins = [env.get(n) if n else None for n in inner.input]
            ctx.node = inner
            ctx.label = f"{outer_label} (function node #{i}, {inner.op_type})"
            out = fn(ctx, inner, inner_ins, _inner_attrs(ctx, inner, attrs))
            results = [out] if isinstance(out, SSAValue) else list(out)
            for name, v in zip(inner.output, results):
                if name:
                    env[name] = v
    finally:
        ctx.node, ctx.label = outer_node, outer_label
    return [env.get(name) for name in body.output]


@register("Attention", since=25)  # adds left/right_window_size: the body handles them
@register("Attention", since=24)  # adds nonpad_kv_seqlen: the body handles it
@register("Attention", since=23)
def attention(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Y, present_key, present_value, qk_matmul_output: the spec's function body."""
    outs = expand_function(ctx, node, ins, attrs)
    result: list[SSAValue] = []
    for j, name in enumerate(node.output):
        v = outs[j] if j < len(outs) else None
        if v is None:
            if name:
                raise ctx.error(f"output {j} ('{name}') is not computed by the function body")
            v = result[0] if result else outs[0]  # an unnamed output: any value, never read
        assert v is not None
        result.append(v)
    return result


# -- RMSNormalization --------------------------------------------------------------------------


@register("RMSNormalization", since=23)
def rms_normalization(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """``x / sqrt(mean(x^2 over axes >= axis) + epsilon) * scale`` (computed in float32)."""
    x, scale = ins[0], ins[1]
    assert x is not None and scale is not None
    rank = len(shape_of(x))
    axis = normalize_axis(ctx, int(attrs.get("axis", -1)), rank)
    stash = int(attrs.get("stash_type", 1))
    if stash not in (1, 11):  # float32 or double: xtvm computes both in float32
        raise ctx.attr_error("stash_type", stash, "1 (float32) or 11 (double)")
    eps = ctx.constant(np.array(float(attrs.get("epsilon", 1e-5)), np.float32))
    square = ctx.emit(relay.MultiplyOp(x, x))
    mean = ctx.emit(relay.ReduceOp(square, "mean", list(range(axis, rank)), True))
    rms = ctx.emit(relay.SqrtOp(ctx.emit(relay.AddOp(mean, eps))))
    return ctx.emit(relay.MultiplyOp(ctx.emit(relay.DivideOp(x, rms)), scale))


# -- SwiGLU ------------------------------------------------------------------------------------


def _swish(ctx: ConversionContext, a: SSAValue, alpha: float) -> SSAValue:
    """``a * sigmoid(alpha * a)``."""
    gate_in = a if alpha == 1.0 else ctx.emit(relay.MultiplyOp(a, ctx.constant(np.float32(alpha))))
    return ctx.emit(relay.MultiplyOp(a, ctx.emit(relay.SigmoidOp(gate_in))))


@register("Swish", since=24)
def swish(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """SwiGLU's gate (its function body calls it)."""
    assert ins[0] is not None
    return _swish(ctx, ins[0], float(attrs.get("alpha", 1.0)))


@register("SwiGLU", since=28)
def swiglu(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """``swish(a, alpha) * b`` (A and B have equal shapes)."""
    a, b = ins[0], ins[1]
    assert a is not None and b is not None
    if shape_of(a) != shape_of(b):
        raise ctx.error(f"A {list(shape_of(a))} and B {list(shape_of(b))} must have equal shapes")
    return ctx.emit(relay.MultiplyOp(_swish(ctx, a, float(attrs.get("alpha", 1.0))), b))


# -- RotaryEmbedding ---------------------------------------------------------------------------


def _slice_last(ctx: ConversionContext, v: SSAValue, begin: int, step: int, count: int) -> SSAValue:
    """Elements ``begin, begin + step, ...`` (``count`` of them) of the last axis."""
    s = shape_of(v)
    if begin == 0 and step == 1 and count == s[-1]:
        return v
    begins = [0] * (len(s) - 1) + [begin]
    strides = [1] * (len(s) - 1) + [step]
    return ctx.emit(relay.StridedSliceOp(v, begins, strides, s[:-1] + (count,)))


def _flag(ctx: ConversionContext, attrs: Attrs, name: str) -> bool:
    value = int(attrs.get(name, 0))
    if value not in (0, 1):
        raise ctx.attr_error(name, value, "0 or 1")
    return bool(value)


def _cache(
    ctx: ConversionContext, cache: SSAValue, pos: SSAValue | None, bsh: tuple[int, int, int]
) -> SSAValue:
    """cos/sin values per (batch, position) shaped [batch, seq, 1, half] to broadcast over
    heads; gathered by ``position_ids`` when given."""
    batch, seq, half = bsh
    if pos is not None:
        cache = ctx.emit(relay.TakeOp(cache, pos, 0))
    if shape_of(cache)[-1] != half:
        raise ctx.error(
            f"cos/sin cache last dim {shape_of(cache)[-1]} must be rotary_embedding_dim/2 = {half}"
        )
    return reshape(ctx, cache, (batch, seq, 1, half))


@register("RotaryEmbedding", since=23)
def rotary_embedding(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs):
    """Rotate (pairs of) the first ``rotary_embedding_dim`` features of every head."""
    x, cos, sin = ins[0], ins[1], ins[2]
    assert x is not None and cos is not None and sin is not None
    pos = ins[3] if len(ins) > 3 else None
    interleaved = _flag(ctx, attrs, "interleaved")
    s = shape_of(x)
    if len(s) == 4:  # [batch, heads, seq, head_size] -> [batch, seq, heads, head_size]
        xs = transpose(ctx, x, (0, 2, 1, 3))
    elif len(s) == 3:
        heads = int(attrs.get("num_heads", 0))
        if heads <= 0 or s[2] % heads:
            raise ctx.attr_error("num_heads", heads, f"a positive divisor of {s[2]} for 3-D X")
        xs = reshape(ctx, x, (s[0], s[1], heads, s[2] // heads))
    else:
        raise ctx.error(f"X must be 3-D or 4-D, got rank {len(s)}")
    batch, seq, _, head = shape_of(xs)
    rot = int(attrs.get("rotary_embedding_dim", 0)) or head
    if rot > head or rot % 2:
        raise ctx.attr_error("rotary_embedding_dim", rot, f"an even number <= {head}")
    half = rot // 2
    c = _cache(ctx, cos, pos, (batch, seq, half))
    sn = _cache(ctx, sin, pos, (batch, seq, half))
    if interleaved:
        x1, x2 = _slice_last(ctx, xs, 0, 2, half), _slice_last(ctx, xs, 1, 2, half)
    else:
        x1, x2 = _slice_last(ctx, xs, 0, 1, half), _slice_last(ctx, xs, half, 1, half)

    def mul(p: SSAValue, q: SSAValue) -> SSAValue:
        return ctx.emit(relay.MultiplyOp(p, q))

    real = ctx.emit(relay.SubtractOp(mul(c, x1), mul(sn, x2)))
    imag = ctx.emit(relay.AddOp(mul(sn, x1), mul(c, x2)))
    if interleaved:
        pair = shape_of(real) + (1,)
        both = ctx.emit(
            relay.ConcatenateOp([reshape(ctx, real, pair), reshape(ctx, imag, pair)], -1)
        )
        rotated = reshape(ctx, both, shape_of(real)[:-1] + (rot,))
    else:
        rotated = ctx.emit(relay.ConcatenateOp([real, imag], -1))
    if rot < head:
        rest = _slice_last(ctx, xs, rot, 1, head - rot)
        rotated = ctx.emit(relay.ConcatenateOp([rotated, rest], -1))
    if len(s) == 4:
        return transpose(ctx, rotated, (0, 2, 1, 3))
    return reshape(ctx, rotated, s)
