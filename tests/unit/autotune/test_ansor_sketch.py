"""Template-free sketches and random states: the sketch rules pick the expected structures
for a dense, a conv2d, a softmax and a row sum, and random states of every sketch build
and compute what the default schedule computes."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ansor_kernels import CFG, KERNELS, reference, run  # noqa: E402

from xtvm.autotune.ansor.annotate import random_state  # noqa: E402
from xtvm.autotune.ansor.sketch import analyze, generate_sketches  # noqa: E402


def sketch_ids(name: str) -> list[str]:
    return [s.id for s in generate_sketches(analyze(KERNELS[name](), CFG))]


def test_sketch_rules() -> None:
    # reuse (x does not depend on j, w not on i): multi-level tiling, the epilogue fused
    assert sketch_ids("dense_relu") == [
        "dense=fuse,add=inline",
        "dense=direct,add=inline,relu=plain",
    ]
    assert sketch_ids("dense") == ["dense=cache", "dense=direct"]
    assert sketch_ids("conv") == [
        "pad=inline,conv2d=fuse",
        "pad=inline,conv2d=direct,relu=plain",
    ]
    # no reuse, rows contiguous in the reduction: per-lane vectorized reductions first
    assert sketch_ids("rowsum") == ["reduce=rvec", "reduce=plain"]
    soft = sketch_ids("softmax")
    assert soft[0] == "softmax_max=rvec,softmax_exp=plain,softmax_sum=rvec,softmax=plain"
    assert 1 <= len(soft) <= 4


def test_reuse_analysis() -> None:
    infos = {i.name: i for i in analyze(KERNELS["conv"](), CFG)}
    assert infos["conv2d"].reuse and infos["conv2d"].epilogue == "relu"
    assert infos["pad"].inline and not infos["relu"].inline
    (row,) = analyze(KERNELS["rowsum"](), CFG)
    assert not row.reuse and row.reduce_contiguous


@pytest.mark.parametrize(("name", "per_sketch"), [("dense_relu", 1), ("conv", 1), ("softmax", 1)])
def test_random_states_compute_the_same(name: str, per_sketch: int) -> None:
    kernel, text, arrays, want = reference(name)
    infos = analyze(kernel, CFG)
    by = {i.name: i for i in infos}
    rng = random.Random(7)
    for sketch in generate_sketches(infos)[:2]:
        for _ in range(per_sketch):
            state = random_state(sketch, by, CFG, rng)
            got = run(text, {"ansor": state}, arrays)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=str(state))
