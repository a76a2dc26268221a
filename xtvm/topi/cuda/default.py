"""The default CUDA schedule of a kernel: which stages keep buffers, and their threads.

Injective stages that are not outputs are inlined into their readers (paddings too: a
kept one would be a launch of its own); an
anchor with a registered CUDA schedule (dense, batch_matmul, conv2d) gets it, with its
elementwise epilogue; every other kept stage is bound one output element per thread (a
reduction running its loops inside the thread). Every kept stage is a separate phase of
the kernel over its own grid, reading the others' results from global memory: the code
generator launches each such phase on its own (``tir_to_nvvm/split_kernels.py``).
"""

from __future__ import annotations

from xtvm.dialects.te import ComputeOp, KernelOp
from xtvm.topi.anchors import schedule_anchors
from xtvm.topi.cuda.config import CudaScheduleConfig
from xtvm.topi.cuda.reduction import schedule_reduction
from xtvm.topi.cuda.registry import cuda_schedule_for
from xtvm.topi.schedule import Schedule
from xtvm.topi.x86.default import _epilogue, _tag


def apply_cuda_schedule(kernel: KernelOp, config: CudaScheduleConfig | None = None) -> Schedule:
    """Write the default CUDA schedule into ``kernel`` (which must not have one yet)."""
    import xtvm.topi.cuda.conv2d  # noqa: F401 - registers the anchor schedules
    import xtvm.topi.cuda.dense  # noqa: F401

    if kernel.schedule is not None:
        raise ValueError(f"kernel {kernel.sym_name.data} already has a schedule")
    cfg = config or CudaScheduleConfig()
    s = Schedule(kernel)
    outputs = set(kernel.return_op.values)
    kept: list[ComputeOp] = []
    for c in kernel.computes:
        if cfg.inline_injective and c.reduce is None and c.result not in outputs:
            s.stage(c).compute_inline()
        else:
            kept.append(c)
    done: set[ComputeOp] = set()
    if cfg.operator_schedules:
        done = schedule_anchors(
            kernel, s, kept, cfg, lambda c: cuda_schedule_for(_tag(c)), lambda c: False, _epilogue
        )
    for c in kept:
        if c not in done:
            schedule_reduction(s.stage(c), cfg)
    return s
