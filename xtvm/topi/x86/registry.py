"""Operator-specific x86 schedules, looked up by the compute's ``tag``.

An *anchor* schedule gets the anchor stage (a dense, a convolution...) and, when the kernel
ends in an elementwise epilogue of the same shape that reads it (bias, batch-norm,
activation, residual add, fused and inlined by the default rules), that epilogue's output
stage: the schedule tiles the epilogue and computes the anchor's tile inside it, so the
epilogue runs on register-resident results instead of a second pass over memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xtvm.topi.schedule import Schedule, Stage
    from xtvm.topi.x86.default import DefaultScheduleConfig

AnchorSchedule = Callable[
    ["Schedule", "Stage", "Stage | None", "DefaultScheduleConfig"], "Iterable[Stage] | None"
]
"""``(schedule, anchor, epilogue or None, config)``; ``epilogue`` is a kernel output. It may
return further stages it scheduled, which the default rules then leave alone."""

_SCHEDULES: dict[str, AnchorSchedule] = {}
_KEPT: set[str] = set()


def register_schedule(*tags: str, keep: bool = False) -> Callable[[AnchorSchedule], AnchorSchedule]:
    """Decorator: ``fn`` schedules computes tagged with any of ``tags``. With ``keep`` such a
    compute is an anchor even when elementwise: it keeps its own buffer (the default rules
    do not inline it) and ``fn`` runs whether or not an epilogue follows."""

    def deco(fn: AnchorSchedule) -> AnchorSchedule:
        for t in tags:
            if t in _SCHEDULES:
                raise ValueError(f"duplicate x86 schedule for tag {t!r}")
            _SCHEDULES[t] = fn
            if keep:
                _KEPT.add(t)
        return fn

    return deco


def schedule_for(tag: str | None) -> AnchorSchedule | None:
    return _SCHEDULES.get(tag) if tag else None


def keeps_buffer(tag: str | None) -> bool:
    """Whether computes tagged ``tag`` are registered with ``keep``."""
    return tag in _KEPT
