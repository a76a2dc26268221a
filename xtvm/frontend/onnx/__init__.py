"""ONNX frontend: import a ModelProto as a relay module (see ``from_onnx``)."""

from xtvm.frontend.onnx.importer import from_onnx
from xtvm.frontend.onnx.registry import MAX_OPSET, MIN_OPSET, converter, supported_ops

__all__ = ["from_onnx", "converter", "supported_ops", "MIN_OPSET", "MAX_OPSET"]
