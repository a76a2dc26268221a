"""Cross-compilation targets: parsing, default CPUs and features, and vector widths and
register counts that come from the target, never from the host."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

import xtvm
import xtvm.backends.llvm.target as target_mod
from xtvm.backends.llvm import Target
from xtvm.driver.compile import specialize_for_target
from xtvm.errors import CompileError
from xtvm.passes.registry import parse_pipeline, pipeline_for_opt_level
from xtvm.topi.x86 import DefaultScheduleConfig

AARCH64 = ("aarch64-linux-gnu", "aarch64-unknown-linux-gnu")
RISCV64 = ("riscv64-linux-gnu", "riscv64-unknown-linux-gnu")
X86_FEATURES = ("avx", "sse", "fma", "x86", "64bit")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cross_models import conv_relu_gemm  # noqa: E402


@pytest.fixture(scope="module")
def tiny_conv_model():
    return xtvm.from_onnx(conv_relu_gemm())


@pytest.mark.parametrize("triple", AARCH64)
def test_aarch64_defaults_are_neon_not_host(triple):
    t = Target.from_string(f"llvm -mtriple={triple}")
    assert (t.triple, t.cpu, t.features) == (triple, "generic", "+neon")
    assert not t.is_host
    assert t.vector_width_bits == 128 and t.vector_lanes(32) == 4 and t.vector_lanes(16) == 8
    assert t.vector_registers == 32
    assert not any(f in t.features for f in X86_FEATURES)


@pytest.mark.parametrize("triple", RISCV64)
def test_riscv64_defaults_are_rv64gcv(triple):
    t = Target.from_string(f"llvm -mtriple={triple}")
    assert t.cpu == "generic-rv64"
    assert set(t.features.split(",")) == {"+m", "+a", "+f", "+d", "+c", "+v"}
    assert t.has_vector_unit and t.vector_width_bits == 128 and t.vector_registers == 32
    assert not t.is_host


def test_riscv64_vlen_and_scalar():
    wide = Target.from_string("llvm -mtriple=riscv64-linux-gnu -mattr=+m,+a,+f,+d,+c,+v,+zvl256b")
    assert wide.vector_width_bits == 256 and wide.vector_lanes(32) == 8
    scalar = Target.from_string("llvm -mtriple=riscv64-linux-gnu -mattr=+m,+a,+f,+d,+c")
    assert scalar.cpu == "generic-rv64" and not scalar.has_vector_unit
    # planned as 4-lane vectors that LLVM scalarizes: 32 FP registers are 8 such vectors
    assert scalar.vector_width_bits == target_mod.SCALAR_BITS and scalar.vector_registers == 8


def test_explicit_cpu_and_round_trip():
    t = Target.from_string("llvm -mtriple=aarch64-linux-gnu -mcpu=neoverse-n1 -opt-level=2")
    assert (t.cpu, t.features, t.opt_level) == ("neoverse-n1", "", 2)
    assert t.has_vector_unit and t.vector_width_bits == 128  # every AArch64 core has NEON
    no_neon = Target.from_string("llvm -mtriple=aarch64-linux-gnu -mattr=-neon")
    assert not no_neon.has_vector_unit
    for text in ("llvm -mtriple=aarch64-linux-gnu", "llvm -mtriple=riscv64-linux-gnu"):
        t = Target.from_string(text)
        assert Target.from_string(str(t)) == t


def test_canonical_strings_differ_per_target():
    """``str(target)`` is part of the cache keys: every target must print differently."""
    texts = {
        str(Target.from_string(s))
        for s in (
            "llvm",
            "llvm -mtriple=aarch64-linux-gnu",
            "llvm -mtriple=riscv64-linux-gnu",
            "llvm -mtriple=riscv64-linux-gnu -mattr=+m,+a,+f,+d,+c",
        )
    }
    assert len(texts) == 4


def test_host_spelling_is_host():
    host = Target.host()
    arch = host.arch
    assert Target.from_string(f"llvm -mtriple={arch}-linux-gnu").is_host
    assert Target.from_string(f"llvm -mtriple={arch}-unknown-linux-gnu").features == host.features


def test_unknown_triple_is_a_compile_error():
    with pytest.raises(CompileError, match="unknown target triple"):
        Target.from_string("llvm -mtriple=sparc99-linux-gnu")


def test_pipeline_options_come_from_the_target():
    passes = parse_pipeline(pipeline_for_opt_level(3))
    for text, bits, regs in (
        ("llvm -mtriple=aarch64-linux-gnu", 128, 32),
        ("llvm -mtriple=riscv64-linux-gnu -mattr=+m,+a,+f,+d,+c,+v,+zvl256b", 256, 32),
        ("llvm -mcpu=haswell", 256, 16),
        ("llvm -mcpu=skylake-avx512", 512, 32),
    ):
        options = {}
        for p in specialize_for_target(passes, Target.from_string(text)):
            for f in dataclasses.fields(p):
                if f.name in ("vector_bits", "vector_registers", "lanes"):
                    options[f"{p.name}.{f.name}"] = getattr(p, f.name)
        assert options["convert-relay-to-te.vector_bits"] == bits, text
        assert options["convert-relay-to-te.vector_registers"] == regs, text
        assert options["tir-vectorize.lanes"] == bits // 32, text


def test_schedule_config_for_target():
    cfg = DefaultScheduleConfig.for_target(Target.from_string("llvm -mtriple=aarch64-linux-gnu"))
    assert cfg.registers() == 32 and cfg.vector_bits == 128
    assert DefaultScheduleConfig(vector_bits=128).registers() == 16  # the x86 SSE rule


def _fake_host(monkeypatch: pytest.MonkeyPatch, cpu: str, features: str) -> None:
    from xtvm.topi.x86 import default

    monkeypatch.setattr(
        target_mod, "_host_info", lambda: ("x86_64-unknown-linux-gnu", cpu, features)
    )
    monkeypatch.setattr(default, "host_vector_bits", lambda: 512 if "512" in cpu else 128)


def test_cross_build_ignores_the_host(monkeypatch, tiny_conv_model):
    """The aarch64 code of a model is the same whatever machine builds it."""

    def llvm_ir() -> str:
        lib = xtvm.build(tiny_conv_model, target="llvm -mtriple=aarch64-linux-gnu", cache=False)
        return lib.get_source("ll")

    _fake_host(monkeypatch, "skylake-avx512", "+avx512f,+avx2,+avx,+fma")
    wide = llvm_ir()
    _fake_host(monkeypatch, "x86-64", "+sse2")
    narrow = llvm_ir()
    assert wide == narrow
    assert "<4 x float>" in wide and "<16 x float>" not in wide
