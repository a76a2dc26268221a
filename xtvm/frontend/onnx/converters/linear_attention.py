"""LinearAttention (opset 27): the recurrent state update unrolled over the (static) sequence.

Per step t the [B, H_kv, d_k, d_v] state is decayed (``gated``), delta-corrected (``delta``),
updated with the outer product k_t v_t^T and read by the query heads (GQA: query head h reads
KV head h // group). Sequences in decode/prefill graphs are short, so unrolling is cheap and
uses only existing relay ops (slices, broadcasts, batch matmuls).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import reshape
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]

MAX_UNROLLED_STEPS = 256
RULES = ("linear", "gated", "delta", "gated_delta")


def _step(ctx: ConversionContext, x: SSAValue, t: int, shape: list[int]) -> SSAValue:
    """Time step ``t`` of a [B, T, ...] tensor, reshaped to ``shape``."""
    s = shape_of(x)
    begin = [0, t] + [0] * (len(s) - 2)
    one = ctx.emit(relay.StridedSliceOp(x, begin, [1] * len(s), [s[0], 1, *s[2:]]))
    return reshape(ctx, one, shape)


def _operand(ins: Inputs, k: int) -> SSAValue | None:
    return ins[k] if len(ins) > k else None


@converter("LinearAttention", since=27)
def linear_attention(
    ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs
) -> list[SSAValue]:
    q, k, v = ins[0], ins[1], ins[2]
    assert q is not None and k is not None and v is not None
    past, decay, beta = _operand(ins, 3), _operand(ins, 4), _operand(ins, 5)
    rule = attrs.get("update_rule", "gated_delta")
    if rule not in RULES:
        raise ctx.attr_error("update_rule", rule, "linear, gated, delta or gated_delta")
    if "q_num_heads" not in attrs or "kv_num_heads" not in attrs:
        raise ctx.error("attributes q_num_heads and kv_num_heads are required")
    hq, hkv = int(attrs["q_num_heads"]), int(attrs["kv_num_heads"])
    if hq <= 0 or hkv <= 0 or hq % hkv:
        raise ctx.error(f"q_num_heads {hq} must be a positive multiple of kv_num_heads {hkv}")
    gating, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    if gating != (decay is not None) or delta != (beta is not None):
        raise ctx.error(f"update_rule {rule!r} needs decay iff gated and beta iff delta")
    sq, sk, sv = shape_of(q), shape_of(k), shape_of(v)
    if len(sq) != 3 or len(sk) != 3 or len(sv) != 3:
        raise ctx.error("query, key and value must be rank 3 [B, T, heads * dim]")
    b, steps, _ = sq
    if sq[2] % hq or sk[2] % hkv or sv[2] % hkv:
        raise ctx.error("hidden sizes must be divisible by the head counts")
    if steps > MAX_UNROLLED_STEPS:
        raise ctx.error(f"sequence length {steps} exceeds {MAX_UNROLLED_STEPS} unrolled steps")
    dk, dv, group = sq[2] // hq, sv[2] // hkv, hq // hkv
    if sk[2] // hkv != dk:
        raise ctx.error(f"key head size {sk[2] // hkv} differs from query head size {dk}")
    scale = float(attrs.get("scale", 0.0)) or 1.0 / float(np.sqrt(dk))
    state_shape = [b, hkv, dk, dv]
    if past is None:
        state = ctx.constant(np.zeros(state_shape, dtype=np.float32))
    elif list(shape_of(past)) != state_shape:
        raise ctx.error(f"past_state must be {state_shape}, got {list(shape_of(past))}")
    else:
        state = past
    gate = None
    if decay is not None:
        sd = shape_of(decay)
        if len(sd) != 3 or sd[2] not in (hkv, hkv * dk):
            raise ctx.error(f"decay must be [B, T, {hkv}] or [B, T, {hkv * dk}], got {sd}")
        gate = ctx.emit(relay.ExpOp(decay))
        gate_shape = [b, hkv, 1, 1] if sd[2] == hkv else [b, hkv, dk, 1]
    if beta is not None:
        sb = shape_of(beta)
        if len(sb) != 3 or sb[2] not in (hkv, 1):
            raise ctx.error(f"beta must be [B, T, {hkv}] or [B, T, 1], got {sb}")
        beta_shape = [b, sb[2], 1, 1]
    scale_c = ctx.constant(np.float32(scale))
    outs = []
    for t in range(steps):
        k_t = _step(ctx, k, t, [b, hkv, 1, dk])
        v_t = _step(ctx, v, t, [b, hkv, 1, dv])
        if gate is not None:
            state = ctx.emit(relay.MultiplyOp(state, _step(ctx, gate, t, gate_shape)))
        if beta is not None:
            read = ctx.emit(relay.BatchMatmulOp(k_t, state))  # [B, H, 1, dv]
            diff = ctx.emit(relay.SubtractOp(v_t, read))
            v_t = ctx.emit(relay.MultiplyOp(_step(ctx, beta, t, beta_shape), diff))
        outer = ctx.emit(relay.MultiplyOp(reshape(ctx, k_t, [b, hkv, dk, 1]), v_t))
        state = ctx.emit(relay.AddOp(state, outer))
        q_t = _step(ctx, q, t, [b, hkv, group, dk])
        o_t = ctx.emit(relay.BatchMatmulOp(q_t, state))  # [B, H_kv, group, dv]
        o_t = ctx.emit(relay.MultiplyOp(o_t, scale_c))
        outs.append(reshape(ctx, o_t, [b, 1, hq * dv]))
    out = outs[0] if len(outs) == 1 else ctx.emit(relay.ConcatenateOp(outs, 1))
    return [out, state]
