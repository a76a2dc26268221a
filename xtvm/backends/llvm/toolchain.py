"""The C compiler that links a target's objects: shared libraries and ``cc -r`` joins.

For the host it is the system C compiler. For a foreign target (cross-compiling) the host's
linker cannot read the objects ("Relocations in generic ELF (EM: 183)"), so we look for the
target's own: ``$CC`` if set (the user knows best), else ``<triple>-gcc`` in the spellings
Debian and GNU toolchains use, else ``clang --target=<triple>``. When none is found the
error names the Debian package to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xtvm.errors import CompileError

if TYPE_CHECKING:
    from xtvm.backends.llvm.target import Target

# Debian's cross gcc package per architecture (the error message names it).
DEBIAN_CROSS_GCC = {
    "aarch64": "gcc-aarch64-linux-gnu",
    "riscv64": "gcc-riscv64-linux-gnu",
    "arm": "gcc-arm-linux-gnueabihf",
}


@dataclass(frozen=True)
class Toolchain:
    """A C compiler driver plus the flags that select the target (clang's ``--target``)."""

    cc: str
    flags: tuple[str, ...] = ()

    def command(self, *args: str) -> list[str]:
        """The argument vector running this compiler with ``args``."""
        return [self.cc, *self.flags, *args]


def c_compiler() -> str | None:
    """Path of the system C compiler ($CC, then cc, gcc, clang); None when there is none."""
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and (path := shutil.which(name)):
            return path
    return None


def cross_gcc_names(triple: str) -> list[str]:
    """``<triple>-gcc`` spellings to look for: the triple as given, without the
    ``unknown`` vendor (Debian: ``aarch64-linux-gnu-gcc``) and with it."""
    parts = triple.split("-")
    names = [triple]
    if len(parts) == 4 and parts[1] in ("unknown", "pc"):
        names.append("-".join([parts[0], *parts[2:]]))
    elif len(parts) == 3:
        names.append("-".join([parts[0], "unknown", *parts[1:]]))
    return [f"{name}-gcc" for name in names]


def find_toolchain(target: Target | None = None) -> Toolchain | None:
    """The compiler that links objects for ``target`` (None or a host target: the system
    C compiler); None when there is none."""
    if target is None or target.is_host:
        path = c_compiler()
        return Toolchain(path) if path else None
    env = os.environ.get("CC", "").strip()
    if env:
        path = shutil.which(env)
        return Toolchain(path) if path else None
    for name in cross_gcc_names(target.triple):
        if path := shutil.which(name):
            return Toolchain(path)
    if path := shutil.which("clang"):
        return Toolchain(path, (f"--target={target.triple}",))
    return None


def require_toolchain(target: Target | None = None, what: str = "export a library") -> Toolchain:
    """``find_toolchain(target)``, or a CompileError saying what to install or set."""
    found = find_toolchain(target)
    if found is not None:
        return found
    if target is None or target.is_host:
        raise CompileError(f"cannot {what}: no C compiler found (install cc/gcc or set $CC)")
    env = os.environ.get("CC", "").strip()
    if env:
        raise CompileError(f"cannot {what} for {target.triple}: $CC={env!r} is not found")
    package = DEBIAN_CROSS_GCC.get(target.arch)
    install = f"install {package} (Debian/Ubuntu), " if package else ""
    raise CompileError(
        f"cannot {what} for {target.triple}: no cross C compiler found "
        f"({' or '.join(cross_gcc_names(target.triple))} or clang); "
        f"{install}or set $CC to a C compiler for {target.triple}"
    )


def find_c_compiler() -> str:
    """Path of the system C compiler, or a CompileError saying how to get one."""
    return require_toolchain(None).cc


def run_linker(cmd: list[str], what: str, hint: str = "") -> None:
    """Run a link command; a CompileError with its first line of output (and ``hint``) if
    it fails."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"cannot run the linker {cmd[0]}: {exc}") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        first = lines[0] if lines else f"exit status {proc.returncode}"
        raise CompileError(f"{what} failed: {first}{hint}")


def link_hint(toolchain: Toolchain, target: Target | None) -> str:
    """A suffix for link errors of a foreign target: the compiler used may be the wrong one."""
    if target is None or target.is_host:
        return ""
    return f" (linked with {toolchain.cc}: is it a C compiler for {target.triple}?)"
