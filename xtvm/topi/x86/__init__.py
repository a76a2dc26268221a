"""Default CPU (x86 and other SIMD hosts) schedules."""

from xtvm.topi.x86 import conv2d as _conv2d  # noqa: F401  (registers its schedules)
from xtvm.topi.x86 import dense as _dense  # noqa: F401  (registers its schedule)
from xtvm.topi.x86 import rnn as _rnn  # noqa: F401  (registers its schedule)
from xtvm.topi.x86 import softmax as _softmax  # noqa: F401  (registers its schedule)
from xtvm.topi.x86.default import (
    DefaultScheduleConfig,
    apply_default_schedule,
    host_vector_bits,
    schedule_stage,
    vector_factor,
)

__all__ = [
    "DefaultScheduleConfig",
    "apply_default_schedule",
    "host_vector_bits",
    "schedule_stage",
    "vector_factor",
]
