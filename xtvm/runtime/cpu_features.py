"""Which CPU features this machine has, in LLVM's names, to refuse code it cannot run.

A library compiled with ``-mattr=+avx512f`` (or ``-mcpu=skylake-avx512``) dies of SIGILL on a
CPU without AVX-512. Its metadata records the target it was compiled for (``"target":
{"triple", "cpu", "features"}``); ``missing_features`` compares that with what the kernel
reports in ``/proc/cpuinfo`` (llvmlite is not imported: the runtime must work without the
compiler). Only features in the tables below are checked; any other feature, and every
feature on a machine whose flags cannot be read (no ``/proc/cpuinfo``: macOS, Windows), is
ignored rather than refused, since a wrong refusal would block a library that runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from xtvm.errors import IncompatibleLibraryError, ModelError

CPUINFO = "/proc/cpuinfo"

# LLVM x86 feature -> the flag Linux prints in /proc/cpuinfo for it.
X86_FLAGS = {
    "sse": "sse",
    "sse2": "sse2",
    "sse3": "pni",
    "ssse3": "ssse3",
    "sse4.1": "sse4_1",
    "sse4.2": "sse4_2",
    "sse4a": "sse4a",
    "popcnt": "popcnt",
    "lzcnt": "abm",  # Linux calls LZCNT "abm" on Intel and AMD alike
    "bmi": "bmi1",
    "bmi2": "bmi2",
    "movbe": "movbe",
    "avx": "avx",
    "avx2": "avx2",
    "fma": "fma",
    "fma4": "fma4",
    "xop": "xop",
    "f16c": "f16c",
    "aes": "aes",
    "pclmul": "pclmulqdq",
    "vaes": "vaes",
    "vpclmulqdq": "vpclmulqdq",
    "gfni": "gfni",
    "sha": "sha_ni",
    "adx": "adx",
    "rdrnd": "rdrand",
    "rdseed": "rdseed",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512dq": "avx512dq",
    "avx512vl": "avx512vl",
    "avx512cd": "avx512cd",
    "avx512vnni": "avx512_vnni",
    "avx512bf16": "avx512_bf16",
    "avx512fp16": "avx512_fp16",
    "avx512vbmi": "avx512vbmi",
    "avx512vbmi2": "avx512_vbmi2",
    "avx512ifma": "avx512ifma",
    "avx512bitalg": "avx512_bitalg",
    "avx512vpopcntdq": "avx512_vpopcntdq",
    "avxvnni": "avx_vnni",
    "amx-tile": "amx_tile",
    "amx-int8": "amx_int8",
    "amx-bf16": "amx_bf16",
}
# LLVM AArch64 feature -> the name in /proc/cpuinfo's "Features" line.
AARCH64_FLAGS = {
    "neon": "asimd",
    "fp-armv8": "fp",
    "crc": "crc32",
    "aes": "aes",
    "sha2": "sha2",
    "lse": "atomics",
    "rdm": "asimdrdm",
    "fullfp16": "fphp",
    "dotprod": "asimddp",
    "i8mm": "i8mm",
    "bf16": "bf16",
    "sve": "sve",
    "sve2": "sve2",
}
# RISC-V: single-letter extensions from the "isa" line ("rv64imafdcv_zicsr_..."). The z*
# extensions are not checked: older kernels leave some that the CPU has off that line.
RISCV_LETTERS = frozenset("imafdcv")
_RISCV_ARCHES = ("riscv64", "riscv32")
_X86_ARCHES = ("x86_64", "i386", "i686")

# What a -mcpu name implies when the feature string does not list it (only CPUs whose
# baseline is certain; others add nothing). Levels as in the x86-64 psABI.
_V2 = ("sse3", "ssse3", "sse4.1", "sse4.2", "popcnt")
_V3 = (*_V2, "avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe")
_V4 = (*_V3, "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")
_CPU_FEATURES: dict[str, tuple[str, ...]] = {
    "x86-64-v2": _V2,
    "nehalem": _V2,
    "westmere": _V2,
    "sandybridge": (*_V2, "avx"),
    "ivybridge": (*_V2, "avx", "f16c"),
    **dict.fromkeys(
        (
            *("x86-64-v3", "haswell", "broadwell", "skylake", "alderlake", "raptorlake"),
            *("meteorlake", "arrowlake", "lunarlake", "znver1", "znver2", "znver3"),
        ),
        _V3,
    ),
    **dict.fromkeys(
        (
            *("x86-64-v4", "skylake-avx512", "cascadelake", "cooperlake", "cannonlake"),
            *("icelake-client", "icelake-server", "tigerlake", "rocketlake"),
            *("sapphirerapids", "emeraldrapids", "graniterapids", "znver4", "znver5"),
        ),
        _V4,
    ),
}
# A feature needs the one it extends: disabling "avx2" also removes an implied "avx512f".
_EXTENDS = {
    "ssse3": "sse3",
    "sse4.1": "ssse3",
    "sse4.2": "sse4.1",
    "avx": "sse4.2",
    "avx2": "avx",
    "fma": "avx",
    "f16c": "avx",
    "avx512f": "avx2",
    **dict.fromkeys(("avx512bw", "avx512cd", "avx512dq", "avx512vl"), "avx512f"),
}


def arch_of(triple: str) -> str:
    """The architecture part of an LLVM triple (``x86_64-unknown-linux-gnu`` -> x86_64)."""
    return triple.split("-", 1)[0].lower()


def parse_cpuinfo(text: str, arch: str) -> frozenset[str] | None:
    """The LLVM names of the checkable features that a ``/proc/cpuinfo`` text lists for
    ``arch``; None when the text has no line to read them from."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep:
            if fields:
                break  # the first processor's block is enough
            continue
        fields.setdefault(key, value.strip().lower())
    if arch in _X86_ARCHES and "flags" in fields:
        flags = set(fields["flags"].split())
        return frozenset(f for f, flag in X86_FLAGS.items() if flag in flags)
    if arch == "aarch64" and "features" in fields:
        flags = set(fields["features"].split())
        return frozenset(f for f, flag in AARCH64_FLAGS.items() if flag in flags)
    if arch in _RISCV_ARCHES and "isa" in fields:
        match = re.fullmatch(r"rv(?:32|64)([a-z]*)((?:_[a-z0-9]+)*)", fields["isa"])
        if match is None:
            return None
        letters = set(match.group(1))
        if "g" in letters:  # G is IMAFD (+ Zicsr, Zifencei)
            letters |= set("imafd")
        return frozenset(letters & RISCV_LETTERS)
    return None


