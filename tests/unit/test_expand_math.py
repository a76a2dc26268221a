"""tir-expand-math: vector erf/tanh approximations match libm closely, end to end."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper

import xtvm


def _model() -> onnx.ModelProto:
    nodes = [helper.make_node("Erf", ["x"], ["e"]), helper.make_node("Tanh", ["x"], ["t"])]
    g = helper.make_graph(
        nodes,
        "erf_tanh",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 512])],
        [
            helper.make_tensor_value_info("e", TensorProto.FLOAT, [4, 512]),
            helper.make_tensor_value_info("t", TensorProto.FLOAT, [4, 512]),
        ],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_vector_erf_tanh_close_to_libm() -> None:
    lib = xtvm.build(xtvm.from_onnx(_model()))
    x = np.linspace(-12.0, 12.0, 4 * 512, dtype=np.float32).reshape(4, 512)
    x[0, :5] = [0.0, -0.0, 1e-8, np.inf, -np.inf]
    x[1, 7] = np.nan
    e, t = lib(x)
    x64 = x.astype(np.float64)
    ref_e = np.vectorize(math.erf)(x64)
    ref_t = np.tanh(x64)
    finite = ~np.isnan(x)
    np.testing.assert_allclose(e[finite], ref_e[finite], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(t[finite], ref_t[finite], rtol=1e-6, atol=1e-6)
    assert np.isnan(e[1, 7]) and np.isnan(t[1, 7])
    # saturated exactly, as libm rounds it: 1 + tanh(-12) must be 0, not one ulp
    assert e[3, -1] == 1.0 and t[3, -1] == 1.0 and e[0, 5] == -1.0 and t[0, 5] == -1.0
    # the vector loop no longer calls libm per lane
    ll = lib.get_source("ll")
    assert "erff" not in ll and "tanhf" not in ll
