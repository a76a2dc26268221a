"""Operator-specific CUDA schedules, looked up by the compute's ``tag`` (as ``x86.registry``).

An anchor schedule gets ``(schedule, anchor, epilogue or None, config)``: the epilogue is
the kernel output of the anchor's shape that reads it through inlined elementwise stages
(bias, activation, residual), which the schedule gives the thread structure and computes
the anchor inside, per thread; it returns the stages it scheduled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xtvm.topi.cuda.config import CudaScheduleConfig
    from xtvm.topi.schedule import Schedule, Stage

CudaSchedule = Callable[
    ["Schedule", "Stage", "Stage | None", "CudaScheduleConfig"], "Iterable[Stage] | None"
]

_SCHEDULES: dict[str, CudaSchedule] = {}


def register_cuda_schedule(*tags: str) -> Callable[[CudaSchedule], CudaSchedule]:
    """Decorator: ``fn`` schedules computes tagged with any of ``tags`` on CUDA."""

    def deco(fn: CudaSchedule) -> CudaSchedule:
        for t in tags:
            if t in _SCHEDULES:
                raise ValueError(f"duplicate cuda schedule for tag {t!r}")
            _SCHEDULES[t] = fn
        return fn

    return deco


def cuda_schedule_for(tag: str | None) -> CudaSchedule | None:
    return _SCHEDULES.get(tag) if tag else None
