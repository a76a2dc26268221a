"""Kernel benchmarks: fp32 GEMM at 256..2048, a product of two runtime operands, a dense
whose width is not a multiple of the panel width, and the convolution layers of ResNet-18."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def gemm_model(n: int) -> tuple[onnx.ModelProto, dict[str, np.ndarray], float, object]:
    """``y = a @ b`` with ``b`` a weight (the inference case); numpy holds the same ``b``."""
    b = _f32(n, n)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        f"gemm{n}",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
        initializer=[numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    return model, {"a": _f32(n, n)}, 2.0 * n**3, lambda feed: feed["a"] @ b


def matmul_runtime_model(n: int) -> tuple[onnx.ModelProto, dict[str, np.ndarray], float, object]:
    """``y = a @ b`` with both operands graph inputs (attention's ``Q @ K^T``): nothing to
    pack at compile time."""
    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        f"matmul_rt{n}",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    inputs = {"a": _f32(n, n), "b": _f32(n, n)}
    return model, inputs, 2.0 * n**3, lambda feed: feed["a"] @ feed["b"]


def dense_model(
    m: int, k: int, n: int
) -> tuple[onnx.ModelProto, dict[str, np.ndarray], float, object]:
    """``y = x @ w.T + c`` (ONNX ``Gemm``, ``transB=1``): a CRNN recognizer's classifier is
    32 x 1024 x 8210, a width that is no multiple of the vector or panel width."""
    w = (_f32(n, k) / np.sqrt(k)).astype(np.float32)
    c = _f32(n)
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1)],
        f"dense{m}x{k}x{n}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(c, "c")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    return model, {"x": _f32(m, k)}, 2.0 * m * k * n, lambda feed: feed["x"] @ w.T + c


# (name, in channels, out channels, input size, kernel, stride) at batch 1, 224x224 input
RESNET18_CONVS = [
    ("conv1_7x7s2", 3, 64, 224, 7, 2),
    ("layer1_3x3", 64, 64, 56, 3, 1),
    ("layer2_3x3s2", 64, 128, 56, 3, 2),
    ("layer2_1x1s2", 64, 128, 56, 1, 2),
    ("layer2_3x3", 128, 128, 28, 3, 1),
    ("layer3_3x3s2", 128, 256, 28, 3, 2),
    ("layer3_3x3", 256, 256, 14, 3, 1),
    ("layer4_3x3s2", 256, 512, 14, 3, 2),
    ("layer4_3x3", 512, 512, 7, 3, 1),
]


def conv_model(c: int, k_out: int, size: int, k: int, stride: int):
    pad = k // 2
    w = (_f32(k_out, c, k, k) * np.sqrt(2.0 / (c * k * k))).astype(np.float32)
    out = (size + 2 * pad - k) // stride + 1
    g = helper.make_graph(
        [
            helper.make_node(
                "Conv", ["x", "w"], ["y"], strides=[stride] * 2, pads=[pad] * 4, kernel_shape=[k, k]
            )
        ],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k_out, out, out])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    flops = 2.0 * k_out * out * out * c * k * k
    return model, {"x": _f32(1, c, size, size)}, flops, None


def kernel_cases(quick: bool = False) -> Iterator[tuple[str, tuple]]:
    sizes = [256, 512] if quick else [256, 512, 1024, 2048]
    for n in sizes:
        yield f"gemm_{n}", gemm_model(n)
    rt = 512 if quick else 1024
    yield f"matmul_runtime_{rt}", matmul_runtime_model(rt)
    yield "dense_32x1024x8210", dense_model(32, 1024, 8210)
    convs = RESNET18_CONVS[1:2] if quick else RESNET18_CONVS
    for name, c, k_out, size, k, stride in convs:
        yield f"conv_{name}", conv_model(c, k_out, size, k, stride)
