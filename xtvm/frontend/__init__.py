"""Model frontends: ``from_onnx(model, shape_dict)`` and ``from_pytorch(module, example_inputs)``
(through an ONNX export; torch is imported only when it is called), both -> relay ``ModuleOp``."""

from xtvm.frontend.onnx import from_onnx
from xtvm.frontend.pytorch import from_pytorch

__all__ = ["from_onnx", "from_pytorch"]
