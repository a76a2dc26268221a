"""Write a model package: ``export_library("model.tar")`` / ``xtvm compile -o model.tar``.

The archive (uncompressed tar, as tvmc writes) holds the shared library ``mod.so``, its
metadata as ``metadata.json`` (the same JSON the library embeds: signature, target, xtvm
version) so tools can read it without loading code, and ``mod.relay.mlir``, the relay IR the
library was compiled from (as the relay passes left it; weights over 1 KiB elided, they are in
``mod.so``). ``xtvm.runtime.load`` reads it back (:mod:`xtvm.runtime.package`). The file
appears at once, complete: it is written under a temporary name and renamed.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
from typing import Any

from xtvm.errors import CompileError, XTVMError
from xtvm.runtime.package import LIBRARY_MEMBER, METADATA_MEMBER, RELAY_MEMBER

ELIDE_HEX_CHARS = 2048
"""Constants printed with more hex digits than this (1 KiB of data) are elided."""
_LARGE_DENSE = re.compile(rf'dense<"0x[0-9A-Fa-f]{{{ELIDE_HEX_CHARS},}}">')


def elide_weights(relay: str) -> str:
    """``relay`` with each constant over 1 KiB printed as MLIR's ``dense_resource<__elided__>``:
    the weights are in ``mod.so`` already, and in hex they would triple the package."""
    return _LARGE_DENSE.sub("dense_resource<__elided__>", relay)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(mtime)
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: str, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = os.path.getsize(path), 0o755, int(mtime)
    with open(path, "rb") as f:
        tar.addfile(info, f)


def export_package(lib: Any, path: str | os.PathLike[str]) -> str:
    """Write ``lib`` (a ``CompiledModule``) as the package ``path``; return its absolute path.

    The relay IR is printed from the build (a cache hit runs the relay passes again for it).
    """
    out = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(out)
    if not os.path.isdir(folder):
        raise CompileError(f"cannot export to '{path}': folder does not exist")
    try:
        relay: bytes | None = elide_weights(lib.get_source("relay")).encode("utf-8")
    except XTVMError:
        relay = None  # a custom pipeline that keeps no relay level: the package goes without

    metadata = json.dumps(lib.metadata, sort_keys=True, indent=1).encode("utf-8")
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="xtvm-package-") as tmp:
        so = lib.export_library(os.path.join(tmp, LIBRARY_MEMBER))
        fd, partial = tempfile.mkstemp(prefix=".xtvm-", suffix=".tar.part", dir=folder)
        try:
            with (
                os.fdopen(fd, "wb") as f,
                tarfile.open(fileobj=f, mode="w:", format=tarfile.PAX_FORMAT) as tar,
            ):
                _add_file(tar, LIBRARY_MEMBER, so, now)
                _add_bytes(tar, METADATA_MEMBER, metadata, now)
                if relay is not None:
                    _add_bytes(tar, RELAY_MEMBER, relay, now)
            os.chmod(partial, 0o644)
            os.replace(partial, out)
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
    return out
