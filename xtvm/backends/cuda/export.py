"""Write a CUDA module as a shared library (or a ``.tar`` package) for ``xtvm.runtime.load``.

The library holds data only, no code of ours: ``xtvm_metadata`` (the JSON, NUL-terminated),
``xtvm_ptx`` (the PTX text, NUL-terminated), ``xtvm_constants`` (the weights blob, 64-byte
aligned), ``xtvm_constants_size`` (its length, a little-endian uint64) and, where ``ptxas``
is installed, ``xtvm_cubin`` (the PTX assembled for the target architecture, loaded
instead of JIT-compiling the PTX on a device it runs on). The runtime reads
them from the file through the ELF dynamic symbol table, without ``dlopen``
(:mod:`xtvm.runtime.cuda.loader`), and hands the PTX to the driver at the first run, so
loading executes no code, host or device. The bytes go in through the assembler's ``.incbin`` (hundreds of MB
of weights assemble in a moment, where an LLVM constant would be slow) and the host C
compiler links the object (:mod:`xtvm.backends.llvm.toolchain`). A package is the library
as ``mod.so`` plus ``metadata.json``, written by :func:`xtvm.driver.package.export_package`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

from xtvm.backends.llvm.toolchain import require_toolchain, run_linker
from xtvm.errors import CompileError, XTVMError

if TYPE_CHECKING:
    from xtvm.runtime.cuda.module import CudaModule

METADATA_SYMBOL = "xtvm_metadata"
PTX_SYMBOL = "xtvm_ptx"
CONSTANTS_SYMBOL = "xtvm_constants"
CONSTANTS_SIZE_SYMBOL = "xtvm_constants_size"
CUBIN_SYMBOL = "xtvm_cubin"
PACKAGE_SUFFIX = ".tar"


def _blob(symbol: str, file: str, align: int, terminate: bool) -> str:
    """Assembly of a global read-only object ``symbol`` holding the bytes of ``file``."""
    nul = "\t.byte 0\n" if terminate else ""
    return (
        f'\t.section .rodata.{symbol},"a",@progbits\n'
        f"\t.globl {symbol}\n\t.type {symbol},@object\n\t.p2align {align}\n{symbol}:\n"
        f'\t.incbin "{file}"\n{nul}\t.size {symbol}, .-{symbol}\n'
    )


def library_assembly(folder: str, constants_bytes: int, cubin: bool = False) -> str:
    """The assembly of the library whose member files ``metadata.json``, ``kernels.ptx``,
    ``constants.bin`` (and ``kernels.cubin`` if ``cubin``) are in ``folder``."""
    size = (
        f'\t.section .rodata.{CONSTANTS_SIZE_SYMBOL},"a",@progbits\n'
        f"\t.globl {CONSTANTS_SIZE_SYMBOL}\n\t.type {CONSTANTS_SIZE_SYMBOL},@object\n"
        f"\t.p2align 3\n{CONSTANTS_SIZE_SYMBOL}:\n\t.quad {constants_bytes}\n"
        f"\t.size {CONSTANTS_SIZE_SYMBOL}, 8\n"
    )
    return (
        _blob(METADATA_SYMBOL, os.path.join(folder, "metadata.json"), 4, True)
        + _blob(PTX_SYMBOL, os.path.join(folder, "kernels.ptx"), 4, True)
        + _blob(CONSTANTS_SYMBOL, os.path.join(folder, "constants.bin"), 6, False)
        + size
        + (_blob(CUBIN_SYMBOL, os.path.join(folder, "kernels.cubin"), 7, False) if cubin else "")
        + '\t.section .note.GNU-stack,"",@progbits\n'
    )


def _write_cubin(module: CudaModule, folder: str) -> bool:
    """``folder/kernels.cubin``: the module's cubin, else its PTX assembled by ``ptxas`` for
    the target architecture (the driver then need not JIT-compile on a device of that
    architecture); False, and PTX only, where ptxas is not installed."""
    out = os.path.join(folder, "kernels.cubin")
    if module.cubin is not None:
        with open(out, "wb") as f:
            f.write(module.cubin)
        return True
    from xtvm.backends.cuda.ptx import find_ptxas

    tool = find_ptxas()
    arch = (module.metadata.get("target") or {}).get("cpu", "")
    if tool is None or not str(arch).startswith("sm_"):
        return False
    ptx = os.path.join(folder, "kernels.ptx")
    try:
        proc = subprocess.run(
            [tool, f"-arch={arch}", "-o", out, ptx], capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"cannot run ptxas ({tool}): {exc}") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no message"]
        raise CompileError(f"ptxas -arch={arch} refused the module's PTX: {lines[0]}")
    return True


def write_library(module: CudaModule, path: str) -> str:
    """Link ``module`` into the shared library ``path``; return its absolute path."""
    out = os.path.abspath(path)
    if not os.path.isdir(os.path.dirname(out)):
        raise CompileError(f"cannot export to '{path}': folder does not exist")
    if "\0" in module.ptx:
        raise CompileError(f"cannot export to '{path}': the PTX contains a NUL byte")
    metadata = json.dumps(module.metadata, sort_keys=True).encode("utf-8")  # ASCII, no NUL
    toolchain = require_toolchain(None)
    with tempfile.TemporaryDirectory(prefix="xtvm-cuda-export-") as tmp:
        if '"' in tmp or "\\" in tmp or "\n" in tmp:  # would break the .incbin strings
            raise CompileError(f"cannot export: temporary folder {tmp!r} has quotes")
        for name, data in (
            ("metadata.json", metadata),
            ("kernels.ptx", module.ptx.encode("utf-8")),
            ("constants.bin", module.constants),
        ):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        cubin = _write_cubin(module, tmp)
        asm = os.path.join(tmp, "module.s")
        with open(asm, "w", encoding="ascii") as f:
            f.write(library_assembly(tmp, len(module.constants), cubin))
        run_linker(toolchain.command("-shared", "-nostdlib", "-o", out, asm), f"linking '{out}'")
    return out


class _PackageSource:
    """What :func:`export_package` asks of a compiled module: metadata, a library, the
    relay source (which a CudaModule does not keep, so the package goes without it)."""

    def __init__(self, module: CudaModule) -> None:
        self.module = module
        self.metadata: dict[str, Any] = module.metadata

    def get_source(self, level: str) -> str:
        raise XTVMError(f"a cuda module keeps no {level} source")

    def export_library(self, path: str) -> str:
        return write_library(self.module, path)


def export_cuda(module: CudaModule, path: str | os.PathLike[str]) -> str:
    """Write ``module`` as ``path``: a package when it ends in ``.tar``, else a library."""
    text = os.fspath(path)
    if text.endswith(PACKAGE_SUFFIX):
        from xtvm.driver.package import export_package

        return export_package(_PackageSource(module), text)
    return write_library(module, text)
