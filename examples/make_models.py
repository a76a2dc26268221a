"""Small ONNX models for the demo and the tests, built with ``onnx.helper`` (fixed seeds).

python examples/make_models.py OUT_DIR     # writes mlp.onnx and resnet_block.onnx
"""

from __future__ import annotations

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)


def _model(graph: onnx.GraphProto, opset: int = OPSET) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="xtvm-examples",
    )
    model.ir_version = 8  # readable by every onnxruntime we test with
    onnx.checker.check_model(model)
    return model


def make_mlp(batch: int = 2, features: int = 16, hidden: int = 32, classes: int = 10):
    """x[batch, features] -> MatMul + Add -> Relu -> Gemm(transB) -> Softmax."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((features, hidden)) * 0.3
    b1 = rng.standard_normal(hidden) * 0.1
    w2 = rng.standard_normal((classes, hidden)) * 0.3
    b2 = rng.standard_normal(classes) * 0.1
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
        helper.make_node("Gemm", ["h2", "w2", "b2"], ["logits"], name="fc2", transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, classes])],
        initializer=[_init("w1", w1), _init("b1", b1), _init("w2", w2), _init("b2", b2)],
    )
    return _model(graph)


def _bn_params(prefix: str, channels: int, rng: np.random.Generator) -> list[onnx.TensorProto]:
    return [
        _init(f"{prefix}_scale", 1.0 + 0.1 * rng.standard_normal(channels)),
        _init(f"{prefix}_bias", 0.1 * rng.standard_normal(channels)),
        _init(f"{prefix}_mean", 0.1 * rng.standard_normal(channels)),
        _init(f"{prefix}_var", 0.5 + rng.random(channels)),
    ]


def make_resnet_block_model(channels: int = 8, classes: int = 10, size: int = 32):
    """A residual block and classifier head on a 1x3xSIZExSIZE image.

    conv-bn-relu, conv-bn, residual add (of the first relu's output), relu, global average
    pool, flatten, gemm, softmax.
    """
    rng = np.random.default_rng(1)
    c = channels
    inits = [
        _init("conv1_w", rng.standard_normal((c, 3, 3, 3)) * 0.3),
        _init("conv1_b", rng.standard_normal(c) * 0.1),
        _init("conv2_w", rng.standard_normal((c, c, 3, 3)) * 0.15),
        _init("fc_w", rng.standard_normal((classes, c)) * 0.3),
        _init("fc_b", rng.standard_normal(classes) * 0.1),
    ]
    for prefix in ("bn1", "bn2"):
        inits += _bn_params(prefix, c, rng)

    def bn(x: str, prefix: str, y: str) -> onnx.NodeProto:
        names = [x] + [f"{prefix}_{p}" for p in ("scale", "bias", "mean", "var")]
        return helper.make_node("BatchNormalization", names, [y], name=prefix, epsilon=1e-5)

    conv3 = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1]}
    nodes = [
        helper.make_node("Conv", ["x", "conv1_w", "conv1_b"], ["a0"], name="conv1", **conv3),
        bn("a0", "bn1", "a1"),
        helper.make_node("Relu", ["a1"], ["a2"], name="relu1"),
        helper.make_node("Conv", ["a2", "conv2_w"], ["b0"], name="conv2", **conv3),
        bn("b0", "bn2", "b1"),
        helper.make_node("Add", ["b1", "a2"], ["r0"], name="residual"),
        helper.make_node("Relu", ["r0"], ["r1"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r1"], ["p0"], name="gap"),
        helper.make_node("Flatten", ["p0"], ["f0"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f0", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "resnet_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])],
        initializer=inits,
    )
    return _model(graph)


def make_unsupported_model() -> onnx.ModelProto:
    """Valid ONNX that xtvm cannot compile: uses RandomUniformLike and RandomNormalLike (twice), for error tests."""
    nodes = [
        helper.make_node("RandomUniformLike", ["x"], ["a"], name="random0"),
        helper.make_node("RandomNormalLike", ["a"], ["b"], name="normal0"),
        helper.make_node("Relu", ["b"], ["c"], name="relu0"),
        helper.make_node("RandomNormalLike", ["c"], ["y"], name="normal1"),
    ]
    graph = helper.make_graph(
        nodes,
        "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    return _model(graph)


MODELS = {"mlp": make_mlp, "resnet_block": make_resnet_block_model}


def main(argv: list[str]) -> int:
    out_dir = argv[1] if len(argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    for name, make in MODELS.items():
        path = os.path.join(out_dir, f"{name}.onnx")
        onnx.save(make(), path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
