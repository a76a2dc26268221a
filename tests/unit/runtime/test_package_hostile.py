"""Hostile or broken .tar packages: every one is refused with a one-line ModelError, nothing
is written outside the private folder, and that folder is removed after a refusal."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

import xtvm.runtime
from xtvm.errors import ModelError
from xtvm.runtime import package

META = json.dumps({"inputs": [], "outputs": []}).encode()


def _member(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE) -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if info.type == tarfile.SYMTYPE or info.type == tarfile.LNKTYPE:
                info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Package folders go here, so the test can see that refusals leave none behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _refused(path: Path, message: str, private_tmp: Path) -> None:
    with pytest.raises(ModelError, match=message) as info:
        xtvm.runtime.load(path)
    assert "\n" not in str(info.value)
    assert list(private_tmp.iterdir()) == []  # the private folder was removed


HOSTILE: dict[str, tuple[Callable[[], list], str]] = {
    "traversal": (
        lambda: [_member("../evil.so", b"x"), _member("metadata.json", META)],
        "unsafe member name '../evil.so'",
    ),
    "nested-traversal": (
        lambda: [_member("a/../../mod.so", b"x"), _member("metadata.json", META)],
        "unsafe member name",
    ),
    "absolute": (lambda: [_member("/tmp/mod.so", b"x")], "unsafe member name '/tmp/mod.so'"),
    "backslash": (lambda: [_member("..\\mod.so", b"x")], "unsafe member name"),
    "symlink": (
        lambda: [_member("mod.so", kind=tarfile.SYMTYPE), _member("metadata.json", META)],
        "member 'mod.so' is a link",
    ),
    "hardlink": (lambda: [_member("metadata.json", kind=tarfile.LNKTYPE)], "is a link"),
    "device": (lambda: [_member("mod.so", kind=tarfile.CHRTYPE)], "is a device or fifo"),
    "fifo": (lambda: [_member("x", kind=tarfile.FIFOTYPE)], "is a device or fifo"),
    "duplicate": (
        lambda: [_member("mod.so", b"a"), _member("./mod.so", b"b")],
        "'mod.so' appears twice",
    ),
    "no-library": (lambda: [_member("metadata.json", META)], "the package has no mod.so"),
    "no-metadata": (lambda: [_member("mod.so", b"\x7fELF")], "the package has no metadata.json"),
    "metadata-not-json": (
        lambda: [_member("mod.so", b"x"), _member("metadata.json", b"{not json")],
        "metadata.json is not JSON",
    ),
    "metadata-not-object": (
        lambda: [_member("mod.so", b"x"), _member("metadata.json", b"[1, 2]")],
        "not a JSON object",
    ),
    "library-not-elf": (
        lambda: [_member("mod.so", b"MZ garbage"), _member("metadata.json", META)],
        "not an ELF shared library",
    ),
    "too-many-members": (
        lambda: [_member(f"f{i}", b"") for i in range(package.MAX_MEMBERS + 1)],
        "more than 64 members",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_package_is_refused(case: str, tmp_path: Path, private_tmp: Path) -> None:
    make, message = HOSTILE[case]
    path = write_tar(tmp_path / "m.tar", make())
    _refused(path, message, private_tmp)
    assert not (tmp_path / "evil.so").exists() and not (tmp_path.parent / "evil.so").exists()


def test_huge_member_header_is_refused_before_reading(tmp_path: Path, private_tmp: Path) -> None:
    info = tarfile.TarInfo("mod.so")
    info.size = 1 << 40  # claims a terabyte; the archive holds 1 KiB
    path = tmp_path / "m.tar"
    path.write_bytes(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    _refused(path, r"'mod.so' is 1099511627776 bytes, over the limit", private_tmp)
    info = tarfile.TarInfo("metadata.json")
    info.size = package.MAX_METADATA_BYTES + 1
    path.write_bytes(info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024))
    _refused(path, "'metadata.json' is .* over the limit", private_tmp)


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_truncated_member_is_refused(
    kernel_copy: bool, tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not kernel_copy:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    path = write_tar(tmp_path / "m.tar", [_member("mod.so", bytes(5000))])
    path.write_bytes(path.read_bytes()[:3000])
    _refused(path, "unexpected end of data", private_tmp)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an uncompressed tar archive"),
        (b"garbage " * 100, "not an uncompressed tar archive"),
        (gzip.compress(b"x" * 2000), "not an uncompressed tar archive"),
        (bytes(10240), "the package has no mod.so"),  # an empty archive
    ],
    ids=["empty", "garbage", "gzip", "zeros"],
)
def test_not_a_tar_archive(content: bytes, message: str, tmp_path: Path, private_tmp: Path) -> None:
    path = tmp_path / "m.tar"
    path.write_bytes(content)
    _refused(path, f"cannot load '.*m.tar': {message}", private_tmp)


def test_only_expected_members_are_copied_out(
    tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = [
        _member("./", kind=tarfile.DIRTYPE),
        _member("notes/readme.txt", b"ignored"),
        _member("metadata.json", META),
        _member("mod.so", b"\x7fELF" + bytes(60)),  # a bad library, refused after extraction
    ]
    folders: list[str] = []
    original = package.extract_package

    def spy(path: str, shown: str | None = None) -> package.ExtractedPackage:
        extracted = original(path, shown)
        folders.append(extracted.folder)
        assert sorted(p.name for p in Path(extracted.folder).iterdir()) == ["mod.so"]
        assert Path(extracted.folder).stat().st_mode & 0o777 == 0o700
        return extracted

    monkeypatch.setattr(xtvm.runtime, "extract_package", spy)
    _refused(write_tar(tmp_path / "m.tar", members), "cannot load", private_tmp)
    assert folders and not Path(folders[0]).exists()
