"""Shared fixtures: the example ONNX models on disk and onnxruntime as a reference engine."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# Verify the IR after every pass in every build the tests make (off by default for users:
# it costs about a fifth of a cold build). Set before xtvm is imported; worker processes
# that tests start inherit it.
os.environ.setdefault("XTVM_VERIFY_IR", "1")
EXAMPLES = REPO / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))  # make_models.py and reference.py live there


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with mlp.onnx, resnet_block.onnx and unsupported.onnx."""
    import onnx
    from make_models import make_mlp, make_resnet_block_model, make_unsupported_model

    folder = tmp_path_factory.mktemp("models")
    onnx.save(make_mlp(), folder / "mlp.onnx")
    onnx.save(make_resnet_block_model(), folder / "resnet_block.onnx")
    onnx.save(make_unsupported_model(), folder / "unsupported.onnx")
    return folder


@pytest.fixture(scope="session")
def ort_run() -> Callable[..., list[np.ndarray]]:
    """``ort_run(model_or_path, feeds) -> outputs`` with onnxruntime (skips if missing)."""
    ort = pytest.importorskip("onnxruntime")

    def run(model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        data = model if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
        if isinstance(data, os.PathLike):
            data = os.fspath(data)
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        return sess.run(None, feeds)

    return run


def _o3_pipeline(vector_bits: int) -> str:
    from xtvm.passes.registry import PIPELINES

    if not vector_bits:
        return PIPELINES["O3"]
    return PIPELINES["O3"].replace(
        "relay-alter-layout", f"relay-alter-layout{{vector-bits={vector_bits}}}"
    )


@pytest.fixture(scope="session")
def o3_pipeline() -> Callable[[int], str]:
    """``o3_pipeline(vector_bits)``: the -O3 pipeline with ``relay-alter-layout`` blocking
    for ``vector_bits``-wide vectors (0: the host's)."""
    return _o3_pipeline


@pytest.fixture(scope="session")
def o3_check(ort_run: Callable[..., list[np.ndarray]]) -> Callable[..., str]:
    """``o3_check(model, feeds, vector_bits) -> relay IR``: build with -O3 (blocking for
    ``vector_bits``), compare every output with onnxruntime (rtol = atol = 1e-4)."""
    import xtvm

    def check(model, feeds: dict[str, np.ndarray], vector_bits: int) -> str:
        mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
        lib = xtvm.build(mod, pipeline=_o3_pipeline(vector_bits))
        got = lib.run(feeds)
        want = ort_run(model, feeds)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
        return lib.get_source("relay")

    return check
