"""Run compiled models: ``load`` a shared library or ``.tar`` package made by
``export_library``, after checking that this machine can run it (architecture, CPU features).

Only ctypes, json and numpy are imported here (never xdsl/llvmlite/xtvm.backends), so
deployment needs just numpy.
"""

from __future__ import annotations

import ctypes
import json
import os

from xtvm.errors import ModelError
from xtvm.runtime.c_runtime import c_runtime_dir, c_runtime_sources
from xtvm.runtime.cpu_features import check_cpu_features
from xtvm.runtime.cuda.loader import read_cuda_library
from xtvm.runtime.elf import check_loadable
from xtvm.runtime.metadata import check_metadata
from xtvm.runtime.module import ENTRY_TYPE, NUM_THREADS_SYMBOL, Module, aligned_empty
from xtvm.runtime.package import ExtractedPackage, extract_package, is_package
from xtvm.runtime.profile import CALLS_SYMBOL, NS_SYMBOL, ProfileReport, ProfileRow

__all__ = [
    "ENTRY_SYMBOL",
    "METADATA_SYMBOL",
    "Module",
    "ProfileReport",
    "ProfileRow",
    "aligned_empty",
    "c_runtime_dir",
    "c_runtime_sources",
    "load",
]

METADATA_SYMBOL = "xtvm_metadata"
ENTRY_SYMBOL = "xtvm_main"


def load(path: str | os.PathLike[str]) -> Module:
    """Open an xtvm shared library (``.so``) or package (``.tar``) and return a runnable
    Module. A library built for another architecture or for CPU features this machine
    lacks is refused (``IncompatibleLibraryError``) before any of its code runs. A GPU
    library (``--target cuda``) gives a ``xtvm.runtime.cuda.CudaModule``, read from the
    file without loading it (it holds no host code)."""
    full = os.path.abspath(os.fspath(path))
    if not os.path.isfile(full):
        raise ModelError(f"cannot load '{path}': no such file")
    if not is_package(full):
        return _load_library(full, str(path))
    package = extract_package(full, str(path))
    try:
        module = _load_library(package.library, str(path), package)
    except BaseException:
        package.remove()
        raise
    package.release(module)
    module.library_path = full  # the library's copy is gone: name the package
    return module


def _load_library(full: str, path: str, package: ExtractedPackage | None = None) -> Module:
    """``load`` of the library file ``full`` (``path``: the name shown in messages)."""
    cuda_module = read_cuda_library(full, path)  # data only: read as a file, never dlopen'd
    if cuda_module is not None:
        if package is not None:
            package.check_matches(cuda_module.metadata, path)
        cuda_module.library_path = full
        return cuda_module
    check_loadable(full, path)  # another architecture: say so instead of dlopen's message
    try:
        lib = ctypes.CDLL(full)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "dlopen failed"
        if package is not None and "map segment" in first:  # a noexec temporary folder
            first += f" (copied to {package.folder}: point TMPDIR at a folder allowing exec)"
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
    check_metadata(metadata, path, METADATA_SYMBOL)  # a bad signature: an error now, not at run
    check_cpu_features(metadata, path)  # nothing of the library has run yet
    if package is not None:
        package.check_matches(metadata, path)
    threads_addr = _symbol_address(lib, NUM_THREADS_SYMBOL)  # None: no parallel loops
    ns_addr, calls_addr = _symbol_address(lib, NS_SYMBOL), _symbol_address(lib, CALLS_SYMBOL)
    module = Module(
        ENTRY_TYPE(entry_addr),
        metadata,
        keepalive=lib,
        num_threads_address=threads_addr,
        profile_addresses=(ns_addr, calls_addr) if ns_addr and calls_addr else None,
    )
    module.library_path = full
    return module


def _symbol_address(lib: ctypes.CDLL, name: str) -> int | None:
    """Address of the data symbol ``name`` in ``lib``, or None if it does not export it."""
    try:
        return ctypes.addressof(ctypes.c_char.in_dll(lib, name))
    except ValueError:
        return None
