"""Code-generation targets: what CPU we compile for, and how wide its vectors are.

The operator library asks a ``Target`` for its vector width to pick tile sizes; the
backend asks it for a TargetMachine. The canonical string form (``str(target)``) is
also part of the compiled-object cache key, so it must name everything that changes
the generated code.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from functools import cache

import llvmlite.binding as llvm

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
        """Parse ``llvm [-mtriple=T] [-mcpu=C] [-mattr=+a,-b] [-opt-level=N]``.

        Without ``-mtriple`` and ``-mcpu`` we take the host; giving a CPU name drops
        the host feature list so that the CPU decides.
        """
        try:
            words = shlex.split(text.strip())
        except ValueError as exc:
            raise CompileError(f"bad target string {text!r}: {exc}") from None
        if not words or words[0] != "llvm":
            raise CompileError(
                f"bad target string {text!r}: it must start with 'llvm' "
                "(e.g. 'llvm -mcpu=skylake-avx512')"
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
        cross = triple != host.triple
        if "mcpu" in opts:
            cpu, features = opts["mcpu"], ""
        elif cross:
            cpu, features = "generic", ""
        else:
            cpu, features = host.cpu, host.features
        if "mattr" in opts:
            features = opts["mattr"]
        target = Target(triple=triple, cpu=cpu, features=features, opt_level=opt_level)
        target.llvm_target()  # fail early on an unknown triple
        return target

    def __str__(self) -> str:
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

    def has_feature(self, name: str) -> bool:
        """Whether ``+name`` is enabled in the feature string (or implied by the CPU)."""
        flags = {f[1:]: f[0] == "+" for f in self.features.split(",") if f[:1] in "+-" and f}
        if name in flags:
            return flags[name]
        if self.features and self.cpu == _host_info()[1]:
            return False  # the host list is complete: absent means absent
        cpu = self.cpu.lower()
        if name == "avx512f":
            return cpu in _CPU_512
        if name in ("avx2", "avx", "fma"):
            return cpu in _CPU_512 or cpu in _CPU_256
        return False

    @property
    def vector_width_bits(self) -> int:
        """Widest SIMD register we should target: 512 (avx512f), 256 (avx/avx2), else 128."""
        if self.arch not in ("x86_64", "i386", "i686"):
            return 128
        if self.has_feature("avx512f"):
            return 512
        if self.has_feature("avx2") or self.has_feature("avx"):
            return 256
        return 128

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


def create_target_machine(target: Target | None = None, reloc: str = "pic") -> llvm.TargetMachine:
    """Module-level convenience: a new TargetMachine for ``target`` (host by default)."""
    return (target or Target.host()).create_target_machine(reloc=reloc)
