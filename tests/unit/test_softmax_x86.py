"""Softmax on x86: each exponential is computed once (the ``softmax_exp`` stage keeps a
buffer), the row statistics sit in the row loops, and results match numpy for last and
other axes, with and without an elementwise epilogue in the kernel."""

from __future__ import annotations

import math
from collections.abc import Callable
from io import StringIO

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from xdsl.dialects import math as mathd
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer

import xtvm
from xtvm.context import make_context
from xtvm.dialects import te, tir
from xtvm.driver.compile import run_pipeline
from xtvm.passes.registry import parse_pipeline, pipeline_for_opt_level
from xtvm.topi import nn
from xtvm.topi.builder import KernelBuilder, Tensor
from xtvm.topi.x86 import DefaultScheduleConfig, apply_default_schedule

RNG = np.random.default_rng(11)
O3 = pipeline_for_opt_level(3)
TE_TO_LLVM = O3[O3.index("convert-te-to-tir") :]
TO_SCALAR_TIR = O3[: O3.index("tir-vectorize")].rstrip(",")  # loops before widening


def softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_model(shape: tuple[int, ...], axis: int) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], axis=axis)],
        "softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


# -- numerics through the whole compiler ------------------------------------------------------

SHAPES = [
    ((2, 3), -1),  # rows shorter than a vector
    ((4, 7), -1),
    ((3, 128), -1),
    ((2, 5, 100), -1),  # a row of whole vectors plus a shorter one
    ((2, 3, 4, 37), -1),
    ((12, 128, 128), -1),  # BERT attention scores: parallel rows
    ((64, 1000), -1),
    ((9,), 0),  # one row
    ((2, 50, 16), 1),  # other axes: the default rules
    ((3, 4, 5), 0),
    ((2, 8, 6, 6), 1),
]


@pytest.mark.parametrize("shape,axis", SHAPES)
def test_softmax_matches_numpy(shape: tuple[int, ...], axis: int) -> None:
    x = (RNG.standard_normal(shape) * 4).astype(np.float32)
    lib = xtvm.build(xtvm.from_onnx(softmax_model(shape, axis), {"x": shape}))
    np.testing.assert_allclose(lib(x=x), softmax_ref(x, axis), rtol=1e-5, atol=1e-7)


def test_masked_and_large_rows() -> None:
    """-inf entries (attention masks) give exact zeros; rows of large values stay finite."""
    shape = (6, 48)
    x = RNG.standard_normal(shape).astype(np.float32)
    x[0, ::3] = -np.inf
    x[1] += 80.0
    x[2] -= 80.0
    lib = xtvm.build(xtvm.from_onnx(softmax_model(shape, -1), {"x": shape}))
    y = lib(x=x)
    assert np.all(y[0, ::3] == 0.0)
    np.testing.assert_allclose(y, softmax_ref(x, -1), rtol=1e-5, atol=1e-7)


# -- exp once per element ---------------------------------------------------------------------


