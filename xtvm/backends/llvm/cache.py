"""On-disk cache of MCJIT object code, keyed by sha256(IR text + target string).

O3 plus codegen costs seconds on big models; a hit skips both. ``XTVM_CACHE_DIR``
chooses the folder (default ``~/.cache/xtvm``); set it to "" to disable caching. Objects
live in ``objects/``; the whole-build cache (:mod:`xtvm.driver.build_cache`) keeps its
entries beside them in ``builds/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

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
            return self.path.read_bytes()
        except OSError:
            return None

    def store(self, data: bytes) -> None:
        """Write atomically (rename), so concurrent compiles never see half a file."""
        write_atomic(self.path, data)
