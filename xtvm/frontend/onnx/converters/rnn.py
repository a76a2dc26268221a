"""Recurrent layers: ONNX LSTM, GRU and RNN, unrolled over the static sequence length.

The sequence length is known once input shapes are bound, so each layer becomes a straight
chain of relay ops and nothing below the frontend needs a loop construct. The steps are
emitted by :mod:`rnn_steps`: one ``relay.rnn_cell`` per step for what exporters emit
(default activations, no clip, no peepholes, GRU with ``linear_before_reset = 1``), small
relay ops per gate for the rest. Layout 1 (batch first) is read and written in place by
strided views. ``sequence_lens`` is accepted only when every entry equals the sequence
length: variable lengths would need masking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import reshape, transpose
from xtvm.frontend.onnx.converters.rnn_steps import (
    GATES,
    Activation,
    Direction,
    Layer,
    concat,
    make_activation,
    part,
    slice_,
    vector,
)
from xtvm.frontend.onnx.registry import converter

_DEFAULT_ACTS = {
    "LSTM": ["sigmoid", "tanh", "tanh"],
    "GRU": ["sigmoid", "tanh"],
    "RNN": ["tanh"],
}
_DIRECTIONS = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}
# supported activations, with ONNX's defaults for the alpha / beta they read
_PARAMS: dict[str, tuple[float | None, float | None]] = {
    "sigmoid": (None, None),
    "tanh": (None, None),
    "relu": (None, None),
    "hardsigmoid": (0.2, 0.5),
    "affine": (1.0, 0.0),
    "leakyrelu": (0.01, None),
}


def _operand(ins: list[SSAValue | None], k: int) -> SSAValue | None:
    return ins[k] if len(ins) > k else None


def _activations(ctx: ConversionContext, kind: str, attrs: dict[str, Any], num_dir: int):
    """Per direction, the activation functions; and whether they are the defaults."""
    per_dir = len(_DEFAULT_ACTS[kind])
    default = _DEFAULT_ACTS[kind] * num_dir
    names = [str(a).lower() for a in attrs.get("activations", default)]
    if len(names) != per_dir * num_dir:
        raise ctx.error(
            f"attribute activations has {len(names)} entries; {kind} with {num_dir} "
            f"direction(s) needs {per_dir * num_dir}"
        )
    alphas = [float(a) for a in attrs.get("activation_alpha", [])]
    betas = [float(b) for b in attrs.get("activation_beta", [])]
    funcs: list[Activation] = []
    for name in names:
        if name not in _PARAMS:
            allowed = "supported: Sigmoid, Tanh, Relu, HardSigmoid, Affine, LeakyRelu"
            raise ctx.attr_error("activations", name, allowed)
        alpha, beta = _PARAMS[name]
        if alpha is not None and alphas:
            alpha = alphas.pop(0)
        if beta is not None and betas:
            beta = betas.pop(0)
        funcs.append(make_activation(name, alpha, beta))
    return [funcs[d * per_dir : (d + 1) * per_dir] for d in range(num_dir)], names == default


def _layer(ctx: ConversionContext, kind: str, ins: list[SSAValue | None], attrs: dict) -> Layer:
    x, w, r, b = ins[0], ins[1], _operand(ins, 2), _operand(ins, 3)
    assert x is not None and w is not None
    if r is None:
        raise ctx.error("input R (recurrence weights) is required")
    direction = str(attrs.get("direction", "forward"))
    if direction not in _DIRECTIONS:
        raise ctx.attr_error("direction", direction, "forward, reverse or bidirectional")
    reverse = _DIRECTIONS[direction]
    n = len(reverse)
    layout = int(attrs.get("layout", 0))
    if layout not in (0, 1):
        raise ctx.attr_error("layout", layout, "0 or 1")
    if int(attrs.get("input_forget", 0)) != 0:
        raise ctx.attr_error("input_forget", attrs["input_forget"], "only 0")
    xs = shape_of(x)
    if len(xs) != 3 or 0 in xs:
        raise ctx.error(f"input X must have rank 3 and no empty dims, got shape {list(xs)}")
    seq, batch = (xs[0], xs[1]) if layout == 0 else (xs[1], xs[0])
    ws, gates = shape_of(w), GATES[kind]
    if len(ws) != 3 or ws[0] != n or ws[1] % gates or ws[2] != xs[2]:
        want = f"[{n}, {gates} * hidden, {xs[2]}]"
        raise ctx.error(f"input W has shape {list(ws)}; expected {want}")
    hidden = ws[1] // gates
    if "hidden_size" in attrs and int(attrs["hidden_size"]) != hidden:
        raise ctx.error(f"hidden_size={attrs['hidden_size']} does not match W's shape {list(ws)}")
    for what, v, want in (("R", r, [n, gates * hidden, hidden]), ("B", b, [n, 2 * gates * hidden])):
        if v is not None and list(shape_of(v)) != want:
            raise ctx.error(f"input {what} has shape {list(shape_of(v))}; expected {want}")
    clip = float(attrs["clip"]) if "clip" in attrs else None
    if clip is not None and clip <= 0:
        raise ctx.attr_error("clip", clip, "a positive threshold")
    acts, default_acts = _activations(ctx, kind, attrs, n)
    _check_sequence_lens(ctx, _operand(ins, 4), seq, batch)
    return Layer(kind, seq, batch, hidden, layout, reverse, acts, default_acts, clip)


def _check_sequence_lens(
    ctx: ConversionContext, lens: SSAValue | None, seq: int, batch: int
) -> None:
    if lens is None:
        return
    if not ctx.is_constant(lens):
        raise ctx.error(
            "input sequence_lens must be a constant whose entries all equal the sequence "
            "length (variable-length sequences are not supported)"
        )
    values = ctx.const_value(lens, "sequence_lens").reshape(-1)
    if values.shape != (batch,) or np.any(values != seq):
        raise ctx.error(
            f"sequence_lens {values.tolist()} is not supported: every entry must equal the "
            f"sequence length {seq}"
        )


def _initial(ctx: ConversionContext, v: SSAValue | None, layer: Layer, d: int, what: str):
    """Direction ``d``'s initial state as [batch, hidden]; None when absent or all zeros."""
    if v is None:
        return None
    n, h, b = len(layer.reverse), layer.hidden, layer.batch
    want = (n, b, h) if layer.layout == 0 else (b, n, h)
    if shape_of(v) != want:
        raise ctx.error(f"input {what} has shape {list(shape_of(v))}; expected {list(want)}")
    if ctx.is_constant(v) and not np.any(ctx.const_value(v, what)):
        return None  # saves the step-0 products
    if layer.layout == 1:
        return reshape(ctx, slice_(ctx, v, [0, d, 0], [b, 1, h]), [b, h])
    return part(ctx, v, d, 0, b)


