"""x86 rnn_cell schedule: the LSTM cell's gate math is vector code and matches onnxruntime."""

from __future__ import annotations

import re

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import xtvm


def test_lstm_cell_vectorized_and_correct() -> None:
    t, i, h = 4, 12, 16
    rng = np.random.default_rng(3)
    w = rng.standard_normal((1, 4 * h, i)).astype(np.float32) * 0.3
    r = rng.standard_normal((1, 4 * h, h)).astype(np.float32) * 0.3
    b = rng.standard_normal((1, 8 * h)).astype(np.float32) * 0.1
    g = helper.make_graph(
        [helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "yh", "yc"], hidden_size=h)],
        "lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [t, 1, i])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [t, 1, 1, h]),
            helper.make_tensor_value_info("yh", TensorProto.FLOAT, [1, 1, h]),
            helper.make_tensor_value_info("yc", TensorProto.FLOAT, [1, 1, h]),
        ],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w, "W"), (r, "R"), (b, "B"))],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    lib = xtvm.build(xtvm.from_onnx(model), target="llvm -mattr=+avx2,+fma")
    x = rng.standard_normal((t, 1, i)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x}
    )
    for got, ref in zip(lib(x), want):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    # one cell kernel for all steps, and its sigmoid/tanh are inline vector code
    tir = lib.get_source("tir")
    assert tir.count("tir.prim_func @fused_rnn_cell") == 1
    ll = lib.get_source("ll")
    scalar = re.findall(r'call float @"?llvm\.(?:exp|tanh)\.f32', ll)
    assert not scalar, f"gate math left scalar: {len(scalar)} calls"
