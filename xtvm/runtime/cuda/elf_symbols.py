"""Read named data symbols out of an ELF shared library without loading it.

A cuda library is data only (metadata, PTX, constants), so the runtime reads it as a file
instead of ``dlopen``-ing it: no code of the file runs, the symbol sizes recorded by the
linker bound every read (a forged size field cannot make us read past the file), and a
library linked on x86-64 loads on an aarch64 host with a GPU (Grace Hopper) too, since the
PTX does not depend on the host. 64-bit ELF of either byte order; only the standard library.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from typing import BinaryIO

from xtvm.errors import ModelError

_SHT_DYNSYM, _SHT_NOBITS = 11, 8
_SHN_UNDEF, _SHN_LORESERVE = 0, 0xFF00
MAX_SECTIONS = 1 << 16
MAX_SYMBOLS = 1 << 20


class _Reader:
    """Bounded reads of one file; a short or out-of-range read is a ModelError."""

    def __init__(self, f: BinaryIO, size: int, shown: str, little: bool) -> None:
        self.f, self.size, self.shown = f, size, shown
        self.order = "<" if little else ">"

    def bytes(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise ModelError(f"cannot load '{self.shown}': truncated ELF file")
        self.f.seek(offset)
        return self.f.read(n)

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        fmt = self.order + fmt
        return struct.unpack(fmt, self.bytes(offset, struct.calcsize(fmt)))


def _sections(r: _Reader) -> list[tuple[int, ...]]:
    """(type, flags, addr, offset, size, link, entsize) of each section."""
    (shoff,) = r.unpack("Q", 0x28)
    shentsize, shnum = r.unpack("HH", 0x3A)
    if shnum > MAX_SECTIONS or (shnum and shentsize < 64):
        raise ModelError(f"cannot load '{r.shown}': malformed ELF section table")
    out = []
    for k in range(shnum):
        _, kind, flags, addr, offset, size, link, _, _, entsize = r.unpack(
            "IIQQQQIIQQ", shoff + k * shentsize
        )
        out.append((kind, flags, addr, offset, size, link, entsize))
    return out


def read_symbols(path: str, names: Iterable[str], shown: str) -> dict[str, bytes] | None:
    """The contents of the defined symbols ``names`` that the 64-bit ELF file ``path``
    has (missing ones are left out); None when it is not a 64-bit ELF file."""
    wanted = set(names)
    with open(path, "rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] not in (1, 2):
            return None
        r = _Reader(f, os.fstat(f.fileno()).st_size, shown, ident[5] == 1)
        sections = _sections(r)
        found: dict[str, bytes] = {}
        for kind, _, _, offset, size, link, entsize in sections:
            if kind != _SHT_DYNSYM or link >= len(sections):
                continue  # the dynamic symbols are what a library exports (and few)
            if entsize < 24 or size // entsize > MAX_SYMBOLS:
                raise ModelError(f"cannot load '{shown}': malformed ELF symbol table")
            strtab = r.bytes(sections[link][3], sections[link][4])
            table = r.bytes(offset, size - size % entsize)
            for at in range(0, len(table), entsize):
                name_at, _, _, shndx, value, nbytes = struct.unpack_from(
                    r.order + "IBBHQQ", table, at
                )
                end = strtab.find(b"\0", name_at)
                name = strtab[name_at:end].decode("utf-8", "replace") if end >= 0 else ""
                if name not in wanted or name in found:
                    continue
                if shndx == _SHN_UNDEF or shndx >= min(len(sections), _SHN_LORESERVE):
                    continue
                s_kind, _, s_addr, s_offset, s_size, _, _ = sections[shndx]
                start = value - s_addr
                if s_kind == _SHT_NOBITS or start < 0 or start + nbytes > s_size:
                    raise ModelError(
                        f"cannot load '{shown}': symbol {name} lies outside its section"
                    )
                found[name] = r.bytes(s_offset + start, nbytes)
        return found
