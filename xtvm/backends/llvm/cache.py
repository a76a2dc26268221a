"""On-disk cache of MCJIT object code, keyed by sha256(IR text + target string).

O3 plus codegen costs seconds on big models; a hit skips both. ``XTVM_CACHE_DIR``
chooses the folder (default ``~/.cache/xtvm``); set it to "" to disable caching. Objects
live in ``objects/``; the whole-build cache (:mod:`xtvm.driver.build_cache`) keeps its
entries beside them in ``builds/``.

The cache is bounded: after each write, if its files add up to more than
``XTVM_CACHE_MAX_MB`` (default 2048; 0 means no limit), the least recently used ones are
deleted until it is back under 80% of that (a hit refreshes an entry's time). A ResNet-18
build adds about 50 MB, so an unbounded cache would grow by that much per changed model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from xtvm.errors import InputError

_FORMAT = "v1"  # bump when the codegen changes what the same IR compiles to


def cache_root(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The cache's top folder, or None when caching is disabled."""
    if override is not None:
        text = os.fspath(override)
    else:
        text = os.environ.get("XTVM_CACHE_DIR", os.path.join("~", ".cache", "xtvm"))
    if not text:
        return None
    return Path(text).expanduser()


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The object folder of the cache, or None when caching is disabled."""
    root = cache_root(override)
    return None if root is None else root / "objects"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` by renaming a temporary file, so readers never see half a file.

    Failures (read-only or full disk) are ignored: they only cost us the cache.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass


MAX_ENV = "XTVM_CACHE_MAX_MB"
DEFAULT_MAX_MB = 2048


def cache_limit_bytes() -> int | None:
    """The size limit from ``XTVM_CACHE_MAX_MB``; None for no limit."""
    text = os.environ.get(MAX_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_MB << 20
    try:
        mb = float(text)
    except ValueError:
        raise InputError(f"{MAX_ENV} must be a number of megabytes, got {text!r}") from None
    if mb < 0:
        raise InputError(f"{MAX_ENV} must be a number of megabytes, got {text!r}")
    return None if mb == 0 else int(mb * (1 << 20))


def touch(path: Path) -> None:
    """Mark a cache entry as used now (eviction removes the least recently used)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def trim_cache(root: Path, limit: int | None) -> int:
    """Delete the least recently used files under ``root`` while they add up to more than
    ``limit`` bytes, down to 80% of it; returns the bytes freed. Files being written
    (``*.tmp``) are left alone; races with other processes only cost cache hits."""
    if limit is None:
        return 0
    files: list[tuple[float, int, Path]] = []
    total = 0
    for path in root.rglob("*"):
        if path.suffix == ".tmp":
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        if path.is_file():
            files.append((st.st_mtime, st.st_size, path))
            total += st.st_size
    if total <= limit:
        return 0
    freed = 0
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total - freed <= limit * 0.8:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            freed += size
    return freed


def cache_key(ir_text: str, target_string: str) -> str:
    """Content hash of everything that determines the object code."""
    h = hashlib.sha256()
    for part in (_FORMAT, target_string, ir_text):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


class ObjectCache:
    """One entry of the cache: the object for one (IR, target) key."""

    def __init__(self, folder: Path, key: str):
        self.path = folder / f"{key}.o"

    def load(self) -> bytes | None:
        """The cached object, or None (missing or unreadable entries are misses)."""
        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        touch(self.path)
        return data

    def store(self, data: bytes) -> None:
        """Write atomically (rename), so concurrent compiles never see half a file; then
        keep the cache under its size limit."""
        write_atomic(self.path, data)
        trim_cache(self.path.parent.parent, cache_limit_bytes())
