"""The cuda target string, and PTX from a hand-written NVPTX kernel assembling for
every supported architecture (ptxas; skipped where CUDA is not installed)."""

from __future__ import annotations

import pytest

from xtvm.backends.cuda.arch import PTX_VERSION
from xtvm.backends.cuda.ptx import emit_ptx, find_ptxas, ptxas_check
from xtvm.backends.llvm import Target
from xtvm.errors import CompileError

needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")

KERNEL = r"""
@tile = internal addrspace(3) global [256 x float] undef, align 4
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
declare void @llvm.nvvm.barrier0()
define ptx_kernel void @copy(ptr addrspace(1) noalias %a, ptr addrspace(1) noalias %b) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %c = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %ti = zext i32 %t to i64
  %ci = zext i32 %c to i64
  %base = mul i64 %ci, 256
  %i = add i64 %base, %ti
  %p = getelementptr inbounds float, ptr addrspace(1) %a, i64 %i
  %v = load float, ptr addrspace(1) %p, align 4
  %s = getelementptr inbounds float, ptr addrspace(3) @tile, i64 %ti
  store float %v, ptr addrspace(3) %s, align 4
  call void @llvm.nvvm.barrier0()
  %r = sub i64 255, %ti
  %s2 = getelementptr inbounds float, ptr addrspace(3) @tile, i64 %r
  %w = load float, ptr addrspace(3) %s2, align 4
  %q = getelementptr inbounds float, ptr addrspace(1) %b, i64 %i
  store float %w, ptr addrspace(1) %q, align 4
  ret void
}
"""


def test_cuda_target_fields():
    t = Target.from_string("cuda")
    assert (t.triple, t.cpu, t.features) == ("nvptx64-nvidia-cuda", "sm_80", "+ptx70")
    assert t.kind == "cuda" and t.device == "cuda" and not t.is_host
    assert t.vector_lanes(32) == 1 and t.vector_lanes(64) == 1
    h = Target.from_string("cuda -arch=sm_90 -opt-level=2")
    assert (h.cpu, h.features, h.opt_level) == ("sm_90", "+ptx78", 2)
    assert Target.from_string(str(h)) == h
    assert Target.host().kind == "llvm" and Target.host().device == "cpu"


@pytest.mark.parametrize(
    "text",
    [
        "cuda -arch=sm_70",
        "cuda -arch=sm_72",
        "cuda -arch=80",
        "cuda -mcpu=sm_80",
        "cuda -opt-level=7",
    ],
)
def test_cuda_target_refused(text):
    with pytest.raises(CompileError) as err:
        Target.from_string(text)
    assert "\n" not in str(err.value) and repr(text) in str(err.value)


def test_ptx_has_kernel_entry_and_intrinsics():
    ptx = emit_ptx(KERNEL, Target.cuda("sm_80"))
    assert ".target sm_80" in ptx and ".version 7.0" in ptx
    assert ".visible .entry copy(" in ptx
    for needle in ("%tid.x", "%ctaid.x", "bar.sync", "ld.global", "st.shared", "ld.shared"):
        assert needle in ptx, needle


def test_emit_ptx_refuses_cpu_target():
    with pytest.raises(CompileError, match="cuda target"):
        emit_ptx(KERNEL, Target.host())


@needs_ptxas
@pytest.mark.parametrize("arch", list(PTX_VERSION))
def test_every_arch_assembles(arch):
    ptxas_check(emit_ptx(KERNEL, Target.cuda(arch)), arch)


@needs_ptxas
def test_ptxas_error_is_one_line():
    ptx = emit_ptx(KERNEL, Target.cuda("sm_80")).replace("bar.sync", "bar.bogus")
    with pytest.raises(CompileError) as err:
        ptxas_check(ptx, "sm_80")
    assert "ptxas -arch=sm_80 rejected the PTX" in str(err.value) and "\n" not in str(err.value)


def test_ptxas_missing(monkeypatch):
    monkeypatch.setenv("XTVM_PTXAS", "/nonexistent/ptxas")
    assert find_ptxas() is None
    with pytest.raises(CompileError, match="ptxas not found"):
        ptxas_check(".version 7.0\n", "sm_80")
