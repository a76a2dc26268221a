"""On-disk cache of MCJIT object code, keyed by sha256(IR text + target string).

O3 plus codegen costs seconds on big models; a hit skips both. ``XTVM_CACHE_DIR``
chooses the folder (default ``~/.cache/xtvm``); set it to "" to disable caching.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_FORMAT = "v1"  # bump when the codegen changes what the same IR compiles to


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The cache folder, or None when caching is disabled."""
    if override is not None:
        text = os.fspath(override)
    else:
        text = os.environ.get("XTVM_CACHE_DIR", os.path.join("~", ".cache", "xtvm"))
    if not text:
        return None
    return Path(text).expanduser() / "objects"


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only or full disk only costs us the cache
