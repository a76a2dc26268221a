"""Build a one-kernel te module with the default CUDA schedule, lower it, run it on the CPU."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp, f32

from xtvm.backends.interpreter import run_prim_func
from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import LaunchConfig, launch_config
from xtvm.lowering.te_to_tir.kernel import lower_kernel
from xtvm.lowering.te_to_tir.schedule import interpret_schedule
from xtvm.topi.builder import KernelBuilder, Tensor
from xtvm.topi.x86 import DefaultScheduleConfig, apply_default_schedule


def lower_cuda(
    shapes: Sequence[tuple[int, ...]], body: Callable[..., Tensor], knobs: object = None
) -> tuple[ModuleOp, tir.PrimFuncOp]:
    """The kernel ``body(*placeholders)`` scheduled for cuda and lowered to tir (verified)."""
    kb = KernelBuilder("k")
    args = [kb.placeholder(s, f32, f"p{n}") for n, s in enumerate(shapes)]
    kb.output(body(*args))
    kernel = kb.finish()
    apply_default_schedule(kernel, DefaultScheduleConfig(device="cuda", knobs=knobs))
    func = lower_kernel(kernel, interpret_schedule(kernel))
    module = ModuleOp([func])
    module.verify()
    return module, func


def run_cuda(
    shapes: Sequence[tuple[int, ...]],
    body: Callable[..., Tensor],
    arrays: Sequence[np.ndarray],
    knobs: object = None,
) -> tuple[np.ndarray, LaunchConfig]:
    """Lower, check the launch configuration exists, interpret; the output and the config."""
    module, func = lower_cuda(shapes, body, knobs)
    cfg = launch_config(func)
    assert cfg is not None, "no thread loops: not a GPU kernel"
    out_t = func.function_type.inputs.data[-1]
    out = np.full(tuple(out_t.get_shape()), np.nan, np.float32)  # type: ignore[attr-defined]
    run_prim_func(module, "k", [*arrays, out])
    return out, cfg
