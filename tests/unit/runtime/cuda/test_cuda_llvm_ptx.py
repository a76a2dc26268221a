"""PTX as the compiler emits it (LLVM's NVPTX back end) is accepted by the runtime's plan
checks, survives export and load, and assembles with ptxas."""

from __future__ import annotations

import pytest

import xtvm.runtime
from xtvm.backends.cuda.ptx import emit_ptx, find_ptxas, ptxas_check
from xtvm.backends.llvm.target import Target
from xtvm.errors import ModelError
from xtvm.runtime.cuda import CudaModule

# y[tid] = x[tid] * w[tid] over 256 threads, pointers in the global address space
KERNEL_IR = """
define void @mul_w(ptr addrspace(1) %x, ptr addrspace(1) %w, ptr addrspace(1) %y) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %px = getelementptr float, ptr addrspace(1) %x, i32 %t
  %pw = getelementptr float, ptr addrspace(1) %w, i32 %t
  %py = getelementptr float, ptr addrspace(1) %y, i32 %t
  %a = load float, ptr addrspace(1) %px
  %b = load float, ptr addrspace(1) %pw
  %c = fmul float %a, %b
  store float %c, ptr addrspace(1) %py
  ret void
}
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
!nvvm.annotations = !{!0}
!0 = !{ptr @mul_w, !"kernel", i32 1}
"""


def _metadata(arch: str) -> dict:
    tensor = {"shape": [256], "dtype": "float32"}
    return {
        "inputs": [{"name": "x", **tensor}],
        "outputs": [{"name": "y", **tensor}],
        "workspace_bytes": 0,
        "target": {"triple": "nvptx64-nvidia-cuda", "cpu": arch, "features": ""},
        "device": "cuda",
        "launches": [
            {
                "kernel": "mul_w",
                "grid": [1, 1, 1],
                "block": [256, 1, 1],
                "shared_bytes": 0,
                "args": [
                    {"kind": "input", "index": 0, "offset": 0},
                    {"kind": "constant", "index": 0, "offset": 0},
                    {"kind": "output", "index": 0, "offset": 0},
                ],
            }
        ],
        "constants": [{"name": "w", "offset": 0, "nbytes": 1024, **tensor}],
    }


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_llvm_ptx_through_the_runtime(tmp_path, arch: str) -> None:
    ptx = emit_ptx(KERNEL_IR, Target.cuda(arch))
    m = CudaModule(ptx, _metadata(arch), bytes(1024))
    assert m.plan.launches[0].kernel == "mul_w"
    m.export_library(str(tmp_path / "k.so"))
    loaded = xtvm.runtime.load(tmp_path / "k.so")
    assert loaded.ptx == ptx
    if find_ptxas() is not None:
        ptxas_check(loaded.ptx, arch)


def test_llvm_ptx_with_a_wrong_plan() -> None:
    ptx = emit_ptx(KERNEL_IR, Target.cuda("sm_80"))
    meta = _metadata("sm_80")
    meta["launches"][0]["args"].pop()
    with pytest.raises(ModelError, match="kernel 'mul_w' takes 3 parameters"):
        CudaModule(ptx, meta, bytes(1024))
