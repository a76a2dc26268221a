"""Read a cuda module out of an exported library (:mod:`xtvm.backends.cuda.export`).

The library is data only, so it is read as a file (:mod:`xtvm.runtime.cuda.elf_symbols`),
never ``dlopen``-ed: nothing of it runs, the linker's symbol sizes bound every read, and a
library linked on one host architecture loads on another. The metadata, PTX and constants
are checked like a freshly built module's; the driver sees the PTX at the first run.
"""

from __future__ import annotations

import json
import struct

from xtvm.errors import ModelError
from xtvm.runtime.cuda.elf_symbols import read_symbols
from xtvm.runtime.cuda.module import CudaModule
from xtvm.runtime.metadata import check_metadata

METADATA_SYMBOL = "xtvm_metadata"
PTX_SYMBOL = "xtvm_ptx"
CONSTANTS_SYMBOL = "xtvm_constants"
CONSTANTS_SIZE_SYMBOL = "xtvm_constants_size"
CUBIN_SYMBOL = "xtvm_cubin"  # optional
_SYMBOLS = (METADATA_SYMBOL, PTX_SYMBOL, CONSTANTS_SYMBOL, CONSTANTS_SIZE_SYMBOL)


def _text(data: bytes, symbol: str, shown: str) -> str:
    """A NUL-terminated UTF-8 string symbol's text."""
    if not data.endswith(b"\0") or b"\0" in data[:-1]:
        raise ModelError(f"cannot load '{shown}': {symbol} is not one NUL-terminated string")
    try:
        return data[:-1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"cannot load '{shown}': {symbol} is not UTF-8: {exc}") from None


def read_cuda_library(path: str, shown: str) -> CudaModule | None:
    """The CudaModule in the library file ``path``, or None when it is not a cuda library
    (no ``xtvm_ptx``: a CPU library, for the ``dlopen`` path)."""
    symbols = read_symbols(path, (*_SYMBOLS, CUBIN_SYMBOL), shown)
    if symbols is None or PTX_SYMBOL not in symbols:
        return None
    missing = [s for s in _SYMBOLS if s not in symbols]
    if missing:
        raise ModelError(f"cannot load '{shown}': a cuda library without {', '.join(missing)}")
    try:
        metadata = json.loads(_text(symbols[METADATA_SYMBOL], METADATA_SYMBOL, shown))
    except json.JSONDecodeError as exc:
        raise ModelError(f"cannot load '{shown}': corrupt {METADATA_SYMBOL}: {exc}") from None
    check_metadata(metadata, shown, METADATA_SYMBOL)
    if metadata.get("device") != "cuda":
        raise ModelError(f"cannot load '{shown}': it has PTX but its metadata is not for cuda")
    ptx = _text(symbols[PTX_SYMBOL], PTX_SYMBOL, shown)
    size_field = symbols[CONSTANTS_SIZE_SYMBOL]
    constants = symbols[CONSTANTS_SYMBOL]
    if len(size_field) != 8 or struct.unpack("<Q", size_field)[0] != len(constants):
        raise ModelError(
            f"cannot load '{shown}': {CONSTANTS_SIZE_SYMBOL} disagrees with the size of "
            f"{CONSTANTS_SYMBOL} ({len(constants)} bytes)"
        )
    cubin = symbols.get(CUBIN_SYMBOL) or None
    return CudaModule(ptx, metadata, constants, shown=shown, cubin=cubin)
