"""benchmarks/gpu.py without a GPU: a clear message and status 2; its inputs per batch."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from xtvm.runtime.cuda import driver as cuda_driver

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "benchmarks", "gpu.py")


def _script():
    spec = importlib.util.spec_from_file_location("xtvm_gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exits_with_a_message_without_a_gpu(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cuda_driver, "LIBRARY_NAMES", ("libcuda-not-there.so.1",))
    assert _script().main([]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "benchmarks/gpu.py needs an NVIDIA GPU: no CUDA driver (libcuda.so.1) found: "
        "install the NVIDIA driver to run cuda modules"
    )


def test_inputs_at_batch_8() -> None:
    gpu = _script()
    x = gpu.feeds_for("resnet18_like", 8)["x"]
    assert x.shape == (8, 3, 224, 224) and x.dtype == np.float32
    bert = gpu.feeds_for("bert_like", 8)
    assert bert["input_ids"].shape == (8, 128) and bert["attention_mask"].dtype == np.int64
