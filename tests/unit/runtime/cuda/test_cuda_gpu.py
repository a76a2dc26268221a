"""On a real NVIDIA GPU: hand-written PTX through the runtime, and compiled models against
onnxruntime on the CPU. Skipped cleanly ("no CUDA device") where there is none."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_samples import ADD_PTX, CONSTANT, constants_blob, no_gpu_reason, two_kernel_metadata
from onnx import helper

from xtvm.runtime.cuda import CudaModule

_REASON = no_gpu_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(_REASON is not None, reason=str(_REASON))]


@pytest.mark.parametrize("graphs", [True, False], ids=["graph", "kernel-by-kernel"])
def test_hand_written_ptx_runs(tmp_path, graphs: bool) -> None:
    import xtvm.runtime

    m = CudaModule(ADD_PTX, two_kernel_metadata(), constants_blob(), cuda_graphs=graphs)
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(m(x), 2 * (x + CONSTANT))
    assert m.device_name  # the driver names the GPU
    stats = m.benchmark([x], repeat=5)
    assert 0 < stats["median_ms"] < 1000
    kernels = m.benchmark([x], repeat=5, include_copies=False)
    assert 0 < kernels["median_ms"] < 1000
    m.export_library(str(tmp_path / "m.so"))
    loaded = xtvm.runtime.load(tmp_path / "m.so")
    np.testing.assert_array_equal(loaded(x + 1), 2 * (x + 1 + CONSTANT))
    m.close()


def _compare_with_onnxruntime(model, feeds: dict[str, np.ndarray]) -> None:
    import onnxruntime as ort

    import xtvm

    shapes = {k: v.shape for k, v in feeds.items()}
    lib = xtvm.build(xtvm.from_onnx(model, shape_dict=shapes), target="cuda")
    got = lib.run(feeds)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_elementwise_model() -> None:
    from xtvm.testing.onnx_check import float_model

    nodes = [
        helper.make_node("Mul", ["x", "y"], ["m"]),
        helper.make_node("Relu", ["m"], ["r"]),
        helper.make_node("Add", ["r", "x"], ["z"]),
    ]
    model = float_model(nodes, {"x": (4, 1000), "y": (4, 1000)}, ["z"], opset=17)
    rng = np.random.default_rng(0)
    feeds = {k: rng.standard_normal((4, 1000)).astype(np.float32) for k in ("x", "y")}
    _compare_with_onnxruntime(model, feeds)


def test_dense_model() -> None:
    from xtvm.testing.onnx_check import float_model

    rng = np.random.default_rng(1)
    inits = {
        "w": rng.standard_normal((256, 384)).astype(np.float32) * 0.05,
        "b": rng.standard_normal(384).astype(np.float32),
    }
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"])]
    model = float_model(nodes, {"x": (8, 256)}, ["y"], opset=17, inits=inits)
    _compare_with_onnxruntime(model, {"x": rng.standard_normal((8, 256)).astype(np.float32)})


def test_conv_model() -> None:
    from xtvm.testing.onnx_check import float_model

    rng = np.random.default_rng(2)
    inits = {
        "w": rng.standard_normal((32, 16, 3, 3)).astype(np.float32) * 0.1,
        "b": rng.standard_normal(32).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    model = float_model(nodes, {"x": (2, 16, 28, 28)}, ["y"], opset=17, inits=inits)
    feeds = {"x": rng.standard_normal((2, 16, 28, 28)).astype(np.float32)}
    _compare_with_onnxruntime(model, feeds)


def test_zoo_resnet18_tiny() -> None:
    from xtvm.testing.model_zoo import make_model, random_inputs

    _compare_with_onnxruntime(make_model("resnet18_like"), random_inputs("resnet18_like", "tiny"))
