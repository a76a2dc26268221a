"""Code-generation targets: what CPU we compile for, and how wide its vectors are.

The operator library asks a ``Target`` for its vector width and register count to pick
tile sizes; the backend asks it for a TargetMachine. Both describe the machine we compile
for, which is not the host when cross-compiling: a foreign triple without ``-mcpu``/``-mattr``
gets a default CPU and vector features of its own (``CROSS_DEFAULTS``), never the host's.
The canonical string form (``str(target)``) is also part of the compiled-object and build
cache keys, so it names everything that changes the generated code.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from functools import cache

import llvmlite.binding as llvm

from xtvm.backends.cuda.arch import (
    CUDA_TRIPLE,
    DEFAULT_ARCH,
    check_arch,
    parse_cuda_target,
    ptx_feature,
)
from xtvm.errors import CompileError

# CPU names whose widest useful vector unit we know without asking LLVM (llvmlite
# cannot list the features a named CPU implies). Used only when no -mattr is given.
_CPU_512 = (
    "skylake-avx512",
    "cascadelake",
    "cooperlake",
    "cannonlake",
    "icelake-client",
    "icelake-server",
    "tigerlake",
    "sapphirerapids",
    "emeraldrapids",
    "graniterapids",
    "rocketlake",
    "knl",
    "knm",
    "znver4",
    "znver5",
    "x86-64-v4",
)
_CPU_256 = (
    "sandybridge",
    "ivybridge",
    "haswell",
    "broadwell",
    "skylake",
    "alderlake",
    "raptorlake",
    "meteorlake",
    "arrowlake",
    "lunarlake",
    "znver1",
    "znver2",
    "znver3",
    "bdver1",
    "bdver2",
    "bdver3",
    "bdver4",
    "btver2",
    "x86-64-v3",
    "gracemont",
)


# Default (cpu, features) of a foreign triple given without -mcpu/-mattr, by architecture:
# every ARMv8-A core has NEON (Cortex-A53/A72, Neoverse, Apple); RISC-V gets RV64GC plus the
# V extension (RVV 1.0), which LLVM lowers fixed-length vector IR to once the minimum VLEN is
# known (+v implies Zvl128b). Boards without V take -mattr=+m,+a,+f,+d,+c (scalar code).
CROSS_DEFAULTS: dict[str, tuple[str, str]] = {
    "aarch64": ("generic", "+neon"),
    "riscv64": ("generic-rv64", "+m,+a,+f,+d,+c,+v"),
}

SCALAR_BITS = 128
"""``vector_width_bits`` of a target without a vector unit (RISC-V without V). Schedules
still plan 4-lane f32 vectors: LLVM's legalizer splits each into four scalar operations,
which is the unrolled scalar loop one would write, and ``tir-vectorize`` is not used with
one lane (it miscompiles some reductions then). The registers it may plan for are the 32
FP registers seen as 4-lane vectors (``vector_registers`` 8)."""

_ZVL = re.compile(r"^zvl(\d+)b$")


@cache
def _init_llvm() -> None:
    """Register every LLVM target once, so cross triples can at least emit assembly."""
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


@cache
def _host_info() -> tuple[str, str, str]:
    """(triple, cpu, features) of this process's machine; asked of LLVM once."""
    _init_llvm()
    return (
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    )


