"""relay -> te for ``relay.rnn_cell``."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects import relay
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.rnn import rnn_cell


@lowers(relay.RnnCellOp)
def _rnn_cell(op: relay.RnnCellOp, args: Sequence[Tensor], name: str) -> Tensor:
    bias = args[3] if len(args) > 3 else None
    return rnn_cell(
        args[0],
        args[1],
        args[2],
        bias,
        op.cell_mode,
        op.step_begin.value.data,
        op.row_stride.value.data,
        name,
    )
