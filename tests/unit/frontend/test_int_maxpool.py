"""MaxPool on int8/uint8 inputs (opset 12+) equals onnxruntime's, padding and strides too."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import xtvm


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_integer_max_pool_matches_onnxruntime(dtype: type) -> None:
    elem = TensorProto.UINT8 if dtype == np.uint8 else TensorProto.INT8
    node = helper.make_node(
        "MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", elem, [1, 2, 7, 6])],
        [helper.make_tensor_value_info("y", elem, [1, 2, 4, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    info = np.iinfo(dtype)
    x = np.random.default_rng(5).integers(info.min, info.max, (1, 2, 7, 6), endpoint=True)
    x = x.astype(dtype)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {"x": x})
    (got,) = xtvm.build(xtvm.from_onnx(model, {"x": x.shape})).run({"x": x})
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
