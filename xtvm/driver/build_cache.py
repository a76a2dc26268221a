"""Whole-build cache: ``xtvm.build`` of an unchanged model skips the pass pipeline.

The key is a content hash of everything a build depends on: the input relay module (printed,
with every dense constant replaced by a sha256 of its raw bytes, so weights are hashed at
memory speed instead of being printed as text), the pass pipeline string with the options
``build`` sets in it, the target, and the compiler itself (every source file of the ``xtvm``
package plus the versions of xDSL, llvmlite/LLVM, numpy and Python, which together fix what
the pipeline string means). Any change in one of them is a miss.

An entry, ``<cache>/builds/<key>.json``, holds the runtime metadata, the symbols the JIT
object needs and exports, and the key of that object in the object cache
(``<cache>/objects/<key>.o``, see :mod:`xtvm.backends.llvm.cache`). A hit loads the object
into a JIT engine directly; the IR of each level is only rebuilt if someone asks for it.

``build(..., cache=False)`` or ``XTVM_CACHE=0`` turns this off; ``XTVM_CACHE_DIR=""`` turns
off every cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp
from xdsl.ir import Attribute
from xdsl.printer import Printer

from xtvm.backends.llvm.cache import cache_limit_bytes, cache_root, touch, trim_cache, write_atomic

CACHE_ENV = "XTVM_CACHE"
_FORMAT = "build-v1"  # bump when an entry's layout or meaning changes
_PACKAGE = Path(__file__).resolve().parent.parent  # the xtvm package


def cache_enabled(cache_flag: bool | None) -> bool:
    """``cache_flag`` if given, else ``XTVM_CACHE`` (off for 0/false/no/off); on by default."""
    if cache_flag is not None:
        return bool(cache_flag)
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@cache
def compiler_fingerprint() -> str:
    """sha256 of the xtvm sources and the versions of what they run on (once per process)."""
    from importlib.metadata import version

    import llvmlite
    import llvmlite.binding as llvm
    import numpy as np

    h = hashlib.sha256()
    versions = (
        f"xdsl={version('xdsl')} llvmlite={llvmlite.__version__} "
        f"llvm={llvm.llvm_version_info} numpy={np.__version__} python={sys.version} "
        f"machine={platform.machine()}"
    )
    h.update(versions.encode())
    for path in sorted(p for p in _PACKAGE.rglob("*") if p.suffix in (".py", ".json")):
        h.update(b"\0" + path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


class _HashWriter:
    """A text stream that feeds everything written to it into a hash."""

    def __init__(self, h: Any):
        self.h = h

    def write(self, text: str) -> int:
        self.h.update(text.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        pass


@dataclass(eq=False, repr=False)
class _HashingPrinter(Printer):
    """Prints IR as usual except dense constants, which become a digest of their bytes."""

    def print_attribute(self, attribute: Attribute) -> None:
        if isinstance(attribute, DenseIntOrFPElementsAttr):
            raw = attribute.data.data
            digest = hashlib.sha256(raw).hexdigest()
            self.print_string(f"dense_sha256<{digest}, {len(raw)}> : ")
            self.print_attribute(attribute.get_type())
            return
        super().print_attribute(attribute)


def module_fingerprint(module: ModuleOp) -> str:
    """Content hash of ``module`` (its generic form, weights hashed as raw bytes)."""
    h = hashlib.sha256()
    printer = _HashingPrinter(stream=_HashWriter(h), print_generic_format=True)
    printer.print_op(module)
    return h.hexdigest()


def build_key(module: ModuleOp, recipe: str) -> str:
    """The cache key of building ``module`` as ``recipe`` says (pipeline string, target,
    options; the passes it names are fixed by the compiler's sources)."""
    h = hashlib.sha256()
    for part in (_FORMAT, compiler_fingerprint(), recipe, module_fingerprint(module)):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


class BuildCache:
    """The ``builds/`` folder of the cache: one JSON entry per build key."""

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def open(cls, cache_flag: bool | None) -> BuildCache | None:
        """The build cache, or None when it is disabled."""
        if not cache_enabled(cache_flag):
            return None
        root = cache_root()
        return None if root is None else cls(root / "builds")

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The entry for ``key``; None if missing, unreadable or of another format."""
        try:
            entry = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != _FORMAT:
            return None
        touch(self._path(key))
        return entry

    def store(self, key: str, entry: dict[str, Any]) -> None:
        """Write the entry atomically (a concurrent reader sees all of it or nothing), then
        keep the cache under its size limit."""
        write_atomic(self._path(key), json.dumps({**entry, "format": _FORMAT}).encode())
        trim_cache(self.folder.parent, cache_limit_bytes())
