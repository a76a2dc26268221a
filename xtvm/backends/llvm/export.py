"""Write a compiled model as a shared library that ``xtvm.runtime.load`` can open.

The library exports ``xtvm_main`` and ``xtvm_metadata`` (the signature as a JSON,
null-terminated string). Both are in the PIC object that ``compile_object`` made for the
JIT, so exporting a built model only links that object with a C compiler, which knows the
platform's linker flags and libm; no code is generated twice. A foreign target's object is
linked by that target's compiler (:mod:`xtvm.backends.llvm.toolchain`), whose sysroot has
its libm and libgomp (parallel loops keep running on several threads there).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import llvmlite.ir as ir

from xtvm.backends.llvm.jit import METADATA_SYMBOL, compile_object
from xtvm.backends.llvm.target import Target
from xtvm.backends.llvm.toolchain import find_c_compiler, link_hint, require_toolchain, run_linker
from xtvm.errors import CompileError

__all__ = ["METADATA_SYMBOL", "export_library", "export_object", "find_c_compiler", "link_shared"]


def export_object(ir_module: ir.Module, target: Target, metadata: dict[str, Any]) -> bytes:
    """The optimized PIC object of ``ir_module`` plus the ``xtvm_metadata`` string."""
    return compile_object(ir_module, target, metadata, use_cache=False)[0]


def link_shared(obj: bytes, out: str, target: Target | None = None) -> None:
    """Link ``obj`` into the shared library ``out`` with the C compiler for ``target``
    (default: the host's)."""
    toolchain = require_toolchain(target)
    with tempfile.TemporaryDirectory(prefix="xtvm-export-") as tmp:
        obj_path = os.path.join(tmp, "model.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        cmd = toolchain.command("-shared", "-o", out, obj_path, "-lm")
        if b"GOMP_parallel" not in obj:
            run_linker(cmd, f"linking '{out}'", link_hint(toolchain, target))
            return
        # parallel loops call into the OpenMP runtime
        try:
            run_linker([*cmd, "-lgomp"], f"linking '{out}'", link_hint(toolchain, target))
        except CompileError as exc:
            if "gomp" not in str(exc):
                raise
            # a sysroot with the runtime but no libgomp.so dev link (a bare cross sysroot)
            try:
                run_linker([*cmd, "-l:libgomp.so.1"], f"linking '{out}'")
            except CompileError:
                raise exc from None


def export_library(
    code: bytes | ir.Module,
    target: Target,
    metadata: dict[str, Any],
    path: str | os.PathLike[str],
) -> str:
    """Build ``path`` (.so) from ``code``, an object from ``compile_object`` (linked as it
    is) or an llvmlite module (compiled first); return its absolute path."""
    out = os.path.abspath(os.fspath(path))
    if not os.path.isdir(os.path.dirname(out)):
        raise CompileError(f"cannot export to '{path}': folder does not exist")
    obj = code if isinstance(code, bytes) else compile_object(code, target, metadata)[0]
    link_shared(obj, out, target)
    return out
