"""Read an ELF file's header to refuse a library built for another machine before dlopen.

dlopen of a foreign library fails with messages like "wrong ELF class: ELFCLASS32" or
"invalid ELF header"; reading the 64-byte header first lets ``xtvm.runtime.load`` say
"compiled for aarch64, this machine is x86_64" instead. Only the standard library is used.
"""

from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass

from xtvm.errors import IncompatibleLibraryError, ModelError

ELF_MAGIC = b"\x7fELF"
ET_DYN = 3
_ELF_TYPES = {1: "a relocatable object (.o), not a shared library", 2: "an executable"}

# e_machine -> architecture name (as the first part of an LLVM triple), by ELF class.
_MACHINES: dict[int, tuple[str, str]] = {  # (32-bit name, 64-bit name)
    3: ("i386", "i386"),
    8: ("mips", "mips64"),
    20: ("powerpc", "powerpc"),
    21: ("powerpc64", "powerpc64"),
    22: ("s390", "s390x"),
    40: ("arm", "arm"),
    62: ("x86_64", "x86_64"),
    183: ("aarch64", "aarch64"),
    243: ("riscv32", "riscv64"),
    258: ("loongarch32", "loongarch64"),
}
# platform.machine() spellings -> the same names
_HOST_ALIASES = {
    "amd64": "x86_64",
    "x64": "x86_64",
    "arm64": "aarch64",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "ppc": "powerpc",
    "ppc64": "powerpc64",
    "ppc64le": "powerpc64",
    "mips64el": "mips64",
    "mipsel": "mips",
}
_KNOWN_ARCHES = frozenset(name for pair in _MACHINES.values() for name in pair)


@dataclass(frozen=True)
class ElfHeader:
    """The fields of an ELF header that decide whether this machine can load the file."""

    bits: int  # 32 or 64
    little_endian: bool
    file_type: int  # e_type: 3 is a shared library
    machine: int  # e_machine

    @property
    def arch(self) -> str:
        """Architecture name (``x86_64``, ``aarch64``, ``riscv64``...), or ``EM_<n>``."""
        names = _MACHINES.get(self.machine)
        if names is None:
            return f"EM_{self.machine}"
        return names[1] if self.bits == 64 else names[0]


def parse_elf_header(data: bytes) -> ElfHeader | None:
    """The header of ``data`` (the file's first bytes); None if it is not an ELF file."""
    if len(data) < 20 or data[:4] != ELF_MAGIC:
        return None
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        return None
    little = ei_data == 1
    file_type, machine = struct.unpack_from("<HH" if little else ">HH", data, 16)
    return ElfHeader(64 if ei_class == 2 else 32, little, file_type, machine)


def host_arch() -> str:
    """This machine's architecture name, spelled as in ``ElfHeader.arch``."""
    if hasattr(os, "uname"):
        name = os.uname().machine.lower()  # what platform.machine() reads, without its import
    else:
        import platform

        name = platform.machine().lower()
    name = "arm" if name.startswith("armv") else _HOST_ALIASES.get(name, name)
    if name == "x86_64" and sys.maxsize < 2**32:
        return "i386"  # a 32-bit Python on a 64-bit kernel loads 32-bit libraries
    return name


def check_loadable(path: str | os.PathLike[str], shown: str | None = None) -> None:
    """Raise ModelError unless ``path`` is a shared library this machine's loader takes.

    Only ELF platforms (Linux and the BSDs) are checked: elsewhere dlopen judges alone.
    ``shown`` is the name used in messages (default: ``path``).
    """
    shown = os.fspath(path) if shown is None else shown
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise ModelError(f"cannot load '{shown}': {exc.strerror or exc}") from None
    header = parse_elf_header(head)
    if header is None:
        what = "it is empty" if not head else "it is not an ELF shared library"
        raise ModelError(f"cannot load '{shown}': {what}")
    if header.file_type != ET_DYN:
        what = _ELF_TYPES.get(header.file_type, f"ELF type {header.file_type}")
        raise ModelError(f"cannot load '{shown}': it is {what}")
    host = host_arch()
    if host in _KNOWN_ARCHES and header.arch != host:  # an unknown host: dlopen decides
        raise IncompatibleLibraryError(
            f"cannot load '{shown}': compiled for {header.arch}, this machine is {host}"
        )
    host_bits = 64 if sys.maxsize > 2**32 else 32
    if host in _KNOWN_ARCHES and header.bits != host_bits:
        raise IncompatibleLibraryError(
            f"cannot load '{shown}': compiled for {header.bits}-bit {header.arch}, "
            f"this process is {host_bits}-bit"
        )
    if header.little_endian != (sys.byteorder == "little"):
        order = "little" if header.little_endian else "big"
        raise IncompatibleLibraryError(
            f"cannot load '{shown}': compiled for {order}-endian {header.arch}"
        )
