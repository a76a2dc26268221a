"""The time steps of one direction of an ONNX LSTM / GRU / RNN layer (used by ``rnn.py``).

Both ways of emitting a step start from the same input projection: one ``relay.dense`` over
``[seq * batch, input]`` per direction, with the biases folded in. The fast way is one
``relay.rnn_cell`` per step (one kernel; default activations, no clip or peepholes, GRU with
``linear_before_reset = 1``). The general way composes small relay ops per gate (slice of
the projection, ``dense(h, R_gate)``, add, activation), which covers every other variant
at the price of about four kernels per LSTM step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import reshape

Activation = Callable[[ConversionContext, SSAValue], SSAValue]
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


@dataclass
class Layer:
    """What a node says about its layer, checked and normalized by ``rnn.py``."""

    kind: str
    seq: int
    batch: int
    hidden: int
    layout: int
    reverse: list[bool]  # one entry per direction
    acts: list[list[Activation]]  # per direction: the kind's activation functions
    default_acts: bool
    clip: float | None

    @property
    def rows(self) -> int:
        return self.seq * self.batch


# ----------------------------------------------------------------------------------------------
# small emitters (folded with numpy when the operands are constants)
# ----------------------------------------------------------------------------------------------


def slice_(ctx: ConversionContext, v: SSAValue, begin: Sequence[int], size: Sequence[int]):
    """``v[begin : begin + size]`` with unit strides."""
    if tuple(begin) == (0,) * len(begin) and tuple(size) == shape_of(v):
        return v
    if ctx.is_constant(v):
        idx = tuple(slice(b, b + n) for b, n in zip(begin, size))
        return ctx.constant(ctx.const_value(v, "operand")[idx])
    return ctx.emit(relay.StridedSliceOp(v, begin, [1] * len(begin), size))


def part(ctx: ConversionContext, v: SSAValue, d: int, start: int, n: int) -> SSAValue:
    """Rows ``start : start + n`` of direction ``d`` of a [num_dir, rows, ...] operand."""
    s = shape_of(v)
    sliced = slice_(ctx, v, [d, start, *[0] * (len(s) - 2)], [1, n, *s[2:]])
    return reshape(ctx, sliced, [n, *s[2:]])


def vector(ctx: ConversionContext, v: SSAValue | None, d: int, start: int, n: int):
    """Entries ``start : start + n`` of row ``d`` of a [num_dir, k] operand (bias, peepholes)."""
    if v is None:
        return None
    return reshape(ctx, slice_(ctx, v, [d, start], [1, n]), [n])


def add(ctx: ConversionContext, a: SSAValue | None, b: SSAValue | None) -> SSAValue | None:
    """``a + b`` where None stands for zero."""
    if a is None or b is None:
        return b if a is None else a
    if ctx.is_constant(a) and ctx.is_constant(b):
        return ctx.constant(ctx.const_value(a, "operand") + ctx.const_value(b, "operand"))
    return ctx.emit(relay.AddOp(a, b))


def mul(ctx: ConversionContext, a: SSAValue, b: SSAValue) -> SSAValue:
    return ctx.emit(relay.MultiplyOp(a, b))


def concat(ctx: ConversionContext, values: list[SSAValue], axis: int) -> SSAValue:
    if len(values) == 1:
        return values[0]
    if all(ctx.is_constant(v) for v in values):
        arrays = [ctx.const_value(v, "operand") for v in values]
        return ctx.constant(np.concatenate(arrays, axis=axis))
    return ctx.emit(relay.ConcatenateOp(values, axis))


def make_activation(name: str, alpha: float | None, beta: float | None) -> Activation:
    """An ONNX RNN activation function (lower-case name) built from relay ops."""

    def apply(ctx: ConversionContext, x: SSAValue) -> SSAValue:
        if name == "sigmoid":
            return ctx.emit(relay.SigmoidOp(x))
        if name == "tanh":
            return ctx.emit(relay.TanhOp(x))
        if name == "relu":
            return ctx.emit(relay.ReluOp(x))
        assert alpha is not None
        scaled = mul(ctx, x, ctx.constant(np.float32(alpha)))
        if name == "leakyrelu":
            return ctx.emit(relay.MaximumOp(x, scaled))
        assert beta is not None
        shifted = ctx.emit(relay.AddOp(scaled, ctx.constant(np.float32(beta))))
        if name == "hardsigmoid":
            return ctx.emit(relay.ClipOp(shifted, 0.0, 1.0))
        return shifted  # affine

    return apply


# ----------------------------------------------------------------------------------------------
# one direction
# ----------------------------------------------------------------------------------------------


class Direction:
    """Emits the steps of direction ``d``; the ``run_*`` methods return
    (hidden states in time order as [seq * batch, hidden], last h, last c or None)."""

    def __init__(
        self,
        ctx: ConversionContext,
        layer: Layer,
        ins: list[SSAValue | None],
        d: int,
        rb_h_apart: bool,
    ):
        self.ctx, self.layer, self.d = ctx, layer, d
        x, w, r = ins[0], ins[1], ins[2]
        b = ins[3] if len(ins) > 3 else None
        assert x is not None and w is not None and r is not None
        gates, hid = GATES[layer.kind], layer.hidden
        self.acts = layer.acts[d]
        self.r = part(ctx, r, d, 0, gates * hid)
        self._r_gates: list[SSAValue] = []
        # both biases go into the input projection, except GRU's Rb_h under linear_before_reset
        biases = []
        for g in range(gates):
            wb = vector(ctx, b, d, g * hid, hid)
            rb = vector(ctx, b, d, (gates + g) * hid, hid)
            biases.append(wb if rb_h_apart and g == gates - 1 else add(ctx, wb, rb))
        self.rb_h = vector(ctx, b, d, (2 * gates - 1) * hid, hid) if rb_h_apart else None
        x2d = reshape(ctx, x, [layer.rows, shape_of(x)[2]])
        xw = ctx.emit(relay.DenseOp(x2d, part(ctx, w, d, 0, gates * hid)))
        bias = None if b is None else concat(ctx, biases, 0)  # type: ignore[arg-type]
        self.xw: SSAValue = add(ctx, xw, bias)  # type: ignore[assignment]

    def _order(self) -> range:
        seq = self.layer.seq
        return range(seq - 1, -1, -1) if self.layer.reverse[self.d] else range(seq)

    def _rows(self, t: int) -> tuple[int, int]:
        """First row of step ``t`` in the projection, and the distance between batch rows."""
        lay = self.layer
        return (t * lay.batch, 1) if lay.layout == 0 else (t, lay.seq)  # layout 1: b * seq + t

    def _step_rows(self, t: int) -> SSAValue:
        """The input projection rows of step ``t``, [batch, gates * H]."""
        lay, ctx = self.layer, self.ctx
        begin, stride = self._rows(t)
        width = shape_of(self.xw)[1]
        if stride == 1:
            return slice_(ctx, self.xw, [begin, 0], [lay.batch, width])
        return ctx.emit(relay.StridedSliceOp(self.xw, [begin, 0], [stride, 1], [lay.batch, width]))

    # -- one relay.rnn_cell per step --------------------------------------------------------

    def run_fused(self, h0: SSAValue | None, c0: SSAValue | None):
        ctx, lay, hid = self.ctx, self.layer, self.layer.hidden
        zeros = ctx.constant(np.zeros((lay.batch, hid), np.float32))
        parts = [zeros if h0 is None else h0]
        if lay.kind == "LSTM":
            parts.append(zeros if c0 is None else c0)
        state = concat(ctx, parts, 1)
        bias = None
        if lay.kind == "GRU":
            bias = self.rb_h if self.rb_h is not None else ctx.constant(np.zeros(hid, np.float32))
        mode = lay.kind.lower()
        states: list[SSAValue | None] = [None] * lay.seq
        for t in self._order():
            # this step's rows are sliced out first (a small copy) so that every step's cell
            # kernel is the same kernel, compiled once (te-dedup-kernels)
            xs = self._step_rows(t)
            state = ctx.emit(relay.RnnCellOp(xs, state, self.r, bias, mode, 0, 1))
            states[t] = state
        ys = concat(ctx, states, 0)  # type: ignore[arg-type]
        if lay.kind != "LSTM":
            return ys, state, None
        y = slice_(ctx, ys, [0, 0], [lay.rows, hid])
        h, c = (slice_(ctx, state, [0, k * hid], [lay.batch, hid]) for k in (0, 1))
        return y, h, c

    # -- small relay ops per gate -----------------------------------------------------------

    def run_unrolled(self, h: SSAValue | None, c: SSAValue | None, step: Callable):
        hs: list[SSAValue | None] = [None] * self.layer.seq
        for t in self._order():
            h, c = step(t, h, c)
            hs[t] = h
        return concat(self.ctx, hs, 0), h, c  # type: ignore[arg-type]

    def _x(self, t: int, g: int) -> SSAValue:
        """Step ``t``'s input projection for gate ``g``: [batch, hidden]."""
        lay, hid = self.layer, self.layer.hidden
        begin, stride = self._rows(t)
        op = relay.StridedSliceOp(self.xw, [begin, g * hid], [stride, 1], [lay.batch, hid])
        return self.ctx.emit(op)

    def _hr(self, h: SSAValue | None, g: int) -> SSAValue | None:
        """``h @ R_g^T`` (None when h is None, i.e. zero)."""
        if not self._r_gates:
            hid = self.layer.hidden
            n = GATES[self.layer.kind]
            self._r_gates = [slice_(self.ctx, self.r, [k * hid, 0], [hid, hid]) for k in range(n)]
        return None if h is None else self.ctx.emit(relay.DenseOp(h, self._r_gates[g]))

    def _pre(self, t: int, g: int, h: SSAValue | None, extra: SSAValue | None = None):
        """The pre-activation of gate ``g``: x projection + h @ R_g^T (+ extra), clipped."""
        ctx = self.ctx
        v: SSAValue = add(ctx, add(ctx, self._x(t, g), self._hr(h, g)), extra)  # type: ignore
        if self.layer.clip is not None:
            v = ctx.emit(relay.ClipOp(v, -self.layer.clip, self.layer.clip))
        return v

    def lstm_step(self, peep: list[SSAValue | None]):
        ctx = self.ctx
        f_act, g_act, h_act = self.acts
        p_i, p_o, p_f = peep

        def peephole(p: SSAValue | None, c: SSAValue | None) -> SSAValue | None:
            return None if p is None or c is None else mul(ctx, c, p)

        def step(t: int, h: SSAValue | None, c: SSAValue | None):
            i = f_act(ctx, self._pre(t, 0, h, peephole(p_i, c)))
            f = f_act(ctx, self._pre(t, 2, h, peephole(p_f, c)))
            g = g_act(ctx, self._pre(t, 3, h))
            ig = mul(ctx, i, g)
            c_new = ig if c is None else ctx.emit(relay.AddOp(mul(ctx, f, c), ig))
            o = f_act(ctx, self._pre(t, 1, h, peephole(p_o, c_new)))
            return mul(ctx, o, h_act(ctx, c_new)), c_new

        return step

    def gru_step(self, linear_before_reset: bool):
        ctx = self.ctx
        f_act, g_act = self.acts

        def step(t: int, h: SSAValue | None, c: None):
            z = f_act(ctx, self._pre(t, 0, h))
            r = f_act(ctx, self._pre(t, 1, h))
            if linear_before_reset:
                rh = add(ctx, self._hr(h, 2), self.rb_h)
                n = g_act(ctx, self._pre(t, 2, None, None if rh is None else mul(ctx, r, rh)))
            else:
                n = g_act(
                    ctx, self._pre(t, 2, None, self._hr(None if h is None else mul(ctx, r, h), 2))
                )
            if h is None:  # (1 - z) * n
                one_minus = ctx.emit(relay.SubtractOp(ctx.constant(np.float32(1.0)), z))
                return mul(ctx, one_minus, n), None
            diff = ctx.emit(relay.SubtractOp(h, n))  # n + z * (h - n)
            return ctx.emit(relay.AddOp(n, mul(ctx, z, diff))), None

        return step

    def rnn_step(self):
        ctx = self.ctx
        (f_act,) = self.acts
        return lambda t, h, c: (f_act(ctx, self._pre(t, 0, h)), None)
