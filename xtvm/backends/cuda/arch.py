"""NVIDIA GPU architectures xtvm generates PTX for, and the target string ``cuda ...``.

A cuda target is an LLVM target like any other (triple ``nvptx64-nvidia-cuda``, CPU
``sm_XX``, features ``+ptxNN``), so it lives in :class:`xtvm.backends.llvm.Target`; this
module only knows the architectures. Each needs a minimum PTX ISA version (LLVM's
NVPTX.td); we emit exactly that version, the oldest any driver able to run the arch
accepts. sm_70/sm_72 are left out: CUDA 13's ``ptxas`` (what the tests validate with)
no longer assembles them.
"""

from __future__ import annotations

import shlex

from xtvm.errors import CompileError

CUDA_TRIPLE = "nvptx64-nvidia-cuda"
DEFAULT_ARCH = "sm_80"

# arch -> minimum PTX ISA version (major*10 + minor), as LLVM 22's NVPTX backend requires;
# each entry is checked with CUDA 13's ptxas by tests/unit/gpu/test_nvptx_target.py.
PTX_VERSION: dict[str, int] = {
    "sm_75": 63,
    "sm_80": 70,
    "sm_86": 71,
    "sm_87": 74,
    "sm_89": 78,
    "sm_90": 78,
    "sm_90a": 80,
    "sm_100": 86,
    "sm_100a": 86,
    "sm_103": 88,
    "sm_110": 90,
    "sm_120": 87,
    "sm_120a": 87,
    "sm_121": 88,
}


def ptx_feature(arch: str) -> str:
    """LLVM's feature string selecting the PTX version for ``arch`` (``+ptx70``)."""
    return f"+ptx{PTX_VERSION[arch]}"


def check_arch(arch: str, text: str = "") -> str:
    """``arch`` if xtvm supports it; a CompileError listing the supported ones else."""
    if arch not in PTX_VERSION:
        where = f" in {text!r}" if text else ""
        raise CompileError(
            f"unsupported cuda arch {arch!r}{where}: expected one of "
            f"{', '.join(PTX_VERSION)} (sm_70/sm_72 are not supported by CUDA 13)"
        )
    return arch


def parse_cuda_target(text: str) -> tuple[str, int | None]:
    """(arch, opt_level or None) of ``cuda [-arch=sm_XX] [-opt-level=N]``."""
    try:
        words = shlex.split(text.strip())
    except ValueError as exc:
        raise CompileError(f"bad target string {text!r}: {exc}") from None
    if not words or words[0] != "cuda":
        raise CompileError(f"bad target string {text!r}: a cuda target starts with 'cuda'")
    arch, opt_level = DEFAULT_ARCH, None
    for word in words[1:]:
        key, sep, value = word.partition("=")
        key = key.lstrip("-")
        if key == "arch" and sep and value:
            arch = check_arch(value, text)
        elif key == "opt-level" and value in ("0", "1", "2", "3"):
            opt_level = int(value)
        else:
            raise CompileError(
                f"bad target option {word!r} in {text!r}: expected -arch=sm_XX or -opt-level=0..3"
            )
    return arch, opt_level
