"""GPU schedules the te -> tir lowering refuses, each with a one-line CompileError."""

from __future__ import annotations

import pytest
from xdsl.dialects.builtin import f32

from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.kernel import lower_kernel
from xtvm.lowering.te_to_tir.schedule import interpret_schedule
from xtvm.topi import nn
from xtvm.topi.builder import KernelBuilder
from xtvm.topi.schedule import Schedule, Stage


def dense_kernel():
    kb = KernelBuilder("k")
    x = kb.placeholder((8, 4), f32, "x")
    w = kb.placeholder((8, 4), f32, "w")
    kb.output(nn.dense(x, w))
    kernel = kb.finish()
    s = Schedule(kernel)
    return kernel, s, s.stage(kernel.computes[0])


def lower(kernel) -> None:
    lower_kernel(kernel, interpret_schedule(kernel))


def test_reduction_axis_bound_to_a_block_is_refused() -> None:
    kernel, _, st = dense_kernel()
    with pytest.raises(ValueError, match="cannot bind a reduction axis to blockIdx.x"):
        st.bind(st.reduce_axes[0], "blockIdx.x")


def test_shared_cache_outside_the_grid_is_refused() -> None:
    kernel, s, st = dense_kernel()
    s.cache_read("x", "shared")
    st.bind(st.axes[0], "threadIdx.x")
    with pytest.raises(CompileError, match="a shared cache must be computed at an axis"):
        lower(kernel)


def test_inner_stage_with_more_threads_than_the_block_is_refused() -> None:
    kernel, s, st = dense_kernel()
    local: Stage = st.cache_write("local")
    i, j = st.axes
    st.bind(i, "blockIdx.x")
    st.bind(j, "threadIdx.x")  # 8 threads
    local.compute_at(st, j)
    ko, _ = local.split(local.reduce_axes[0], 4)
    cache = s.cache_read("w", "shared")
    cache.compute_at(local, ko)
    _, t = cache.split(cache.fuse(*cache.axes), 16)  # the 8 x 4 tile by 16 threads
    cache.bind(t, "threadIdx.x")
    with pytest.raises(CompileError, match="threadIdx.x extent .* exceeds the enclosing"):
        lower(kernel)
