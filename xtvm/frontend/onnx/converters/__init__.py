"""ONNX op converters, one module per op family; importing them registers them."""

from xtvm.frontend.onnx.converters import conv, elementwise, misc, nn, shape

__all__ = ["conv", "elementwise", "misc", "nn", "shape"]
