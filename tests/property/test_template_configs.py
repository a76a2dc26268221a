"""Every point of an x86 template's config space computes the same result: hypothesis picks
random configs (``space.get(index)``) of a small dense with an epilogue, a batch_matmul and
a blocked conv2d, builds and runs them, and compares with numpy."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # shared helpers

from test_x86_conv2d import AVX2, run_conv  # noqa: E402
from test_x86_dense import CFG, make_kernel, pack, run  # noqa: E402

from xtvm.autotune.space import ConfigSpace  # noqa: E402
from xtvm.topi import nn  # noqa: E402
from xtvm.topi.builder import Tensor  # noqa: E402

RNG = np.random.default_rng(1)
SETTINGS = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)


def dense_relu(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    return nn.relu(nn.add(nn.dense_pack(x, w), b))


# 13 rows (ragged row tiles for most tile_m), K = 40 (tile_k 20), two 16-wide panels
M, N, K, BN = 13, 32, 40, 16
X = RNG.standard_normal((M, K)).astype(np.float32)
W = RNG.standard_normal((N, K)).astype(np.float32)
B = RNG.standard_normal((N,)).astype(np.float32)
DENSE_SHAPES = [X.shape, (N // BN, K, BN), B.shape]
DENSE_SPACE = ConfigSpace()
make_kernel(DENSE_SHAPES, dense_relu, replace(CFG, knobs=DENSE_SPACE))

A3 = RNG.standard_normal((2, 9, 32)).astype(np.float32)
B3 = RNG.standard_normal((2, 32, 24)).astype(np.float32)
MM_SPACE = ConfigSpace()
make_kernel([A3.shape, B3.shape], nn.batch_matmul, replace(CFG, knobs=MM_SPACE))

CONV = dict(c=32, o=16, size=(3, 5), epilogue="bias_relu")
CONV_SPACE = ConfigSpace()
run_conv(**CONV, cfg=replace(AVX2, knobs=CONV_SPACE), run=False)


@SETTINGS
@given(st.integers(0, len(DENSE_SPACE) - 1))
def test_dense_configs_match_numpy(index: int) -> None:
    cfg = replace(CFG, knobs=DENSE_SPACE.get(index))
    got = run(make_kernel(DENSE_SHAPES, dense_relu, cfg), [X, pack(W, BN), B])
    np.testing.assert_allclose(got, np.maximum(X @ W.T + B, 0), rtol=1e-4, atol=1e-4)


@SETTINGS
@given(st.integers(0, len(MM_SPACE) - 1))
def test_batch_matmul_configs_match_numpy(index: int) -> None:
    cfg = replace(CFG, knobs=MM_SPACE.get(index))
    got = run(make_kernel([A3.shape, B3.shape], nn.batch_matmul, cfg), [A3, B3])
    np.testing.assert_allclose(got, A3 @ B3, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(st.integers(0, len(CONV_SPACE) - 1))
def test_conv2d_configs_match_numpy(index: int) -> None:
    run_conv(**CONV, cfg=replace(AVX2, knobs=CONV_SPACE.get(index)))  # compares with numpy
