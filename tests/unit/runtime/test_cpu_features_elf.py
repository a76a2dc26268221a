"""ELF header checks: a library for another architecture is refused before dlopen."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

import xtvm.runtime
from xtvm.errors import IncompatibleLibraryError, ModelError
from xtvm.runtime.elf import ET_DYN, check_loadable, host_arch, parse_elf_header

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="ELF checks run on Linux only"
)
EM = {"x86_64": 62, "aarch64": 183, "riscv64": 243}


def elf_header(machine: int, bits: int = 64, little: bool = True, file_type: int = ET_DYN) -> bytes:
    """The first 64 bytes of an ELF file (the rest of the header zeroed)."""
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1 if little else 2, 1]) + bytes(9)
    return ident + struct.pack("<HH" if little else ">HH", file_type, machine) + bytes(44)


def foreign_arch() -> str:
    return "aarch64" if host_arch() != "aarch64" else "x86_64"


def test_parse_header_fields() -> None:
    header = parse_elf_header(elf_header(183))
    assert header is not None and header.arch == "aarch64" and header.bits == 64
    assert parse_elf_header(elf_header(243, bits=32)).arch == "riscv32"  # type: ignore[union-attr]
    assert parse_elf_header(elf_header(62, little=False)).little_endian is False  # type: ignore[union-attr]
    assert parse_elf_header(elf_header(9999)).arch == "EM_9999"  # type: ignore[union-attr]
    assert parse_elf_header(b"\x7fELF") is None
    assert parse_elf_header(b"MZ" + bytes(62)) is None
    assert parse_elf_header(b"\x7fELF\x07\x01" + bytes(58)) is None  # bad class


def test_foreign_architecture_is_refused_by_load(tmp_path: Path) -> None:
    other = foreign_arch()
    lib = tmp_path / "m.so"
    lib.write_bytes(elf_header(EM[other]) + bytes(4096))
    with pytest.raises(
        IncompatibleLibraryError, match=f"compiled for {other}, this machine is {host_arch()}"
    ):
        xtvm.runtime.load(lib)


@pytest.mark.skipif(host_arch() not in EM, reason="needs a host with a known ELF machine")
def test_wrong_class_endianness_and_type(tmp_path: Path) -> None:
    lib = tmp_path / "m.so"
    lib.write_bytes(elf_header(EM[host_arch()], little=False))
    with pytest.raises(IncompatibleLibraryError, match="big-endian"):
        check_loadable(lib)
    lib.write_bytes(elf_header(EM[host_arch()], file_type=1))
    with pytest.raises(ModelError, match=r"relocatable object \(\.o\)"):
        xtvm.runtime.load(lib)
    lib.write_bytes(elf_header(EM[host_arch()], bits=32))
    with pytest.raises(IncompatibleLibraryError, match="compiled for"):
        check_loadable(lib)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "it is empty"),
        (b"hello, I am not a library\n" * 10, "not an ELF shared library"),
        (b"\x7fELF\x02", "not an ELF shared library"),  # truncated header
    ],
)
def test_garbage_files_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    lib = tmp_path / "m.so"
    lib.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        xtvm.runtime.load(lib)


@pytest.mark.skipif(host_arch() not in EM, reason="needs a host with a known ELF machine")
def test_truncated_library_of_this_machine_fails_in_dlopen_cleanly(tmp_path: Path) -> None:
    lib = tmp_path / "m.so"
    lib.write_bytes(elf_header(EM[host_arch()]) + bytes(100))
    with pytest.raises(ModelError, match="cannot load"):
        xtvm.runtime.load(lib)
