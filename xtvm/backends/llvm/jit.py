"""Optimize llvmlite IR and load it in-process with MCJIT.

One TargetMachine per engine (MCJIT takes ownership; sharing one between engines
segfaults). The engine is kept alive by the returned runtime Module. ``jit_compile`` also
says how to load the same code again from its cached object alone (``load_object``), which
is what the whole-build cache does.
"""

from __future__ import annotations

import ctypes.util
import os
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xtvm.backends.llvm.cache import ObjectCache, cache_dir, cache_key
from xtvm.backends.llvm.target import Target, _init_llvm
from xtvm.errors import CompileError
from xtvm.runtime.module import NUM_THREADS_SYMBOL, Module
from xtvm.runtime.profile import CALLS_SYMBOL, NS_SYMBOL

ENTRY_SYMBOL = "xtvm_main"
# Globals the runtime reads or writes through their address, when a module has them.
RUNTIME_SYMBOLS = (NUM_THREADS_SYMBOL, NS_SYMBOL, CALLS_SYMBOL)


@dataclass
class JitInfo:
    """What it takes to load a module's object code again without its IR."""

    object_key: str | None = None
    """Key of the object in the object cache (None: the cache was off)."""
    externals: list[str] = field(default_factory=list)
    """Functions the object calls from the process (libm, libgomp, libc)."""
    symbols: list[str] = field(default_factory=list)
    """The ``RUNTIME_SYMBOLS`` the module defines."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@cache
def _load_libm() -> None:
    """Make libm's symbols (expf, tanhf, ...) resolvable by JIT-ed code."""
    name = ctypes.util.find_library("m")
    if name:
        try:
            llvm.load_library_permanently(name)
        except RuntimeError:
            pass  # the Python binary links libm anyway on glibc systems


@cache
def _load_libgomp() -> None:
    """Make libgomp's GOMP_parallel / omp_* resolvable (parallel loops call them)."""
    name = ctypes.util.find_library("gomp") or "libgomp.so.1"
    try:
        llvm.load_library_permanently(name)
    except RuntimeError as exc:
        raise CompileError(f"parallel loops need libgomp, which cannot be loaded: {exc}") from None


def parse_and_verify(ir_module: ir.Module | str) -> llvm.ModuleRef:
    """Parse llvmlite IR (or its text) into an LLVM module and verify it."""
    _init_llvm()
    text = ir_module if isinstance(ir_module, str) else str(ir_module)
    try:
        mod = llvm.parse_assembly(text)
    except RuntimeError as exc:
        raise CompileError(f"LLVM rejected the generated IR: {_first_line(exc)}") from exc
    try:
        mod.verify()
    except RuntimeError as exc:
        raise CompileError(f"generated LLVM IR does not verify: {_first_line(exc)}") from exc
    return mod


def _as_llvm_module(module: ir.Module | llvm.ModuleRef | str) -> llvm.ModuleRef:
    if isinstance(module, llvm.ModuleRef):
        return module
    return parse_and_verify(module)


def optimize(llvm_mod: llvm.ModuleRef, target: Target) -> llvm.ModuleRef:
    """Run LLVM's default O``target.opt_level`` pipeline in place (new pass manager)."""
    tm = target.create_target_machine()
    pto = llvm.create_pipeline_tuning_options(target.opt_level)
    if target.opt_level >= 2:
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(llvm_mod, pb)
    return llvm_mod


def emit_assembly(
    module: ir.Module | llvm.ModuleRef | str, target: Target, optimized: bool = False
) -> str:
    """Native assembly text for ``module`` (optimized first unless ``optimized``)."""
    mod = _as_llvm_module(module)
    if not optimized:
        optimize(mod, target)
    return target.create_target_machine().emit_assembly(mod)


def emit_object(
    module: ir.Module | llvm.ModuleRef | str, target: Target, optimized: bool = False
) -> bytes:
    """A relocatable (PIC) object file for ``module``."""
    mod = _as_llvm_module(module)
    if not optimized:
        optimize(mod, target)
    tm = target.create_target_machine(reloc="pic", codemodel="default")
    return tm.emit_object(mod)


def _externals(mod: llvm.ModuleRef) -> list[str]:
    return [f.name for f in mod.functions if f.is_declaration and not f.name.startswith("llvm.")]


def _check_externals(names: list[str]) -> None:
    """MCJIT aborts the whole process on an unresolved symbol: fail politely first."""
    _load_libm()
    if "GOMP_parallel" in names:
        _load_libgomp()
    for name in names:
        if llvm.address_of_symbol(name) is None:
            raise CompileError(f"external function @{name} is not available in this process")


