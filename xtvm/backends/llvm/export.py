"""Write a compiled model as a shared library that ``xtvm.runtime.load`` can open.

The library exports ``xtvm_main`` and ``xtvm_metadata`` (the signature as a JSON,
null-terminated string). We emit a PIC object with LLVM and link it with the system
C compiler, which knows the platform's linker flags and libm.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Any

import llvmlite.ir as ir

from xtvm.backends.llvm.jit import emit_object, optimize, parse_and_verify
from xtvm.backends.llvm.target import Target
from xtvm.backends.llvm.translate import add_metadata_global
from xtvm.errors import CompileError

METADATA_SYMBOL = "xtvm_metadata"


def find_c_compiler() -> str:
    """Path of the system C compiler ($CC, then cc, gcc, clang)."""
    candidates = [os.environ.get("CC", ""), "cc", "gcc", "clang"]
    for name in candidates:
        if name and (path := shutil.which(name)):
            return path
    raise CompileError("cannot export a library: no C compiler found (install cc/gcc or set $CC)")


def export_library(
    ir_module: ir.Module,
    target: Target,
    metadata: dict[str, Any],
    path: str | os.PathLike[str],
) -> str:
    """Build ``path`` (.so) from ``ir_module``; return its absolute path."""
    out = os.path.abspath(os.fspath(path))
    if not os.path.isdir(os.path.dirname(out)):
        raise CompileError(f"cannot export to '{path}': folder does not exist")
    if METADATA_SYMBOL in ir_module.globals:
        raise CompileError(f"the module already defines @{METADATA_SYMBOL}")
    # Append the metadata global as text so the caller's module stays untouched.
    holder = ir.Module()
    meta = add_metadata_global(holder, METADATA_SYMBOL, json.dumps(metadata, sort_keys=True))
    mod = parse_and_verify(f"{ir_module}\n{meta}\n")
    optimize(mod, target)
    obj = emit_object(mod, target, optimized=True)
    cc = find_c_compiler()
    with tempfile.TemporaryDirectory(prefix="xtvm-export-") as tmp:
        obj_path = os.path.join(tmp, "model.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        cmd = [cc, "-shared", "-o", out, obj_path, "-lm"]
        if "GOMP_parallel" in str(ir_module):
            cmd.append("-lgomp")  # parallel loops call into the OpenMP runtime
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CompileError(f"cannot run the linker {cc}: {exc}") from None
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout or "").strip().splitlines()
            first = lines[0] if lines else f"exit status {proc.returncode}"
            raise CompileError(f"linking '{path}' failed: {first}")
    return out
