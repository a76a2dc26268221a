"""A small CNN classifier compiled by the cuda pipeline up to GPU tir (before NVPTX code
generation) and run by the reference interpreter, every GPU thread simulated: the numbers
the GPU schedules compute, checked against onnxruntime without a GPU."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.backends.interpreter import run_tir
from xtvm.backends.llvm.target import Target
from xtvm.driver.compile import _pipeline_spec, run_pipeline, specialize_for_target
from xtvm.driver.cuda_build import _for_device, cuda_pipeline
from xtvm.passes.registry import parse_pipeline

RNG = np.random.default_rng(0)


def model():
    wc = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bc = RNG.standard_normal(4).astype(np.float32)
    w = RNG.standard_normal((10, 36)).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Conv", ["x", "wc", "bc"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "w"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["y"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(a, n) for a, n in ((wc, "wc"), (bc, "bc"), (w, "w"))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_cnn_gpu_tir_matches_onnxruntime() -> None:
    m = model()
    x = RNG.standard_normal((1, 3, 6, 6)).astype(np.float32)
    module = xtvm.from_onnx(m, {"x": x.shape})
    target = Target.cuda("sm_80")
    passes = parse_pipeline(cuda_pipeline(_pipeline_spec(3, None)))
    assert type(passes[-1]).__name__ == "ConvertTirToNvvmPass"
    run_pipeline(module, _for_device(specialize_for_target(passes[:-1], target), "cuda"))
    (out,) = run_tir(module, [x])
    (ref,) = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)
