"""Every random template-free state of a random small dense, batched matmul or conv2d
(with or without an epilogue) builds and computes what numpy computes."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import f32

import xtvm
from xtvm.autotune.ansor.annotate import random_state
from xtvm.autotune.ansor.sketch import analyze, generate_sketches
from xtvm.autotune.dispatch import kernel_text
from xtvm.autotune.measure import candidate_module
from xtvm.autotune.task import split_at_te
from xtvm.backends.llvm import Target
from xtvm.topi import nn
from xtvm.topi.builder import KernelBuilder
from xtvm.topi.x86 import DefaultScheduleConfig

TARGET = Target.host()
CFG = DefaultScheduleConfig(vector_bits=TARGET.vector_width_bits, min_parallel_work=1)


@st.composite
def problems(draw):
    kind = draw(st.sampled_from(["dense", "matmul", "conv"]))
    relu = draw(st.booleans())
    if kind == "dense":
        m, k, n = draw(st.integers(1, 12)), draw(st.integers(1, 20)), draw(st.integers(1, 20))
        shapes = [(m, k), (n, k)]

        def ref(x, w):
            return x @ w.T

        body = nn.dense
    elif kind == "matmul":
        b, m, k, n = (draw(st.integers(1, 10)) for _ in range(4))
        shapes = [(b, m, k), (b, k, n)]
        ref, body = np.matmul, nn.batch_matmul
    else:
        c, o, hw, kk = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(3, 7)), 3
        pad = draw(st.sampled_from([0, 1]))
        shapes = [(1, c, hw, hw), (o, c, kk, kk)]

        def ref(x, w):
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            oh = xp.shape[2] - kk + 1
            out = np.zeros((1, o, oh, oh), np.float32)
            for ky in range(kk):
                for kx in range(kk):
                    patch = xp[:, :, ky : ky + oh, kx : kx + oh]
                    out += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
            return out

        def body(x, w):
            return nn.conv2d_nchw(x, w, padding=(pad, pad, pad, pad))

    seed = draw(st.integers(0, 1 << 16))
    return shapes, body, ref, relu, seed


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_states_compute_like_numpy(problem) -> None:
    shapes, body, ref, relu, seed = problem
    kb = KernelBuilder("k")
    args = [kb.placeholder(s, f32, f"p{n}") for n, s in enumerate(shapes)]
    out = body(*args)
    kb.output(nn.relu(out) if relu else out)
    kernel = kb.finish()
    rng = random.Random(seed)
    infos = analyze(kernel, CFG)
    sketch = rng.choice(generate_sketches(infos))
    state = random_state(sketch, {i.name: i for i in infos}, CFG, rng)
    arrays = [np.random.default_rng(seed).integers(-3, 4, s).astype(np.float32) for s in shapes]
    module = candidate_module(kernel_text(kernel), {"ansor": state}, TARGET)
    lib = xtvm.build(module, target=TARGET, pipeline=split_at_te()[1], cache=False)
    want = ref(*arrays)
    if relu:
        want = np.maximum(want, 0)
    np.testing.assert_allclose(lib(*arrays), want, rtol=1e-5, atol=1e-4, err_msg=str(state))
