"""x86 register-blocked GEMM schedules (dense_pack, batch_matmul) against numpy."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import numpy as np
import pytest
from xdsl.dialects.builtin import f32
from xdsl.parser import Parser
from xdsl.printer import Printer

import xtvm
from xtvm.context import make_context
from xtvm.dialects.te import CacheWriteOp, ComputeAtOp, KernelOp, UnrollOp, VectorizeOp
from xtvm.topi import nn
from xtvm.topi.builder import KernelBuilder, Tensor
from xtvm.topi.x86 import DefaultScheduleConfig, apply_default_schedule

RNG = np.random.default_rng(0)
PIPELINE = "convert-te-to-tir,tir-simplify,tir-vectorize,convert-tir-to-llvm"


def ttype(shape: tuple[int, ...]) -> str:
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def make_kernel(
    shapes: list[tuple[int, ...]], body: Callable[..., Tensor], cfg: DefaultScheduleConfig
) -> KernelOp:
    kb = KernelBuilder("k")
    args = [kb.placeholder(s, f32, f"p{n}") for n, s in enumerate(shapes)]
    kb.output(body(*args))
    kernel = kb.finish()
    apply_default_schedule(kernel, cfg)
    return kernel


def run(kernel: KernelOp, arrays: list[np.ndarray]) -> np.ndarray:
    io = StringIO()
    Printer(io).print_op(kernel)
    out_t = ttype(tuple(kernel.return_op.values[0].type.get_shape()))  # type: ignore[attr-defined]
    in_t = [ttype(a.shape) for a in arrays]
    params = ", ".join(f"%a{n}: {t}" for n, t in enumerate(in_t))
    vals = ", ".join(f"%a{n}" for n in range(len(arrays)))
    text = f"""builtin.module {{
{io.getvalue()}
func.func @main({params}) -> {out_t} {{
  %r = te.call @k({vals}) : ({", ".join(in_t)}) -> {out_t}
  func.return %r : {out_t}
}}
}}"""
    module = Parser(make_context(), text).parse_module()
    out = xtvm.build(module, pipeline=PIPELINE)(*arrays)
    return out[0] if isinstance(out, list | tuple) else out


def pack(w: np.ndarray, bn: int) -> np.ndarray:
    n, k = w.shape
    return np.ascontiguousarray(w.reshape(n // bn, bn, k).transpose(0, 2, 1))


def ops(kernel: KernelOp, cls: type) -> list:
    return [op for op in kernel.walk() if isinstance(op, cls)]


CFG = DefaultScheduleConfig(vector_bits=256, min_parallel_work=1)


@pytest.mark.parametrize(
    ("m", "n", "k", "bn", "epilogue"),
    [
        (12, 32, 20, 16, False),  # whole row tiles
        (13, 32, 7, 16, True),  # a ragged last row tile, bias + relu epilogue
        (1, 16, 33, 8, True),  # one row (a classifier)
        (5, 24, 9, 8, False),  # three 8-wide panels
    ],
)
def test_dense_pack(m: int, n: int, k: int, bn: int, epilogue: bool) -> None:
    x = RNG.standard_normal((m, k)).astype(np.float32)
    w = RNG.standard_normal((n, k)).astype(np.float32)
    b = RNG.standard_normal((n,)).astype(np.float32)

    def body(xt: Tensor, wt: Tensor, bt: Tensor) -> Tensor:
        d = nn.dense_pack(xt, wt)
        return nn.relu(nn.add(d, bt)) if epilogue else d

    kernel = make_kernel([x.shape, (n // bn, k, bn), b.shape], body, CFG)
    # the accumulators are a local tile: cache_write (no epilogue) or computed at the
    # epilogue's tile, with unrolled rows and vectorized lanes
    assert len(ops(kernel, CacheWriteOp)) == (0 if epilogue else 1)
    assert len(ops(kernel, ComputeAtOp)) == 1
    assert ops(kernel, UnrollOp) and ops(kernel, VectorizeOp)
    got = run(kernel, [x, pack(w, bn), b])
    ref = x @ w.T
    if epilogue:
        ref = np.maximum(ref + b, 0)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "epilogue"),
    [
        ((2, 7, 5), (2, 5, 16), False),
        ((3, 6, 12), (12, 32), True),  # a broadcast rhs
        ((2, 4, 3), (2, 3, 6), False),  # 6 columns: not whole vectors, default rules
    ],
)
def test_batch_matmul(a_shape: tuple, b_shape: tuple, epilogue: bool) -> None:
    a = RNG.standard_normal(a_shape).astype(np.float32)
    b = RNG.standard_normal(b_shape).astype(np.float32)

    def body(at: Tensor, bt: Tensor) -> Tensor:
        d = nn.batch_matmul(at, bt)
        return nn.sigmoid_(d) if epilogue else d

    kernel = make_kernel([a.shape, b.shape], body, CFG)
    got = run(kernel, [a, b])
    ref = a @ b
    if epilogue:
        ref = 1 / (1 + np.exp(-ref))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
