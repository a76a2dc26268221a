"""The host C compiler, which links shared libraries and joins objects (``cc -r``)."""

from __future__ import annotations

import os
import shutil
import subprocess

from xtvm.errors import CompileError


def c_compiler() -> str | None:
    """Path of the system C compiler ($CC, then cc, gcc, clang); None when there is none."""
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and (path := shutil.which(name)):
            return path
    return None


def find_c_compiler() -> str:
    """Path of the system C compiler, or a CompileError saying how to get one."""
    path = c_compiler()
    if path is None:
        raise CompileError(
            "cannot export a library: no C compiler found (install cc/gcc or set $CC)"
        )
    return path


def run_linker(cmd: list[str], what: str) -> None:
    """Run a link command; a CompileError with its first line of output if it fails."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"cannot run the linker {cmd[0]}: {exc}") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        first = lines[0] if lines else f"exit status {proc.returncode}"
        raise CompileError(f"{what} failed: {first}")
