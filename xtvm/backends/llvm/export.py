"""Write a compiled model as a shared library that ``xtvm.runtime.load`` can open.

The library exports ``xtvm_main`` and ``xtvm_metadata`` (the signature as a JSON,
null-terminated string). We emit a PIC object with LLVM and link it with the system
C compiler, which knows the platform's linker flags and libm. Given a ``cache_key`` (the
whole-build cache's key of the build), the PIC object is kept in the object cache, so
exporting an unchanged model again only links.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import llvmlite.ir as ir

from xtvm.backends.llvm.cache import ObjectCache, cache_dir
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


def export_object(ir_module: ir.Module, target: Target, metadata: dict[str, Any]) -> bytes:
    """The optimized PIC object of ``ir_module`` plus the ``xtvm_metadata`` string."""
    if METADATA_SYMBOL in ir_module.globals:
        raise CompileError(f"the module already defines @{METADATA_SYMBOL}")
    # Append the metadata global as text so the caller's module stays untouched.
    holder = ir.Module()
    meta = add_metadata_global(holder, METADATA_SYMBOL, json.dumps(metadata, sort_keys=True))
    mod = parse_and_verify(f"{ir_module}\n{meta}\n")
    optimize(mod, target)
    return emit_object(mod, target, optimized=True)


def link_shared(obj: bytes, out: str) -> None:
    """Link ``obj`` into the shared library ``out`` with the system C compiler."""
    cc = find_c_compiler()
    with tempfile.TemporaryDirectory(prefix="xtvm-export-") as tmp:
        obj_path = os.path.join(tmp, "model.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        cmd = [cc, "-shared", "-o", out, obj_path, "-lm"]
        if b"GOMP_parallel" in obj:
            cmd.append("-lgomp")  # parallel loops call into the OpenMP runtime
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CompileError(f"cannot run the linker {cc}: {exc}") from None
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout or "").strip().splitlines()
            first = lines[0] if lines else f"exit status {proc.returncode}"
            raise CompileError(f"linking '{out}' failed: {first}")


def export_library(
    ir_module: ir.Module | Callable[[], ir.Module],
    target: Target,
    metadata: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    cache_key: str | None = None,
) -> str:
    """Build ``path`` (.so) from ``ir_module``; return its absolute path.

    ``ir_module`` may be a function returning it, called only when the object is not
    cached under ``cache_key``.
    """
    out = os.path.abspath(os.fspath(path))
    if not os.path.isdir(os.path.dirname(out)):
        raise CompileError(f"cannot export to '{path}': folder does not exist")
    folder = cache_dir() if cache_key else None
    entry = ObjectCache(folder, f"export-{cache_key}") if folder else None
    obj = entry.load() if entry else None
    if obj is None:
        module = ir_module() if callable(ir_module) else ir_module
        obj = export_object(module, target, metadata)
        if entry:
            entry.store(obj)
    link_shared(obj, out)
    return out
