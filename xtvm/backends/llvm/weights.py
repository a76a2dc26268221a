"""Keep MB-sized weights out of the LLVM IR text.

Printed as ``c"\\XX..."`` literals, weights triple in size and LLVM's parser then reads them
byte by byte: a 100 MB model spent about 30 s printing, hashing and parsing text. On ELF
targets the text declares each large constant instead (``external hidden constant``), and
module-level assembly pulls its bytes in with ``.incbin`` from a temporary file while the
object is emitted. The object is the same as before (weights in a read-only section of the
same object, local symbols, RIP-relative references), only the route there is cheaper.

Only what LLVM could not use anyway leaves the text: big internal constants. Small tables
stay, so LLVM can still fold loads from them.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

import llvmlite.ir as ir

from xtvm.backends.llvm.translate import RawBytesConstant

MIN_BLOB_BYTES = 4096
"""Smaller constants stay in the IR text (cheap to print, and LLVM may fold them)."""

_NON_ELF = ("darwin", "macos", "ios", "windows", "win32", "cuda", "wasm", "nvptx", "amdgcn")
_PLAIN_SYMBOL = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*")
SECTION = ".rodata.xtvm_weights"


@dataclass(frozen=True)
class Blob:
    """The bytes of one global that the IR text only declares."""

    name: str
    data: bytes
    align: int

    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def blobs_supported(triple: str) -> bool:
    """Whether the target's objects are ELF, where the ``.incbin`` route is known to work."""
    return not any(part in triple for part in _NON_ELF)


def _is_blob(value: ir.GlobalValue) -> bool:
    return (
        isinstance(value, ir.GlobalVariable)
        and isinstance(value.initializer, RawBytesConstant)
        and value.global_constant
        and value.linkage in ("internal", "private")
        and value.addrspace == 0
        and _PLAIN_SYMBOL.fullmatch(value.name) is not None
        and not value.section
        and len(value.initializer.raw) >= MIN_BLOB_BYTES
    )


def header_lines(ir_module: ir.Module) -> list[str]:
    """The lines ``llvmlite.ir.Module.__repr__`` starts with: module id, triple, layout, types."""
    lines = [
        f'; ModuleID = "{ir_module.name}"',
        f'target triple = "{ir_module.triple}"',
        f'target datalayout = "{ir_module.data_layout}"',
        "",
    ]
    return lines + [t.get_declaration() for t in ir_module.get_identified_types().values()]


def global_text(value: ir.GlobalValue) -> tuple[str, Blob | None]:
    """``value`` as IR text, or, for a large constant, its declaration and its bytes."""
    if not _is_blob(value):
        return str(value), None
    init = value.initializer
    assert isinstance(init, RawBytesConstant)
    align = f", align {value.align}" if value.align else ""
    decl = f"{value.get_reference()} = external hidden constant {value.value_type}{align}\n"
    return decl, Blob(value.name, init.raw, value.align or 1)


def split_weights(ir_module: ir.Module) -> tuple[str, list[Blob]]:
    """The module's IR text with its large constants declared, and their bytes.

    Follows ``llvmlite.ir.Module.__repr__`` line by line, except for those globals.
    """
    blobs: list[Blob] = []
    lines = header_lines(ir_module)
    for value in ir_module.globals.values():
        text, blob = global_text(value)
        lines.append(text)
        if blob is not None:
            blobs.append(blob)
    lines += ir_module._get_metadata_lines()
    return "\n".join(lines), blobs


def _asm_string(text: str) -> str:
    """``text`` as an LLVM IR string literal body (quotes and backslashes escaped)."""
    return "".join(c if c.isalnum() or c in " ./_-,:+" else f"\\{ord(c):02X}" for c in text)


def blob_asm(blobs: list[Blob], folder: str) -> str:
    """Module-level assembly defining every blob from ``folder/<index>.bin``, which
    ``write_blobs`` wrote: local symbols in one read-only section."""
    if not blobs:
        return ""
    stmts = [f'.section {SECTION},"a"']
    for i, blob in enumerate(blobs):
        align = max(blob.align, 1).bit_length() - 1
        path = os.path.join(folder, f"{i}.bin")
        stmts += [f".p2align {align}", f"{blob.name}:", f'.incbin "{path}"']
    stmts.append(".text")
    return "".join(f'module asm "{_asm_string(s)}"\n' for s in stmts)


def write_blobs(blobs: list[Blob], folder: str) -> None:
    """Write each blob's bytes where ``blob_asm`` reads them."""
    for i, blob in enumerate(blobs):
        with open(os.path.join(folder, f"{i}.bin"), "wb") as f:
            f.write(blob.data)
