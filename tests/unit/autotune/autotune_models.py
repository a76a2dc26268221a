"""Small ONNX models for the tuner's tests: a Gemm+Relu and two of them in a row."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def gemm_model(
    m: int = 16, k: int = 64, n: int = 32, layers: int = 1, seed: int = 0
) -> onnx.ModelProto:
    """``layers`` times ``relu(x @ W^T + b)`` with the same shapes (so the same kernel)."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    cur = "x"
    for i in range(layers):
        w = numpy_helper.from_array(rng.standard_normal((n, k)).astype(np.float32), f"w{i}")
        b = numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), f"b{i}")
        inits += [w, b]
        nodes.append(helper.make_node("Gemm", [cur, f"w{i}", f"b{i}"], [f"g{i}"], transB=1))
        out = "y" if i == layers - 1 else f"h{i}"
        nodes.append(helper.make_node("Relu", [f"g{i}"], [out]))
        if i < layers - 1:  # back to k columns for the next layer
            assert n == k, "stacked layers need n == k"
        cur = out
    graph = helper.make_graph(
        nodes,
        "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def gemm_reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """numpy evaluation of :func:`gemm_model`."""
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers = len(weights) // 2
    y = x
    for i in range(layers):
        y = np.maximum(y @ weights[f"w{i}"].T + weights[f"b{i}"], 0.0)
    return y
