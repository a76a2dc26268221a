"""CUDA schedules: each produces a GPU kernel that verifies (thread extents, shared bytes)
and computes the right numbers when the reference interpreter runs its threads on the CPU
(thread loops in turn, or as Python threads meeting at the barriers)."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_schedule_helpers import lower_cuda, run_cuda

from xtvm.autotune.space import ConfigEntity, ConfigSpace
from xtvm.backends.interpreter import run_prim_func
from xtvm.dialects import tir, tir_gpu
from xtvm.dialects.tir_gpu import verify_gpu_kernel
from xtvm.topi import nn
from xtvm.topi.nn.norm import layer_norm

RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def count(func: tir.PrimFuncOp, cls: type) -> int:
    return sum(isinstance(op, cls) for op in func.walk())


def ref_conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    o, _, kh, kw = w.shape
    oh = (x.shape[2] - kh) // stride + 1
    ow = (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], o, oh, ow), np.float32)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out


def test_elementwise_is_coalesced_over_blocks() -> None:
    a, b = rand(3, 300), rand(300)
    out, cfg = run_cuda([a.shape, b.shape], lambda x, y: nn.relu(nn.add(x, y)), [a, b])
    np.testing.assert_allclose(out, np.maximum(a + b, 0), rtol=1e-6)
    assert cfg.block == {"threadIdx.x": 256} and cfg.grid == {"blockIdx.x": 4}
    assert cfg.shared_bytes == 0


@pytest.mark.parametrize(("m", "n", "k"), [(16, 16, 8), (9, 6, 5)])
def test_dense_shared_tiles_and_register_blocks(m: int, n: int, k: int) -> None:
    x, w = rand(m, k), rand(n, k)
    out, cfg = run_cuda([x.shape, w.shape], nn.dense, [x, w])
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-5, atol=1e-5)
    _, func = lower_cuda([x.shape, w.shape], nn.dense)
    assert count(func, tir.BarrierOp) == 2  # the tile is loaded, then read before reloading
    shared = [op for op in func.walk() if isinstance(op, tir.AllocOp) and op.scope.data == "shared"]
    assert len(shared) == 2
    assert cfg.shared_bytes == sum(tir.buffer_bytes(a.buffer.type) for a in shared)
    assert cfg.threads_per_block > 1


def test_dense_with_relu_epilogue() -> None:
    x, w = rand(8, 12), rand(10, 12)
    out, _ = run_cuda([x.shape, w.shape], lambda a, b: nn.relu(nn.dense(a, b)), [x, w])
    np.testing.assert_allclose(out, np.maximum(x @ w.T, 0), rtol=1e-5, atol=1e-5)


def test_batch_matmul_binds_batch_to_blocks() -> None:
    a, b = rand(2, 5, 4), rand(2, 4, 6)
    out, cfg = run_cuda([a.shape, b.shape], nn.batch_matmul, [a, b])
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)
    assert cfg.grid["blockIdx.z"] == 2


def test_conv2d_direct_with_padding() -> None:
    x, w = rand(1, 3, 5, 6), rand(4, 3, 3, 3)
    out, cfg = run_cuda(
        [x.shape, w.shape], lambda a, b: nn.conv2d_nchw(a, b, (1, 1), (1, 1, 1, 1)), [x, w]
    )
    np.testing.assert_allclose(out, ref_conv(x, w, 1, 1), rtol=1e-5, atol=1e-5)
    assert set(cfg.block) == {"threadIdx.x", "threadIdx.y", "threadIdx.z"}
    assert cfg.shared_bytes > 0


@pytest.mark.parametrize(
    ("rows", "cols", "one_block"), [(6, 20, True), (12, 40, False), (3, 70, False)]
)
def test_softmax_phases(rows: int, cols: int, one_block: bool) -> None:
    x = rand(rows, cols)
    module, func = lower_cuda([x.shape], lambda a: nn.softmax(a, 1))
    # small phases share one block and meet at barriers; with a grid they are launches
    assert any(isinstance(op, tir.BarrierOp) for op in func.block.ops) == one_block
    if one_block:
        out, cfg = run_cuda([x.shape], lambda a: nn.softmax(a, 1), [x])
        assert cfg.grid == {}
    else:
        verify_gpu_kernel(func)  # per launch: the code generator splits it at the grids
        assert any(tir_gpu.thread_tag(op) == "blockIdx.x" for op in func.walk())
        out = np.full(x.shape, np.nan, np.float32)
        run_prim_func(module, "k", [x, out])
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(1, keepdims=True), rtol=1e-5)


def test_long_rows_reduce_across_the_block() -> None:
    x = rand(3, 70)
    _, func = lower_cuda([x.shape], lambda a: nn.softmax(a, 1))
    verify_gpu_kernel(func)
    red = [op for op in func.walk() if isinstance(op, tir.AllocOp) and op.scope.data == "shared"]
    assert [tuple(a.buffer.type.get_shape()) for a in red] == [(64,), (64,)]  # one per row
    # a tree over 64 partial results: 6 halving steps, each ended by a barrier, plus one
    # after the partials are written, in each of the two reductions
    assert count(func, tir.BarrierOp) == 2 * 7


def test_layer_norm() -> None:
    x, g, b = rand(4, 16), rand(16), rand(16)
    out, _ = run_cuda(
        [x.shape, g.shape, b.shape], lambda a, s, t: layer_norm(a, s, t, 1, 1e-5), [x, g, b]
    )
    mu = x.mean(1, keepdims=True)
    ref = (x - mu) / np.sqrt(((x - mu) ** 2).mean(1, keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_max_pool() -> None:
    x = rand(1, 2, 6, 6)
    out, _ = run_cuda([x.shape], lambda a: nn.max_pool2d(a, (2, 2), (2, 2)), [x])
    np.testing.assert_allclose(out, x.reshape(1, 2, 3, 2, 3, 2).max(axis=(3, 5)))


def test_tuning_spaces_exist_and_defaults_are_in_them() -> None:
    space = ConfigSpace()
    lower_cuda([(64, 32), (48, 32)], nn.dense, knobs=space)
    assert {"ty", "tx", "rm", "rn", "bk", "unroll"} <= set(space.knobs)
    assert len(space) > 100
    conv = ConfigSpace()
    lower_cuda([(1, 8, 14, 14), (16, 8, 3, 3)], lambda a, b: nn.conv2d_nchw(a, b), knobs=conv)
    assert {"tf", "rf", "ty", "tx", "bc"} <= set(conv.knobs)
    for k in [*space.knobs.values(), *conv.knobs.values()]:
        assert k.default in k.candidates


def test_global_avg_pool_fuses_window_axes_for_the_block() -> None:
    x = rand(1, 3, 9, 9)  # 81 elements per output: a block-wide reduction over (h, w)
    out, _ = run_cuda([x.shape], nn.global_avg_pool2d, [x])
    np.testing.assert_allclose(out, x.mean(axis=(2, 3), keepdims=True), rtol=1e-5)


def test_conv2d_padded_tile_is_the_block_window_not_the_image() -> None:
    x, w = rand(1, 2, 6, 20), rand(1, 2, 3, 3)
    out, cfg = run_cuda(
        [x.shape, w.shape], lambda a, b: nn.conv2d_nchw(a, b, (1, 1), (1, 1, 1, 1)), [x, w]
    )
    np.testing.assert_allclose(out, ref_conv(x, w, 1, 1), rtol=1e-5, atol=1e-5)
    # the input tile is (4 + 2) x (16 + 2) for a 4 x 16 patch, not the 6 x 20 image
    assert cfg.shared_bytes == 4 * (2 * 6 * 18 + 1 * 2 * 9)


@pytest.mark.parametrize(
    "values",
    [
        {"ty": 4, "tx": 4, "rm": 2, "rn": 1, "bk": 4, "unroll": False},
        {"ty": 8, "tx": 4, "rm": 1, "rn": 8, "bk": 32},
    ],
)
def test_dense_other_points_of_the_space(values: dict) -> None:
    x, w = rand(12, 10), rand(9, 10)
    out, cfg = run_cuda([x.shape, w.shape], nn.dense, [x, w], ConfigEntity(None, values))
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-5, atol=1e-5)
    assert cfg.block["threadIdx.y"] == min(values["ty"], -(-12 // values["rm"]))
