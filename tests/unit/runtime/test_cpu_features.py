"""CPU feature checks: /proc/cpuinfo parsing, what a -mcpu/-mattr needs, refusals."""

from __future__ import annotations

import os

import pytest

from xtvm.errors import IncompatibleLibraryError, ModelError
from xtvm.runtime import cpu_features
from xtvm.runtime.cpu_features import (
    check_cpu_features,
    missing_features,
    parse_cpuinfo,
    required_features,
)

X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu sse sse2 pni ssse3 fma sse4_1 sse4_2 popcnt avx f16c abm bmi1 avx2 bmi2 \
avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni sha_ni

processor\t: 1
flags\t\t: fpu sse
"""
AARCH64_CPUINFO = "processor : 0\nFeatures : fp asimd evtstrm aes crc32 atomics asimddp sve\n"
RISCV_CPUINFO = "processor : 0\nhart : 0\nisa : rv64imafdcv_zicsr_zifencei_zba\n"
X86 = "x86_64-unknown-linux-gnu"


def test_x86_flags_map_to_llvm_names() -> None:
    have = parse_cpuinfo(X86_CPUINFO, "x86_64")
    assert have is not None
    # the names differ between Linux and LLVM for these
    assert {"sse3", "sse4.1", "sse4.2", "lzcnt", "bmi", "sha", "avx512vnni"} <= have
    assert {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "fma", "f16c"} <= have
    assert "avx512fp16" not in have and "vaes" not in have
    # only the first processor's block is read
    assert parse_cpuinfo("flags : sse\n\nflags : avx2\n", "x86_64") == {"sse"}


def test_other_architectures_and_unreadable_text() -> None:
    assert parse_cpuinfo(AARCH64_CPUINFO, "aarch64") == {
        "fp-armv8",
        "neon",
        "aes",
        "crc",
        "lse",
        "dotprod",
        "sve",
    }
    assert parse_cpuinfo(RISCV_CPUINFO, "riscv64") == set("imafdcv")
    assert parse_cpuinfo("isa : rv64gc\n", "riscv64") == set("imafdc")
    assert parse_cpuinfo("isa : garbage!\n", "riscv64") is None
    assert parse_cpuinfo(X86_CPUINFO, "aarch64") is None  # no Features line
    assert parse_cpuinfo("", "x86_64") is None
    assert parse_cpuinfo(X86_CPUINFO, "wasm32") is None


def test_required_features_follow_cpu_and_mattr() -> None:
    assert "avx512f" in required_features("skylake-avx512", "")
    assert {"avx2", "fma"} <= required_features("haswell", "")
    assert required_features("generic", "+avx2,-avx512f") == {"avx2"}
    # turning a feature off drops what the CPU implies on top of it
    off = required_features("skylake-avx512", "-avx2")
    assert "avx2" not in off and "avx512f" not in off and "avx512bw" not in off
    assert "avx" in off and "sse4.2" in off
    assert required_features("icelake-server", "-avx512f").isdisjoint({"avx512f", "avx512vl"})


def test_missing_features_lists_only_checkable_ones() -> None:
    target = {"triple": X86, "cpu": "generic", "features": "+avx2,+avx512f,+avx512bw,+shstk"}
    assert missing_features(target, have={"avx2"}) == ["+avx512bw", "+avx512f"]
    # features the tables do not know (shstk) are never refused
    assert missing_features({**target, "features": "+shstk,+made-up"}, have=set()) == []
    assert missing_features({"triple": "aarch64-linux-gnu", "features": "+sve"}, {"neon"}) == [
        "+sve"
    ]
    # an architecture without a table: nothing can be checked, nothing is refused
    assert missing_features({"triple": "wasm32-unknown", "features": "+simd128"}, set()) == []


def test_check_refuses_with_the_feature_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_features, "host_features", lambda arch: frozenset({"sse", "avx2"}))
    meta = {"target": {"triple": X86, "cpu": "generic", "features": "+avx2,+avx512f"}}
    with pytest.raises(IncompatibleLibraryError, match=r"lacks: \+avx512f \(target cpu generic"):
        check_cpu_features(meta, "m.so")
    check_cpu_features({"target": {"triple": X86, "features": "+avx2"}}, "m.so")
    check_cpu_features({}, "old.so")  # built before targets were recorded: cannot check
    with pytest.raises(ModelError, match="malformed target"):
        check_cpu_features({"target": {"triple": X86, "features": 5}}, "m.so")


def test_unreadable_host_flags_refuse_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_features, "CPUINFO", "/nonexistent/cpuinfo")
    cpu_features.host_features.cache_clear()
    try:
        assert missing_features({"triple": X86, "features": "+avx512f,+amx-tile"}) == []
    finally:
        cpu_features.host_features.cache_clear()


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="needs Linux /proc/cpuinfo")
def test_host_target_is_never_refused_on_this_machine() -> None:
    """What LLVM detects on this machine must all be present per /proc/cpuinfo: a wrong
    entry in the tables would refuse every library built here."""
    from xtvm.backends.llvm.target import Target

    host = Target.host()
    target = {"triple": host.triple, "cpu": host.cpu, "features": host.features}
    assert missing_features(target) == []
    if cpu_features.arch_of(host.triple) == "x86_64":
        enabled = {f[1:] for f in host.features.split(",") if f.startswith("+")}
        checked = enabled & set(cpu_features.X86_FLAGS)
        assert len(checked) >= 5  # the check is real: it compared known features
        assert checked <= cpu_features.host_features("x86_64")
