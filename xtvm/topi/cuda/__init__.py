"""GPU (CUDA) schedules of the operator library, beside the x86 ones."""

from xtvm.topi.cuda.config import CudaScheduleConfig

__all__ = ["CudaScheduleConfig"]
