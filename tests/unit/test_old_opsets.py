"""Models at opsets below 11 convert with the converters registered for those opsets."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

import xtvm


def _check(nodes, inputs: dict[str, np.ndarray], outputs: dict[str, tuple], opset: int) -> None:
    types = {np.dtype("bool"): TensorProto.BOOL, np.dtype("float32"): TensorProto.FLOAT}
    types[np.dtype("int64")] = TensorProto.INT64
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, types[v.dtype], v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, types[np.dtype(t)], s) for k, (t, s) in outputs.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    got = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in inputs.items()})).run(inputs)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for name, g, w in zip(outputs, got, sess.run(None, inputs)):
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)


def test_logical_ops_at_opset_7() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((3, 4)) > 0.5
    b = rng.random((4,)) > 0.5
    nodes = [helper.make_node(op, ["a", "b"], [op.lower()]) for op in ("And", "Or", "Xor")]
    nodes.append(helper.make_node("Not", ["a"], ["not"]))
    outs = {k: ("bool", [3, 4]) for k in ("and", "or", "xor", "not")}
    _check(nodes, {"a": a, "b": b}, outs, opset=7)


def test_scatter_at_opset_10_is_scatter_elements() -> None:
    x = np.zeros((3, 3), np.float32)
    idx = np.array([[1, 0, 2], [0, 2, 1]], np.int64)
    upd = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    nodes = [helper.make_node("Scatter", ["x", "i", "u"], ["y"], axis=0)]
    _check(nodes, {"x": x, "i": idx, "u": upd}, {"y": ("float32", [3, 3])}, opset=10)