def trip_count(loop: tir.ForOp) -> int:
    bounds = []
    for v in (loop.lb, loop.ub, loop.step):
        owner = v.owner
        assert isinstance(owner, Operation) and owner.name == "arith.constant", "non-constant"
        bounds.append(owner.value.value.data)  # type: ignore[attr-defined]
    lb, ub, step = bounds
    return max(0, -(-(ub - lb) // step))


def exp_evaluations(module: ModuleOp) -> int:
    """How many times the kernels' scalar loops evaluate ``math.exp``."""
    total = 0
    for op in module.walk():
        if not isinstance(op, mathd.ExpOp):
            continue
        n, parent = 1, op.parent_op()
        while parent is not None and not isinstance(parent, tir.PrimFuncOp):
            if isinstance(parent, tir.ForOp):
                n *= trip_count(parent)
            parent = parent.parent_op()
        total += n
    return total


@pytest.mark.parametrize("shape,axis", [((12, 128, 128), -1), ((5, 33), -1), ((2, 50, 16), 1)])
def test_exp_evaluated_once_per_element(shape: tuple[int, ...], axis: int) -> None:
    module = xtvm.from_onnx(softmax_model(shape, axis), {"x": shape})
    run_pipeline(module, parse_pipeline(TO_SCALAR_TIR), keep_ir=False)
    assert exp_evaluations(module) == math.prod(shape)


def test_last_axis_kernel_is_two_parallel_row_passes_of_vector_code() -> None:
    shape = (12, 128, 128)
    lib = xtvm.build(xtvm.from_onnx(softmax_model(shape, -1), {"x": shape}))
    tir_text = lib.get_source("tir")
    assert tir_text.count("kind(parallel)") == 2  # max + exp, then sum + scaling
    assert "kind(vectorized)" not in tir_text
    assert tir_text.count("vector.reduction <maximumf>") == 1
    assert tir_text.count("vector.reduction <add>") == 1
    ll = lib.get_source("ll")
    assert "expf" not in ll and "llvm.exp.f32" not in ll  # inline vector exp, not per lane


# -- the schedule, and an epilogue fused into the kernel ----------------------------------------


def kernel_of(
    shape: tuple[int, ...], body: Callable[[Tensor], Tensor], cfg: DefaultScheduleConfig
) -> te.KernelOp:
    kb = KernelBuilder("k")
    kb.output(body(kb.placeholder(shape, f32, "x")))
    kernel = kb.finish()
    apply_default_schedule(kernel, cfg)
    kernel.verify()
    return kernel


def run_kernel(kernel: te.KernelOp, x: np.ndarray) -> np.ndarray:
    io = StringIO()
    Printer(io).print_op(kernel)
    t = f"tensor<{'x'.join(map(str, x.shape))}xf32>"
    text = f"""builtin.module {{
{io.getvalue()}
func.func @main(%x: {t}) -> {t} {{
  %r = te.call @k(%x) : ({t}) -> {t}
  func.return %r : {t}
}}
}}"""
    module = Parser(make_context(), text).parse_module()
    out = xtvm.build(module, pipeline=TE_TO_LLVM)(x)
    return out[0] if isinstance(out, list | tuple) else out


def stage_names(kernel: te.KernelOp, op_type: type) -> list[str]:
    sched = kernel.schedule
    assert sched is not None
    return [o.stage.owner.stage_name.data for o in sched.block.ops if isinstance(o, op_type)]


EPILOGUE_CFG = DefaultScheduleConfig(min_parallel_work=0)


def test_epilogue_fuses_and_reads_the_stored_exponentials() -> None:
    shape = (6, 40)

    def body(x: Tensor) -> Tensor:
        s = nn.softmax(x, -1)
        return x.builder.compute(shape, lambda i, j: s[i, j] * 3.0 + 1.0, "epi")

    kernel = kernel_of(shape, body, EPILOGUE_CFG)
    assert stage_names(kernel, te.ComputeInlineOp) == ["softmax"]  # into the epilogue
    assert stage_names(kernel, te.ComputeAtOp) == ["softmax_max", "softmax_sum"]
    assert sum(isinstance(o, mathd.ExpOp) for o in kernel.walk()) == 1
    x = (RNG.standard_normal(shape) * 3).astype(np.float32)
    np.testing.assert_allclose(run_kernel(kernel, x), softmax_ref(x, -1) * 3 + 1, rtol=1e-5)


def test_without_operator_schedules_exp_is_inlined_and_still_correct() -> None:
    shape = (4, 24)
    cfg = DefaultScheduleConfig(operator_schedules=False, min_parallel_work=0)
    kernel = kernel_of(shape, lambda x: nn.softmax(x, -1), cfg)
    assert stage_names(kernel, te.ComputeInlineOp) == ["softmax_exp"]
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(run_kernel(kernel, x), softmax_ref(x, -1), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(7, 19), (3, 2, 64)])
def test_parallel_rows_match_numpy(shape: tuple[int, ...]) -> None:
    kernel = kernel_of(shape, lambda x: nn.softmax(x, -1), EPILOGUE_CFG)
    assert len([o for o in kernel.walk() if isinstance(o, te.ParallelOp)]) == 2
    x = (RNG.standard_normal(shape) * 5).astype(np.float32)
    np.testing.assert_allclose(run_kernel(kernel, x), softmax_ref(x, -1), rtol=1e-5, atol=1e-7)