def _runtime_module(
    engine: llvm.ExecutionEngine,
    tm: llvm.TargetMachine,
    metadata: dict[str, Any],
    symbols: list[str],
) -> Module:
    """Wrap a finalized engine: entry point plus the addresses of the runtime's globals."""
    addr = engine.get_function_address(ENTRY_SYMBOL)
    if not addr:
        raise CompileError(f"the compiled module has no @{ENTRY_SYMBOL} entry function")
    found = {name: engine.get_global_value_address(name) or None for name in symbols}
    ns, calls = found.get(NS_SYMBOL), found.get(CALLS_SYMBOL)
    return Module(
        addr,
        metadata,
        keepalive=(engine, tm),
        num_threads_address=found.get(NUM_THREADS_SYMBOL),
        profile_addresses=(ns, calls) if ns and calls else None,
    )


def compile_and_load(
    ir_module: ir.Module | str,
    target: Target,
    metadata: dict[str, Any],
    *,
    use_cache: bool = True,
    cache_path: str | os.PathLike[str] | None = None,
) -> Module:
    """JIT-compile ``ir_module`` and return a runnable runtime Module.

    With caching on (``XTVM_CACHE_DIR`` not empty, ``use_cache``), the object code is
    looked up by a hash of the IR text and target and O3/codegen are skipped on a hit.
    """
    return jit_compile(ir_module, target, metadata, use_cache=use_cache, cache_path=cache_path)[0]


def jit_compile(
    ir_module: ir.Module | str,
    target: Target,
    metadata: dict[str, Any],
    *,
    use_cache: bool = True,
    cache_path: str | os.PathLike[str] | None = None,
) -> tuple[Module, JitInfo]:
    """``compile_and_load``, also returning how to reload the object (``load_object``)."""
    _init_llvm()
    text = ir_module if isinstance(ir_module, str) else str(ir_module)
    folder = cache_dir(cache_path) if use_cache else None
    # The LLVM version is part of the key: another LLVM may compile the same IR differently.
    key = cache_key(text, f"{target} llvm={llvm.llvm_version_info}")
    entry_cache = ObjectCache(folder, key) if folder else None
    cached = entry_cache.load() if entry_cache else None

    mod = parse_and_verify(text)
    externals = _externals(mod)
    _check_externals(externals)
    defined = {g.name for g in mod.global_variables}
    info = JitInfo(
        object_key=key if entry_cache else None,
        externals=externals,
        symbols=[s for s in RUNTIME_SYMBOLS if s in defined],
    )
    if cached is None:
        optimize(mod, target)
    tm = target.create_target_machine(reloc="default", jit=True)
    try:
        engine = llvm.create_mcjit_compiler(mod, tm)
    except RuntimeError as exc:
        raise CompileError(f"cannot create the JIT: {_first_line(exc)}") from exc
    if entry_cache is not None:

        def notify(_mod: llvm.ModuleRef, data: bytes) -> None:
            if cached is None:
                entry_cache.store(data)

        def getbuffer(_mod: llvm.ModuleRef) -> bytes | None:
            return cached

        engine.set_object_cache(notify, getbuffer)
    try:
        engine.finalize_object()
    except RuntimeError as exc:
        raise CompileError(f"JIT code generation failed: {_first_line(exc)}") from exc
    return _runtime_module(engine, tm, metadata, info.symbols), info


def load_object(
    info: JitInfo, target: Target, metadata: dict[str, Any], cache_path: str | None = None
) -> Module | None:
    """Load the cached object ``info.object_key`` into a fresh JIT engine, without its IR.

    None when the object is no longer in the cache (the caller compiles again).
    """
    folder = cache_dir(cache_path)
    if folder is None or info.object_key is None:
        return None
    data = ObjectCache(folder, info.object_key).load()
    if data is None:
        return None
    _init_llvm()
    _check_externals(info.externals)
    tm = target.create_target_machine(reloc="default", jit=True)
    empty = llvm.parse_assembly("")
    empty.triple = target.triple
    try:
        engine = llvm.create_mcjit_compiler(empty, tm)
        engine.add_object_file(llvm.ObjectFileRef.from_data(data))
        engine.finalize_object()
    except RuntimeError as exc:
        raise CompileError(f"cannot load cached object code: {_first_line(exc)}") from exc
    return _runtime_module(engine, tm, metadata, info.symbols)
