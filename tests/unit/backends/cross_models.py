"""Small ONNX models the cross-compilation tests build for aarch64 and riscv64 (fixed seeds).

Used by ``tests/unit/backends/test_cross_*.py`` and ``tests/e2e/deploy/test_cross_qemu.py``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx import helper as h


def _weight(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.2).astype(np.float32), name)


def conv_relu_gemm(channels: int = 8, size: int = 8, classes: int = 10) -> onnx.ModelProto:
    """x[1,3,size,size] -> Conv 3x3 (pad 1) -> Relu -> Flatten -> Gemm -> y[1,classes]."""
    rng = np.random.default_rng(11)
    inits = [
        _weight("w", (channels, 3, 3, 3), rng),
        _weight("b", (channels,), rng),
        _weight("fc", (classes, channels * size * size), rng),
        _weight("fcb", (classes,), rng),
    ]
    nodes = [
        h.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["c"], ["r"]),
        h.make_node("Flatten", ["r"], ["f"]),
        h.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1),
    ]
    graph = h.make_graph(
        nodes,
        "conv_relu_gemm",
        [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [h.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])],
        inits,
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


def wide_conv(channels: int = 64, size: int = 32) -> onnx.ModelProto:
    """A convolution with enough work per call to run its loops in parallel (GOMP)."""
    rng = np.random.default_rng(12)
    graph = h.make_graph(
        [
            h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            h.make_node("Sigmoid", ["c"], ["y"]),
        ],
        "wide_conv",
        [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [h.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, size, size])],
        [_weight("w", (channels, channels, 3, 3), rng)],
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
