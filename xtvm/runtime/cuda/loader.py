"""Read a cuda module out of an exported library (:mod:`xtvm.backends.cuda.export`).

The library is data only (linked without start files, so ``dlopen`` runs none of its code):
the metadata, the PTX and the constants are copied out of its symbols and checked like a
freshly built module; the driver sees the PTX at the first run.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from xtvm.errors import ModelError
from xtvm.runtime.cuda.module import CudaModule

PTX_SYMBOL = "xtvm_ptx"
CONSTANTS_SYMBOL = "xtvm_constants"
CONSTANTS_SIZE_SYMBOL = "xtvm_constants_size"
MAX_PTX_BYTES = 1 << 30


def mapped_end(address: int, path: str) -> int | None:
    """End of the run of ``path``'s mappings (``/proc/self/maps``) that holds ``address``:
    sizes read from the library are bounded by it, so a forged size cannot make us read
    past the library. None where the maps cannot be read."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    ranges = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and os.path.realpath(fields[5]) == real:
            lo, hi = fields[0].split("-")
            ranges.append((int(lo, 16), int(hi, 16)))
    runs: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if runs and lo == runs[-1][1]:
            runs[-1][1] = hi  # adjacent segments of the same file
        else:
            runs.append([lo, hi])
    return next((hi for lo, hi in runs if lo <= address < hi), None)


def load_cuda_library(
    lib: ctypes.CDLL, metadata: dict[str, Any], path: str, shown: str
) -> CudaModule:
    """The CudaModule held by the opened library ``lib`` at ``path`` (``shown``: its name
    in messages)."""
    try:
        ptx_addr = ctypes.addressof(ctypes.c_char.in_dll(lib, PTX_SYMBOL))
        blob_addr = ctypes.addressof(ctypes.c_char.in_dll(lib, CONSTANTS_SYMBOL))
        size = ctypes.c_uint64.in_dll(lib, CONSTANTS_SIZE_SYMBOL).value
    except ValueError:
        raise ModelError(
            f"cannot load '{shown}': a cuda library needs {PTX_SYMBOL}, {CONSTANTS_SYMBOL} "
            f"and {CONSTANTS_SIZE_SYMBOL}"
        ) from None
    ptx_end = mapped_end(ptx_addr, path)
    if ptx_end is None:
        raw = ctypes.string_at(ptx_addr)
    else:
        raw = ctypes.string_at(ptx_addr, min(ptx_end - ptx_addr, MAX_PTX_BYTES + 1))
        if b"\0" not in raw:
            raise ModelError(f"cannot load '{shown}': {PTX_SYMBOL} is not NUL-terminated")
        raw = raw[: raw.index(b"\0")]
    blob_end = mapped_end(blob_addr, path) if size else None
    limit = os.path.getsize(path) if blob_end is None else blob_end - blob_addr
    if size > limit:
        raise ModelError(
            f"cannot load '{shown}': {CONSTANTS_SIZE_SYMBOL} = {size} runs past the library"
        )
    try:
        ptx = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"cannot load '{shown}': {PTX_SYMBOL} is not UTF-8: {exc}") from None
    constants = ctypes.string_at(blob_addr, size) if size else b""
    module = CudaModule(ptx, metadata, constants, shown=shown)
    module._keepalive = lib
    return module