def _outputs(ctx: ConversionContext, layer: Layer, per_dir: list[tuple]) -> list[SSAValue]:
    """Y [seq, num_dir, batch, hidden] (layout 1: [batch, seq, num_dir, hidden]), Y_h, Y_c."""
    b, hid, seq = layer.batch, layer.hidden, layer.seq
    y = concat(ctx, [reshape(ctx, ys, [seq, 1, b, hid]) for ys, _, _ in per_dir], 1)
    if layer.layout == 1:
        y = transpose(ctx, y, [2, 0, 1, 3])
    state_shape, axis = ([1, b, hid], 0) if layer.layout == 0 else ([b, 1, hid], 1)
    results = [y]
    for k in (1, 2):
        finals = [entry[k] for entry in per_dir]
        if any(v is None for v in finals):
            break
        results.append(concat(ctx, [reshape(ctx, v, state_shape) for v in finals], axis))
    return results


def _fusable(layer: Layer) -> bool:
    return layer.default_acts and layer.clip is None


@converter("LSTM", since=7)
def lstm(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    layer = _layer(ctx, "LSTM", ins, attrs)
    n, hid = len(layer.reverse), layer.hidden
    p = _operand(ins, 7)
    if p is not None and list(shape_of(p)) != [n, 3 * hid]:
        raise ctx.error(f"input P has shape {list(shape_of(p))}; expected {[n, 3 * hid]}")
    if p is not None and ctx.is_constant(p) and not np.any(ctx.const_value(p, "P")):
        p = None
    per_dir = []
    for d in range(n):
        run = Direction(ctx, layer, ins, d, rb_h_apart=False)
        h0 = _initial(ctx, _operand(ins, 5), layer, d, "initial_h")
        c0 = _initial(ctx, _operand(ins, 6), layer, d, "initial_c")
        if _fusable(layer) and p is None:
            per_dir.append(run.run_fused(h0, c0))
        else:
            peep = [vector(ctx, p, d, k * hid, hid) for k in range(3)]
            per_dir.append(run.run_unrolled(h0, c0, run.lstm_step(peep)))
    return _outputs(ctx, layer, per_dir)


@converter("GRU", since=7)
def gru(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    layer = _layer(ctx, "GRU", ins, attrs)
    lbr = int(attrs.get("linear_before_reset", 0))
    if lbr not in (0, 1):
        raise ctx.attr_error("linear_before_reset", lbr, "0 or 1")
    per_dir = []
    for d in range(len(layer.reverse)):
        run = Direction(ctx, layer, ins, d, rb_h_apart=bool(lbr))
        h0 = _initial(ctx, _operand(ins, 5), layer, d, "initial_h")
        if _fusable(layer) and lbr:
            per_dir.append(run.run_fused(h0, None))
        else:
            per_dir.append(run.run_unrolled(h0, None, run.gru_step(bool(lbr))))
    return _outputs(ctx, layer, per_dir)


@converter("RNN", since=7)
def rnn(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    layer = _layer(ctx, "RNN", ins, attrs)
    per_dir = []
    for d in range(len(layer.reverse)):
        run = Direction(ctx, layer, ins, d, rb_h_apart=False)
        h0 = _initial(ctx, _operand(ins, 5), layer, d, "initial_h")
        if _fusable(layer):
            per_dir.append(run.run_fused(h0, None))
        else:
            per_dir.append(run.run_unrolled(h0, None, run.rnn_step()))
    return _outputs(ctx, layer, per_dir)
