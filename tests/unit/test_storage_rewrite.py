"""tir-storage-rewrite end to end: kernels whose scratch is too big for the stack get it
from the module's workspace instead of allocating on each call, and results match
onnxruntime with and without the pass."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.passes.registry import pipeline_for_opt_level

ort = pytest.importorskip("onnxruntime")


def _two_convs(c: int = 16, size: int = 40) -> onnx.ModelProto:
    """Two padded 3x3 convs: each kernel pads its ``c x (size+2)^2`` input into scratch
    (over 64 KiB, so heap scratch before the pass)."""
    rng = np.random.default_rng(3)
    w1 = (rng.standard_normal((c, c, 3, 3)) * 0.2).astype(np.float32)
    w2 = (rng.standard_normal((c, c, 3, 3)) * 0.2).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["h"], pads=[1] * 4, kernel_shape=[3, 3]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1] * 4, kernel_shape=[3, 3]),
    ]
    g = helper.make_graph(
        nodes,
        "two_convs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, size, size])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("layout", ["O2", "no-alter-layout"])
def test_heap_scratch_moves_into_the_workspace(layout: str) -> None:
    model = _two_convs()
    full = pipeline_for_opt_level(2)
    if layout != "O2":  # plain NCHW convs: the padded input is a root stage of the kernel
        full = full.replace("relay-alter-layout,", "")
    without = full.replace("tir-storage-rewrite,", "")
    assert without != full
    x = np.random.default_rng(0).standard_normal((1, 16, 40, 40)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]

    before = xtvm.build(xtvm.from_onnx(model), pipeline=without, cache=False)
    after = xtvm.build(xtvm.from_onnx(model), pipeline=full, cache=False)
    assert "aligned_alloc" in before.get_source("llvm")
    assert "aligned_alloc" not in after.get_source("llvm")
    assert after.workspace_bytes > before.workspace_bytes
    for lib in (before, after):
        for _ in range(2):  # the workspace is reused across calls
            np.testing.assert_allclose(lib(x=x), want, rtol=1e-4, atol=1e-4)
