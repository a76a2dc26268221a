"""Model frontends. ONNX is the one xtvm has: ``from_onnx(model, shape_dict) -> ModuleOp``."""

from xtvm.frontend.onnx import from_onnx

__all__ = ["from_onnx"]
