"""``rnn_cell``: one LSTM / GRU (linear_before_reset) / RNN step as one kernel.

The first stage is the recurrent product ``h @ R^T`` of all gates at once (a reduction, so
it keeps its own buffer); the last reads this step's rows of the input projection and applies
the gates elementwise, writing the packed new state.
"""

from __future__ import annotations

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import select, sigmoid, sum_, tanh


def rnn_cell(
    xw: Tensor,
    state: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    mode: str,
    step_begin: int,
    row_stride: int,
    name: str = "rnn_cell",
) -> Tensor:
    """The new packed state (see ``relay.rnn_cell``): [batch, H] or [batch, 2H] for LSTM."""
    hid = weight.shape[1]
    batch = state.shape[0]
    kb = xw.builder
    # all gates' products as one stage (the rows of R are the gates' rows, in order): one
    # reduction loop nest, so one parallel region per step instead of one per gate (each
    # fork/join costs more than a gate's product at small hidden sizes)
    gates = weight.shape[0] // hid
    rec = kb.compute(
        (batch, gates * hid),
        lambda b, n: sum_(lambda k: state[b, k] * weight[n, k], (hid,)),
        f"{name}_rec",
        tag="dense",
    )

    def pre(b: Expr, g: int, j: Expr) -> tuple[Expr, Expr]:
        """Gate ``g`` at column ``j``: (input projection, recurrent product)."""
        return xw[b * row_stride + step_begin, j + g * hid], rec[b, j + g * hid]

    def lstm(b: Expr, j: Expr) -> Expr:
        # both halves of the packed state compute the same cell; written with j // hid and
        # j % hid so that, once the schedule splits j by hid, the half is a loop of its own
        # (tir-simplify) and the cell vectorizes along the other
        jj = j % hid
        i, o, f, g = (pre(b, k, jj) for k in range(4))
        c = sigmoid(f[0] + f[1]) * state[b, jj + hid] + sigmoid(i[0] + i[1]) * tanh(g[0] + g[1])
        return select((j // hid).eq(0), sigmoid(o[0] + o[1]) * tanh(c), c)

    def gru(b: Expr, j: Expr) -> Expr:
        assert bias is not None
        z, r, n = (pre(b, k, j) for k in range(3))
        cand = tanh(n[0] + sigmoid(r[0] + r[1]) * (n[1] + bias[j]))
        return cand + sigmoid(z[0] + z[1]) * (state[b, j] - cand)

    def rnn(b: Expr, j: Expr) -> Expr:
        x, h = pre(b, 0, j)
        return tanh(x + h)

    body = {"lstm": lstm, "gru": gru, "rnn": rnn}[mode]
    return kb.compute(state.shape, body, name, tag="rnn_cell")
