"""What a converter sees: a place to emit relay ops, the current node, and constant access.

Converters read shape-like operands (Reshape's shape, Clip's bounds) at import time from the
``relay.constant`` that produces them; anything else is a model the importer cannot handle
statically and is reported against the node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.builder import Builder
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from xtvm.dialects.relay import ConstantOp, numpy_dtype_of
from xtvm.errors import ModelError


def node_label(node: NodeProto, index: int) -> str:
    """How messages name a node: its name, or its position when it has none."""
    name = f"'{node.name}'" if node.name else f"#{index}"
    return f"node {name} ({node.op_type})"


def normalize_array(array: np.ndarray, what: str) -> np.ndarray:
    """Floats become float32 (the compute type); int32/int16/int8/uint8/uint16 stay (graph
    inputs and quantized weights have those types), other integers become int64."""
    arr = np.asarray(array)
    if arr.dtype.kind == "f" or arr.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: kind V
        return arr.astype(np.float32, copy=False)
    if arr.dtype in (np.int32, np.int16, np.int8, np.uint8, np.uint16):
        return arr
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr
    raise ModelError(f"{what} has element type {arr.dtype}, which xtvm does not support")


# relay ops whose non-empty results from zero-size operands are defined and compiled right
EMPTY_OPERAND_OPS = frozenset(
    {
        "relay.reduce",
        "relay.concatenate",
        "relay.dense",
        "relay.dense_pack",
        "relay.batch_matmul",
        "relay.einsum",
        "relay.pad",
        "relay.scatter_nd",
        "relay.scatter_elements",
        # control flow, functions and bounded data-dependent outputs define their own
        "relay.if",
        "relay.call",
        "relay.let",
        "relay.fn",
        "relay.tuple",
        "relay.tuple_get",
        "relay.mask_positions",
        "relay.unique",
        "relay.nms",
    }
)


class ConversionContext:
    """Builder wrapper handed to converters; one per imported graph."""

    def __init__(self, builder: Builder, opset: int):
        self.builder = builder
        self.opset = opset
        self.node: NodeProto = NodeProto()
        self.label = "graph"
        # set by the importer: converts a subgraph (If branch, loop body: graph, bind=names
        # of its inputs) at the builder's insertion point and returns its outputs
        self.convert_subgraph: Callable[..., list[SSAValue]] | None = None

    # -- emitting ---------------------------------------------------------------------------

    def emit(self, op: Operation) -> SSAValue:
        """Insert ``op`` (verifying it) and return its single result.

        An op whose operands are all constants is evaluated with numpy instead and its value
        emitted as a constant, so shape-computing chains (Shape -> Gather -> Concat -> ...)
        are constants by the time an operand that must be static (Reshape's shape) reads them.
        A result with no elements is an empty constant too: its value depends on no data, and
        no kernel is built to compute nothing.
        """
        assert len(op.results) == 1
        op.verify()
        self._check_empty_operands(op)
        folded = self._empty(op) or self._fold(op)
        if folded is not None:
            return folded
        self.builder.insert(op)
        return op.results[0]

    def _check_empty_operands(self, op: Operation) -> None:
        """A non-empty result read from a zero-size operand: only ops that define it (a
        reduction's identity, a concat, a matmul over an empty inner dim, a constant pad,
        a scatter of no updates) may, the rest would read past an empty buffer."""
        t = op.results[0].type
        if not isinstance(t, TensorType) or 0 in t.get_shape() or op.name in EMPTY_OPERAND_OPS:
            return
        for i, v in enumerate(op.operands):
            if isinstance(v.type, TensorType) and 0 in v.type.get_shape():
                raise self.error(
                    f"{op.name} cannot compute a non-empty result {list(t.get_shape())} from "
                    f"the zero-size operand {i} {list(v.type.get_shape())}"
                )

    def _empty(self, op: Operation) -> SSAValue | None:
        t = op.results[0].type
        if not isinstance(t, TensorType) or 0 not in t.get_shape():
            return None
        op.erase()
        return self.empty(t.get_shape(), t.element_type)

    def empty(self, shape: Sequence[int], element_type: Attribute) -> SSAValue:
        """A zero-size constant (``shape`` has a 0) for results that hold no data."""
        const = ConstantOp.from_numpy(np.empty(shape, numpy_dtype_of(element_type)))
        self.builder.insert(const)
        return const.result

    def _fold(self, op: Operation) -> SSAValue | None:
        if not op.operands or not all(isinstance(v.owner, ConstantOp) for v in op.operands):
            return None
        from xtvm.passes.relay.evaluate import can_evaluate, evaluate_op

        if not can_evaluate(op):
            return None
        value = evaluate_op(op, [v.owner.to_numpy() for v in op.operands])  # type: ignore[union-attr]
        op.erase()
        const = ConstantOp.from_numpy(value)
        self.builder.insert(const)
        return const.result

    def constant(self, array: np.ndarray | float | Sequence[Any]) -> SSAValue:
        """Emit a ``relay.constant`` holding ``array`` (normalized to float32 / int64)."""
        arr = normalize_array(np.asarray(array), f"{self.label}: constant")
        return self.emit(ConstantOp.from_numpy(arr))

    # -- import-time constants --------------------------------------------------------------

    @staticmethod
    def is_constant(value: SSAValue | None) -> bool:
        return value is not None and isinstance(value.owner, ConstantOp)

    def const_value(self, value: SSAValue | None, what: str) -> np.ndarray:
        """The numpy value of a constant operand; ModelError if it is computed at run time."""
        if value is None or not isinstance(value.owner, ConstantOp):
            raise self.error(f"{what} must be a constant (initializer or Constant node)")
        return value.owner.to_numpy()

    def ints(self, value: SSAValue | None, what: str) -> list[int]:
        """A constant integer operand as a flat list of Python ints."""
        arr = self.const_value(value, what)
        if arr.dtype.kind not in "iu":
            raise self.error(f"{what} must be an integer tensor, got {arr.dtype}")
        return [int(v) for v in arr.reshape(-1)]

    # -- errors -----------------------------------------------------------------------------

    def error(self, message: str) -> ModelError:
        """A ModelError about the node being converted (raise the result)."""
        return ModelError(f"{self.label}: {message}")

    def attr_error(self, attr: str, value: Any, allowed: str) -> ModelError:
        return self.error(f"attribute {attr}={value!r} is not supported ({allowed})")