@cache
def host_features(arch: str) -> frozenset[str] | None:
    """This machine's checkable features (LLVM names) for code of ``arch``; None when they
    cannot be read, and then nothing is refused."""
    try:
        with open(CPUINFO, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return None
    return parse_cpuinfo(text, arch)


def _checkable(feature: str, arch: str) -> bool:
    if arch in _X86_ARCHES:
        return feature in X86_FLAGS
    if arch == "aarch64":
        return feature in AARCH64_FLAGS
    if arch in _RISCV_ARCHES:
        return feature in RISCV_LETTERS
    return False


def required_features(cpu: str, features: str) -> set[str]:
    """The features code for ``-mcpu=cpu -mattr=features`` may use: every ``+f`` plus what
    the CPU implies, less what ``-f`` turns off (and what extends a disabled feature)."""
    enabled = {f[1:] for f in features.split(",") if f.startswith("+")}
    disabled = {f[1:] for f in features.split(",") if f.startswith("-")}

    def turned_off(name: str) -> bool:
        while name:
            if name in disabled:
                return True
            name = _EXTENDS.get(name, "")
        return False

    implied = {f for f in _CPU_FEATURES.get(cpu.lower(), ()) if not turned_off(f)}
    return enabled | implied


def missing_features(target: Mapping[str, Any], have: Iterable[str] | None = None) -> list[str]:
    """``+name`` of each checkable feature ``target`` (the metadata's ``"target"``) needs
    that this machine (or ``have``) lacks, sorted; empty when nothing can be checked."""
    arch = arch_of(str(target.get("triple", "")))
    if have is None:
        have = host_features(arch)
        if have is None:
            return []
    have = set(have)
    needed = required_features(str(target.get("cpu", "")), str(target.get("features", "")))
    return sorted(f"+{f}" for f in needed if _checkable(f, arch) and f not in have)


def check_cpu_features(metadata: Mapping[str, Any], shown: str) -> None:
    """Raise IncompatibleLibraryError if the library ``shown`` was compiled for CPU features
    this machine lacks (it would die of SIGILL). Metadata without a target (older builds)
    passes; a malformed target is a ModelError."""
    target = metadata.get("target")
    if not isinstance(target, Mapping):
        return
    if not isinstance(target.get("features", ""), str) or not isinstance(
        target.get("cpu", ""), str
    ):
        raise ModelError(f"cannot load '{shown}': its metadata has a malformed target")
    missing = missing_features(target)
    if missing:
        cpu = target.get("cpu") or "generic"
        raise IncompatibleLibraryError(
            f"cannot load '{shown}': compiled for CPU features this machine lacks: "
            f"{','.join(missing)} (target cpu {cpu}); recompile with --target llvm "
            "(this machine) or a -mattr without them"
        )