@dataclass(frozen=True)
class Target:
    """An LLVM code-generation target (triple, CPU, feature string, optimization level)."""

    triple: str
    cpu: str = "generic"
    features: str = ""
    opt_level: int = 3

    @staticmethod
    def host(opt_level: int = 3) -> Target:
        """The machine we are running on, with every feature it has."""
        triple, cpu, features = _host_info()
        return Target(triple=triple, cpu=cpu, features=features, opt_level=opt_level)

    @staticmethod
    def from_string(text: str) -> Target:
        """Parse ``llvm [-mtriple=T] [-mcpu=C] [-mattr=+a,-b] [-opt-level=N]`` or
        ``cuda [-arch=sm_XX] [-opt-level=N]`` (an NVIDIA GPU; sm_80 by default).

        Without ``-mtriple`` and ``-mcpu`` we take the host; giving a CPU name drops
        the host feature list so that the CPU decides.
        """
        if text.split()[:1] == ["cuda"]:
            return Target.cuda_from_string(text)
        try:
            words = shlex.split(text.strip())
        except ValueError as exc:
            raise CompileError(f"bad target string {text!r}: {exc}") from None
        if not words or words[0] != "llvm":
            raise CompileError(
                f"bad target string {text!r}: it must start with 'llvm' or 'cuda' "
                "(e.g. 'llvm -mcpu=skylake-avx512', 'cuda -arch=sm_80')"
            )
        opts: dict[str, str] = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            key = key.lstrip("-")
            if not sep or not value or key not in ("mtriple", "mcpu", "mattr", "opt-level"):
                raise CompileError(
                    f"bad target option {word!r} in {text!r}: "
                    "expected -mtriple=, -mcpu=, -mattr= or -opt-level="
                )
            opts[key] = value
        host = Target.host()
        opt_level = host.opt_level
        if "opt-level" in opts:
            if opts["opt-level"] not in ("0", "1", "2", "3"):
                raise CompileError(f"bad -opt-level {opts['opt-level']!r}: expected 0..3")
            opt_level = int(opts["opt-level"])
        triple = opts.get("mtriple", host.triple)
        cross = not _same_machine(triple, host.triple)
        if "mcpu" in opts:
            cpu, features = opts["mcpu"], ""
        elif cross:
            arch = triple.split("-", 1)[0]
            cpu, features = CROSS_DEFAULTS.get(arch, ("generic", ""))
        else:
            cpu, features = host.cpu, host.features
        if "mattr" in opts:
            features = opts["mattr"]
        target = Target(triple=triple, cpu=cpu, features=features, opt_level=opt_level)
        target.llvm_target()  # fail early on an unknown triple
        return target

    @staticmethod
    def cuda(arch: str = DEFAULT_ARCH, opt_level: int = 3) -> Target:
        """The NVPTX target for GPUs of architecture ``arch`` (``sm_80``)."""
        check_arch(arch)
        return Target(CUDA_TRIPLE, cpu=arch, features=ptx_feature(arch), opt_level=opt_level)

    @staticmethod
    def cuda_from_string(text: str) -> Target:
        """Parse ``cuda [-arch=sm_XX] [-opt-level=N]``."""
        arch, opt_level = parse_cuda_target(text)
        return Target.cuda(arch, 3 if opt_level is None else opt_level)

    @property
    def kind(self) -> str:
        """``"cuda"`` for NVIDIA GPUs (NVPTX), ``"llvm"`` for CPUs: what schedules and
        the driver test to pick GPU code paths."""
        return "cuda" if self.arch.startswith("nvptx") else "llvm"

    @property
    def device(self) -> str:
        """Where the code runs: ``"cuda"`` or ``"cpu"``."""
        return "cuda" if self.kind == "cuda" else "cpu"

    def __str__(self) -> str:
        if self.kind == "cuda":
            return f"cuda -arch={self.cpu} -opt-level={self.opt_level}"
        parts = ["llvm", f"-mtriple={self.triple}", f"-mcpu={self.cpu}"]
        if self.features:
            parts.append(f"-mattr={self.features}")
        parts.append(f"-opt-level={self.opt_level}")
        return " ".join(parts)

    def with_opt_level(self, opt_level: int) -> Target:
        """The same target at another optimization level."""
        return replace(self, opt_level=opt_level)

    @property
    def arch(self) -> str:
        """First component of the triple (``x86_64``, ``aarch64``, ...)."""
        return self.triple.split("-", 1)[0]

    @property
    def is_host(self) -> bool:
        """Whether code for this target can run in this process: the same architecture,
        OS and ABI as the host (spellings such as ``x86_64-linux-gnu`` and
        ``x86_64-unknown-linux-gnu`` are the same machine)."""
        return _same_machine(self.triple, _host_info()[0])

    def _flags(self) -> dict[str, bool]:
        return {f[1:]: f[0] == "+" for f in self.features.split(",") if f[:1] in "+-" and f}

    def has_feature(self, name: str) -> bool:
        """Whether ``+name`` is enabled in the feature string (or implied by the CPU)."""
        flags = self._flags()
        if name in flags:
            return flags[name]
        if self.features and self.is_host and self.cpu == _host_info()[1]:
            return False  # the host list is complete: absent means absent
        if self.arch == "aarch64":
            return name == "neon"  # every AArch64 CPU LLVM knows has NEON (Advanced SIMD)
        cpu = self.cpu.lower()
        if name == "avx512f":
            return cpu in _CPU_512
        if name in ("avx2", "avx", "fma"):
            return cpu in _CPU_512 or cpu in _CPU_256
        return False

    @property
    def vector_width_bits(self) -> int:
        """Widest SIMD register we should target. x86: 512 (avx512f), 256 (avx/avx2), else
        128; AArch64: 128 (NEON); RISC-V with V: the minimum VLEN (128, or the largest
        ``+zvl<N>b``); a target without a vector unit: ``SCALAR_BITS`` (see there);
        NVPTX: 32 (one lane: GPU threads are scalar, so the x86-style vector schedules
        stay scalar)."""
        arch = self.arch
        if self.kind == "cuda":
            return 32
        if arch in ("x86_64", "i386", "i686"):
            if self.has_feature("avx512f"):
                return 512
            if self.has_feature("avx2") or self.has_feature("avx"):
                return 256
            return 128
        if not self.has_vector_unit:
            return SCALAR_BITS
        if arch == "aarch64":
            return 128
        if arch in ("riscv64", "riscv32"):
            zvl = [
                int(m.group(1)) for f, on in self._flags().items() if on and (m := _ZVL.match(f))
            ]
            return max([128, *zvl])
        return 128

    @property
    def has_vector_unit(self) -> bool:
        """False for AArch64 without NEON and RISC-V without V (the embedded Zve* subsets
        are treated as scalar); True else."""
        if self.arch == "aarch64":
            return self.has_feature("neon")
        if self.arch in ("riscv64", "riscv32"):
            return self.has_feature("v")
        return True

    @property
    def vector_registers(self) -> int:
        """Architectural vector registers the register-blocked schedules may plan for:
        32 on AVX-512, AArch64 (NEON's v0-v31) and RISC-V (V's v0-v31); 16 on AVX2/SSE;
        8 on a core without a vector unit (its 32 FP registers as 4-lane vectors)."""
        if self.arch in ("x86_64", "i386", "i686"):
            return 32 if self.vector_width_bits >= 512 else 16
        if self.kind == "cuda":
            return 16
        if not self.has_vector_unit:
            return 32 * 32 // SCALAR_BITS
        if self.arch in ("aarch64", "riscv64", "riscv32"):
            return 32
        return 16

    def vector_lanes(self, dtype_bits: int = 32) -> int:
        """Lanes of a ``dtype_bits``-wide element in one vector register."""
        if dtype_bits <= 0:
            raise CompileError(f"bad element width {dtype_bits} bits")
        return max(1, self.vector_width_bits // dtype_bits)

    def llvm_target(self) -> llvm.Target:
        """The llvmlite Target for this triple (CompileError if LLVM lacks it)."""
        _init_llvm()
        try:
            return llvm.Target.from_triple(self.triple)
        except RuntimeError as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown"
            raise CompileError(f"unknown target triple {self.triple!r}: {msg}") from None

    def create_target_machine(
        self, reloc: str = "pic", codemodel: str = "jitdefault", jit: bool = False
    ) -> llvm.TargetMachine:
        """A fresh TargetMachine. Make one per MCJIT engine: the engine takes ownership
        and reusing a TargetMachine for a second engine segfaults."""
        return self.llvm_target().create_target_machine(
            cpu=self.cpu,
            features=self.features,
            opt=self.opt_level,
            reloc=reloc,
            codemodel=codemodel,
            jit=jit,
        )

    def data_layout(self) -> str:
        """The data layout string LLVM uses for this target."""
        return str(self.create_target_machine().target_data)


def _same_machine(a: str, b: str) -> bool:
    """Whether two triples name the same architecture, OS and environment (vendor and
    spelling aside); unknown triples compare as text."""
    _init_llvm()
    try:
        pa, pb = llvm.get_triple_parts(a), llvm.get_triple_parts(b)
    except (RuntimeError, ValueError):
        return a == b
    return (pa.Arch, pa.SubArch, pa.OS, pa.Env) == (pb.Arch, pb.SubArch, pb.OS, pb.Env)


def create_target_machine(target: Target | None = None, reloc: str = "pic") -> llvm.TargetMachine:
    """Module-level convenience: a new TargetMachine for ``target`` (host by default)."""
    return (target or Target.host()).create_target_machine(reloc=reloc)
