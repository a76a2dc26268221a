"""Read a model package (``xtvm compile -o model.tar``) without trusting its contents.

A package is an uncompressed tar archive holding ``mod.so`` (the shared library),
``metadata.json`` (the signature and target, as embedded in the library) and
``mod.relay.mlir`` (the relay IR it was compiled from). A package may come from anywhere,
so reading it never uses ``tarfile.extractall``: members are walked one header at a time
(at most ``MAX_MEMBERS``), any absolute or ``..`` name, link, device or sparse member
refuses the whole archive, sizes are bounded before a byte is read, and only the library
and the metadata are copied out, as regular files under fixed names, into a private
temporary folder (mode 0700), removed as soon as the library is loaded.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xtvm.errors import ModelError

if TYPE_CHECKING:
    import tarfile  # imported when a package is read: .so loads do not pay for it

LIBRARY_MEMBER = "mod.so"
METADATA_MEMBER = "metadata.json"
RELAY_MEMBER = "mod.relay.mlir"
PACKAGE_SUFFIXES = (".tar",)

MAX_MEMBERS = 64
MAX_METADATA_BYTES = 16 << 20
MAX_MEMBER_BYTES = 8 << 30
"""The largest member accepted (the library holds the weights: BERT-large is ~1.3 GB)."""
_CHUNK = 1 << 20


def is_package(path: str) -> bool:
    """Whether ``path`` should be read as a package: a tar header, or a ``.tar`` name (whose
    bad content is then reported as a bad archive rather than a bad library)."""
    if path.lower().endswith(PACKAGE_SUFFIXES):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return len(head) == 512 and head[257:262] == b"ustar"


@dataclass
class ExtractedPackage:
    """A package's library and metadata, copied into a private folder."""

    folder: str
    library: str
    metadata: dict[str, Any]
    has_relay: bool

    def check_matches(self, embedded: dict[str, Any], shown: str) -> None:
        """Refuse a package whose ``metadata.json`` disagrees with its library's."""
        if _normalized(embedded) != _normalized(self.metadata):
            raise ModelError(
                f"cannot load '{shown}': {METADATA_MEMBER} does not match the metadata "
                f"embedded in {LIBRARY_MEMBER} (a repacked or corrupt package)"
            )

    def release(self, owner: object) -> None:
        """Delete the folder once its library is loaded into ``owner`` (the Module).

        Right away where the system allows removing a mapped library (Linux, macOS: the
        mapping stays), so a process that crashes or is killed leaves nothing behind; else
        when ``owner`` is collected, or at exit."""
        self.remove()
        if os.path.exists(self.folder):
            weakref.finalize(owner, shutil.rmtree, self.folder, True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _normalized(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def _member_name(info: tarfile.TarInfo, shown: str) -> str:
    """The member's name without a leading ``./``; refuses names that could escape."""
    name = info.name
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        raise ModelError(f"cannot load '{shown}': unsafe member name {name!r} in the package")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ModelError(f"cannot load '{shown}': unsafe member name {name!r} in the package")
    return posixpath.join(*parts) if parts else "."


def _check_kind(info: tarfile.TarInfo, name: str, shown: str) -> None:
    if info.issym() or info.islnk():
        raise ModelError(f"cannot load '{shown}': member {name!r} is a link")
    if info.isdev():
        raise ModelError(f"cannot load '{shown}': member {name!r} is a device or fifo")
    if info.issparse():
        raise ModelError(f"cannot load '{shown}': member {name!r} is a sparse file")
    if not (info.isreg() or info.isdir()):
        raise ModelError(f"cannot load '{shown}': member {name!r} is not a regular file")


def _copy_member(tar: tarfile.TarFile, info: tarfile.TarInfo, dest: str, mode: int) -> None:
    """Copy a regular member's bytes to a new file ``dest`` (never following or replacing a
    file): in the kernel with ``copy_file_range`` where it can (about twice as fast for a
    large library), else through Python."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "wb") as out:
        copied = _copy_in_kernel(tar, info, out.fileno())
        src = tar.extractfile(info)
        if src is None:
            raise EOFError("unexpected end of data")
        src.seek(copied)
        out.seek(copied)
        left = info.size - copied
        while left > 0:
            chunk = src.read(min(_CHUNK, left))
            if not chunk:
                raise EOFError("unexpected end of data")
            out.write(chunk)
            left -= len(chunk)


def _copy_in_kernel(tar: tarfile.TarFile, info: tarfile.TarInfo, out: int) -> int:
    """Bytes of ``info`` copied to ``out`` by ``os.copy_file_range`` (0 where unsupported)."""
    copy = getattr(os, "copy_file_range", None)
    try:
        src = tar.fileobj.fileno()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return 0
    done = 0
    while copy is not None and done < info.size:
        try:
            n = copy(src, out, info.size - done, info.offset_data + done)
        except OSError:
            break  # EXDEV, ENOSYS, EINVAL...: the rest goes through Python
        if n == 0:
            raise EOFError("unexpected end of data")
        done += n
    return done


def _walk(tar: tarfile.TarFile, folder: str, shown: str) -> tuple[set[str], bytes]:
    """Check every member, copy the library out; returns the names seen and the metadata."""
    seen: set[str] = set()
    metadata = b""
    count = 0
    while (info := tar.next()) is not None:
        count += 1
        if count > MAX_MEMBERS:
            raise ModelError(
                f"cannot load '{shown}': the package has more than {MAX_MEMBERS} members"
            )
        name = _member_name(info, shown)
        _check_kind(info, name, shown)
        if info.isdir():
            continue
        if name in seen:
            raise ModelError(f"cannot load '{shown}': member {name!r} appears twice")
        seen.add(name)
        bound = MAX_METADATA_BYTES if name == METADATA_MEMBER else MAX_MEMBER_BYTES
        if info.size > bound:
            raise ModelError(
                f"cannot load '{shown}': member {name!r} is {info.size} bytes, over the "
                f"limit of {bound}"
            )
        if name == LIBRARY_MEMBER:
            _copy_member(tar, info, os.path.join(folder, LIBRARY_MEMBER), 0o700)
        elif name == METADATA_MEMBER and (src := tar.extractfile(info)) is not None:
            metadata = src.read(info.size)
            if len(metadata) != info.size:
                raise EOFError("unexpected end of data")
    return seen, metadata


def _parse_metadata(data: bytes, shown: str) -> dict[str, Any]:
    try:
        metadata = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot load '{shown}': {METADATA_MEMBER} is not JSON: {exc}") from None
    if not isinstance(metadata, dict):
        raise ModelError(f"cannot load '{shown}': {METADATA_MEMBER} is not a JSON object")
    return metadata


def extract_package(path: str, shown: str | None = None) -> ExtractedPackage:
    """Check the package at ``path`` and copy its library out; a ModelError names what is
    wrong (``shown``: the name used in messages, default ``path``)."""
    import tarfile

    shown = path if shown is None else shown
    folder = tempfile.mkdtemp(prefix="xtvm-package-")  # mode 0700, a fresh name
    try:
        try:
            try:
                tar = tarfile.open(path, mode="r:")
            except tarfile.TarError:
                raise ModelError(
                    f"cannot load '{shown}': not an uncompressed tar archive"
                ) from None
            with tar:
                seen, raw = _walk(tar, folder, shown)
        except (tarfile.TarError, EOFError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise ModelError(f"cannot load '{shown}': corrupt archive: {why}") from None
        except OSError as exc:
            raise ModelError(f"cannot load '{shown}': {exc.strerror or exc}") from None
        for needed in (LIBRARY_MEMBER, METADATA_MEMBER):
            if needed not in seen:
                raise ModelError(f"cannot load '{shown}': the package has no {needed}")
        return ExtractedPackage(
            folder,
            os.path.join(folder, LIBRARY_MEMBER),
            _parse_metadata(raw, shown),
            RELAY_MEMBER in seen,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
