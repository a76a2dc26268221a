"""numpy evaluator of ``relay.rnn_cell`` (constant folding and the reference in tests)."""

from __future__ import annotations

import numpy as np

from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import register_evaluator


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@register_evaluator(relay.RnnCellOp)
def _rnn_cell(op: relay.RnnCellOp, xw, state, weight, bias=None) -> np.ndarray:
    hid, batch = op.hidden, state.shape[0]
    begin, stride = op.step_begin.value.data, op.row_stride.value.data
    x = xw[begin + stride * np.arange(batch)].astype(np.float64)
    h = state[:, :hid].astype(np.float64)
    rec = h @ weight.astype(np.float64).T
    xs = [x[:, g * hid : (g + 1) * hid] for g in range(x.shape[1] // hid)]
    rs = [rec[:, g * hid : (g + 1) * hid] for g in range(x.shape[1] // hid)]
    mode = op.cell_mode
    if mode == "lstm":
        i, o, f = (_sigmoid(xs[k] + rs[k]) for k in range(3))
        c = f * state[:, hid:] + i * np.tanh(xs[3] + rs[3])
        out = np.concatenate([o * np.tanh(c), c], axis=1)
    elif mode == "gru":
        z, r = _sigmoid(xs[0] + rs[0]), _sigmoid(xs[1] + rs[1])
        n = np.tanh(xs[2] + r * (rs[2] + bias))
        out = (1 - z) * n + z * h
    else:
        out = np.tanh(xs[0] + rs[0])
    return out.astype(state.dtype)
