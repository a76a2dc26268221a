"""Run compiled models: ``load`` a shared library made by ``export_library``.

Only ctypes, json and numpy are imported here (never xdsl/llvmlite/xtvm.backends), so
deployment needs just numpy.
"""

from __future__ import annotations

import ctypes
import json
import os

from xtvm.errors import ModelError
from xtvm.runtime.module import ENTRY_TYPE, NUM_THREADS_SYMBOL, Module, aligned_empty

__all__ = ["Module", "load", "aligned_empty", "METADATA_SYMBOL", "ENTRY_SYMBOL"]

METADATA_SYMBOL = "xtvm_metadata"
ENTRY_SYMBOL = "xtvm_main"


def load(path: str | os.PathLike[str]) -> Module:
    """Open an xtvm shared library and return a runnable Module."""
    full = os.path.abspath(os.fspath(path))
    if not os.path.isfile(full):
        raise ModelError(f"cannot load '{path}': no such file")
    try:
        lib = ctypes.CDLL(full)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "dlopen failed"
        raise ModelError(f"cannot load '{path}': {first}") from None
    try:
        meta_char = ctypes.c_char.in_dll(lib, METADATA_SYMBOL)
        entry_addr = ctypes.cast(getattr(lib, ENTRY_SYMBOL), ctypes.c_void_p).value
    except (ValueError, AttributeError):
        raise ModelError(
            f"cannot load '{path}': not an xtvm library (no {METADATA_SYMBOL}/{ENTRY_SYMBOL})"
        ) from None
    text = ctypes.string_at(ctypes.addressof(meta_char))
    try:
        metadata = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot load '{path}': corrupt {METADATA_SYMBOL}: {exc}") from None
    if not isinstance(metadata, dict) or "inputs" not in metadata or "outputs" not in metadata:
        raise ModelError(f"cannot load '{path}': {METADATA_SYMBOL} lacks inputs/outputs")
    try:
        threads_addr: int | None = ctypes.addressof(ctypes.c_int32.in_dll(lib, NUM_THREADS_SYMBOL))
    except ValueError:
        threads_addr = None  # no parallel loops
    module = Module(
        ENTRY_TYPE(entry_addr), metadata, keepalive=lib, num_threads_address=threads_addr
    )
    module.library_path = full
    return module
