"""Whole models through the whole stack, compared with onnxruntime (rtol 1e-4, atol 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
from make_models import make_mlp, make_resnet_block_model

import xtvm

MODELS = {
    "mlp": (make_mlp, {"x": (2, 16)}),
    "resnet_block": (make_resnet_block_model, {"x": (1, 3, 32, 32)}),
}


@pytest.fixture(scope="module")
def compiled():
    """``compiled(name, opt_level)`` builds each (model, level) once per module."""
    cache: dict[tuple[str, int], xtvm.CompiledModule] = {}

    def get(name: str, opt_level: int) -> xtvm.CompiledModule:
        if (name, opt_level) not in cache:
            make, shapes = MODELS[name]
            mod = xtvm.from_onnx(make(), shape_dict=shapes)
            cache[name, opt_level] = xtvm.build(mod, opt_level=opt_level)
        return cache[name, opt_level]

    return get


@pytest.mark.parametrize("opt_level", [3, 0], ids=["O3", "O0"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_onnxruntime(name: str, opt_level: int, compiled, ort_run) -> None:
    make, shapes = MODELS[name]
    lib = compiled(name, opt_level)
    rng = np.random.default_rng(11)
    for _ in range(2):  # a second call reuses the workspace: it must not leak state
        feeds = {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}
        got = lib.run(feeds)
        want = ort_run(make(), feeds)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_o0_makes_more_kernels_than_o3(name: str, compiled) -> None:
    """-O0 neither folds nor fuses, so it keeps more relay.fused groups than -O3."""
    o0 = compiled(name, 0).get_source("relay").count("relay.fused")
    o3 = compiled(name, 3).get_source("relay").count("relay.fused")
    assert o0 > o3 >= 1
