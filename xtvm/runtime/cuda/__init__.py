"""Run models compiled for NVIDIA GPUs through the CUDA driver API (ctypes on
``libcuda.so.1``): no CUDA toolkit and no Python package beyond numpy is needed.

``CudaModule(ptx, metadata, constants)`` is what the compiler builds and what
``xtvm.runtime.load`` returns for a library whose metadata says ``"device": "cuda"``.
"""

from xtvm.runtime.cuda.driver import CudaDriver, open_driver
from xtvm.runtime.cuda.interface import Driver
from xtvm.runtime.cuda.module import CudaModule, required_capability
from xtvm.runtime.cuda.plan import Plan, build_plan, check_plan, ptx_entries

__all__ = [
    "CudaDriver",
    "CudaModule",
    "Driver",
    "Plan",
    "build_plan",
    "check_plan",
    "open_driver",
    "ptx_entries",
    "required_capability",
]
