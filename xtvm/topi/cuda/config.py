"""Knobs of the CUDA schedules: the defaults are one point of each template's space."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CudaScheduleConfig:
    """What the GPU schedules may assume, and the tuner's choices (``knobs``)."""

    threads_per_block: int = 256
    """Threads of a block for elementwise and row kernels (a multiple of the 32-lane warp)."""
    max_threads_per_block: int = 1024
    shared_bytes: int = 48 * 1024
    inline_injective: bool = True
    operator_schedules: bool = True
    knobs: Any = field(default=None, compare=False, hash=False)

    def tuning(self) -> Any:
        """The knobs object templates ask for their choices (defaults when untuned)."""
        if self.knobs is None:
            from xtvm.autotune.space import FALLBACK

            return FALLBACK
        return self.knobs
