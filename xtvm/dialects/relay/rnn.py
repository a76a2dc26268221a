"""``relay.rnn_cell``: one time step of an LSTM, GRU or plain RNN layer.

Frontends unroll recurrent layers over their static sequence length. Built from small ops,
each LSTM step costs four fused kernels; this op makes it one (the recurrent product and
every gate in one kernel), which cuts compile time about fourfold for CRNN-sized models.

Operands: ``xw`` [rows, G * H] is the layer's input projection for every step with both
biases folded in (``x @ W^T + Wb + Rb``, gates in ONNX order); this step reads the rows
``step_begin + b * row_stride`` for batch entries ``b``, so either sequence layout needs no
slicing. ``state`` [batch, S] is the previous state, ``weight`` [G * H, H] the recurrence
weights R, and for GRU ``bias`` [H] is Rb_h, the bias that the reset gate scales.
The state and the result are packed: ``h`` for GRU and RNN (S = H), ``h`` then ``c`` for
LSTM (S = 2H). Activations are ONNX's defaults (sigmoid, tanh, tanh); GRU is the
``linear_before_reset = 1`` form (PyTorch's and Keras's).
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerAttr, StringAttr, TensorType, i64
from xdsl.ir import SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, shape_of, tensor_type

# gates per mode, and how many H-wide parts the packed state has
RNN_CELL_GATES = {"lstm": 4, "gru": 3, "rnn": 1}
RNN_CELL_STATE_PARTS = {"lstm": 2, "gru": 1, "rnn": 1}


@irdl_op_definition
class RnnCellOp(RelayOp):
    """One recurrent step: ``state' = cell(xw[rows of this step], state, weight[, bias])``."""

    name = "relay.rnn_cell"
    xw = operand_def(TensorType)
    state = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    mode = prop_def(StringAttr)
    step_begin = prop_def(IntegerAttr)
    row_stride = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$xw `,` $state `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"
    )
    FUSE_PATTERN: ClassVar[str] = "opaque"

    def __init__(
        self,
        xw: SSAValue,
        state: SSAValue,
        weight: SSAValue,
        bias: SSAValue | None,
        mode: str,
        step_begin: int,
        row_stride: int,
    ):
        super().__init__(
            operands=[xw, state, weight, bias],
            result_types=[state.type],
            properties={
                "mode": StringAttr(mode),
                "step_begin": IntegerAttr(step_begin, i64),
                "row_stride": IntegerAttr(row_stride, i64),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def cell_mode(self) -> str:
        return self.mode.data

    @property
    def hidden(self) -> int:
        return shape_of(self.weight)[1]

    def infer_type(self) -> TensorType:
        mode = self.cell_mode
        if mode not in RNN_CELL_GATES:
            raise VerifyException(f"{self.name}: mode {mode!r} is not lstm, gru or rnn")
        xs, ss, ws = shape_of(self.xw), shape_of(self.state), shape_of(self.weight)
        if len(xs) != 2 or len(ss) != 2 or len(ws) != 2:
            raise VerifyException(f"{self.name}: xw, state and weight must be 2-D")
        hid = ws[1]
        gates = RNN_CELL_GATES[mode]
        if ws[0] != gates * hid or xs[1] != gates * hid:
            raise VerifyException(
                f"{self.name}: {mode} needs weight [{gates} * H, H] and xw [rows, {gates} * H]; "
                f"got weight {list(ws)}, xw {list(xs)}"
            )
        if ss[1] != RNN_CELL_STATE_PARTS[mode] * hid:
            raise VerifyException(f"{self.name}: state {list(ss)} does not fit {mode} with H={hid}")
        has_bias = self.bias is not None
        if has_bias != (mode == "gru") or (has_bias and shape_of(self.bias) != (hid,)):
            raise VerifyException(f"{self.name}: a [H] bias is required for gru, and only there")
        begin, stride, batch = self.step_begin.value.data, self.row_stride.value.data, ss[0]
        last = begin + (batch - 1) * stride
        if stride < 1 or not (0 <= begin < xs[0] and last < xs[0]):
            raise VerifyException(f"{self.name}: step rows {begin}..{last} outside [0, {xs[0]})")
        operands = [self.xw, self.state, self.weight] + ([self.bias] if has_bias else [])
        if any(elt_of(v) != elt_of(self.xw) for v in operands):  # type: ignore[arg-type]
            raise VerifyException(f"{self.name}: operand element types differ")
        return tensor_type(ss, elt_of(self.state))
