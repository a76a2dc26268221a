"""Optimize llvmlite IR, generate its machine code once, and load it in-process with MCJIT.

``compile_object`` runs O3 and code generation once per build and returns one PIC object
(with the ``xtvm_metadata`` signature in it); the JIT loads those bytes
(``load_object_code``) and ``export_library`` links the same bytes into a shared library,
so exporting never generates code again. The object cache keeps it by a hash of the IR, and
the whole-build cache reloads it from there without any IR (``load_object``).

One TargetMachine per engine (MCJIT takes ownership; sharing one between engines
segfaults). The engine is kept alive by the returned runtime Module.

A foreign target's object (cross-compiling) is never loaded: ``runtime_module_for`` gives a
``ForeignModule`` instead, which knows the signature and exports but refuses to run.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xtvm.backends.llvm.cache import ObjectCache, cache_dir, cache_key
from xtvm.backends.llvm.codegen_pool import (
    codegen_jobs,
    link_relocatable,
    pool,
    prewarm,
    relocatable_linker,
)
from xtvm.backends.llvm.foreign import ForeignModule
from xtvm.backends.llvm.partition import Parts, partition
from xtvm.backends.llvm.target import Target, _init_llvm
from xtvm.backends.llvm.translate import add_metadata_global
from xtvm.backends.llvm.weights import Blob, blob_asm, blobs_supported, split_weights, write_blobs
from xtvm.errors import CompileError, ForeignTargetError
from xtvm.runtime import METADATA_SYMBOL
from xtvm.runtime.cpu_features import missing_features
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
    tm = target.create_target_machine(reloc="pic", codemodel=object_code_model(target))
    return tm.emit_object(mod)


def _externals(mod: llvm.ModuleRef) -> list[str]:
    names = [f.name for f in mod.functions if f.is_declaration and not f.name.startswith("llvm.")]
    return names + [g.name for g in mod.global_variables if g.is_declaration]


def _module_symbols(module: ir.Module | str) -> tuple[list[str], list[str]]:
    """(externals, runtime symbols) of ``module``: what the object will need from the
    process, and which ``RUNTIME_SYMBOLS`` it defines. Read off an ``ir.Module`` directly;
    text is parsed for it."""
    if isinstance(module, str):
        mod = parse_and_verify(module)
        defined = {g.name for g in mod.global_variables if not g.is_declaration}
        return _externals(mod), [s for s in RUNTIME_SYMBOLS if s in defined]
    externals, defined = [], set()
    for value in module.globals.values():
        if isinstance(value, ir.Function):
            if value.is_declaration and not value.name.startswith("llvm."):
                externals.append(value.name)
        elif isinstance(value, ir.GlobalVariable):
            if value.initializer is None and value.linkage in ("", "external", "extern_weak"):
                externals.append(value.name)
            else:
                defined.add(value.name)
    return externals, [s for s in RUNTIME_SYMBOLS if s in defined]


def _check_externals(names: list[str]) -> None:
    """MCJIT aborts the whole process on an unresolved symbol: fail politely first."""
    _load_libm()
    if "GOMP_parallel" in names:
        _load_libgomp()
    for name in names:
        if llvm.address_of_symbol(name) is None:
            raise CompileError(f"external symbol @{name} is not available in this process")


def _with_metadata(text: str, module: ir.Module | str, metadata: dict[str, Any] | None) -> str:
    """``text`` plus the ``xtvm_metadata`` string global (the signature ``xtvm.runtime.load``
    reads from a library), appended as text so the caller's module stays untouched."""
    if metadata is None:
        return text
    names = module.globals if isinstance(module, ir.Module) else ()
    if METADATA_SYMBOL in names or (isinstance(module, str) and f"@{METADATA_SYMBOL} " in text):
        raise CompileError(f"the module already defines @{METADATA_SYMBOL}")
    holder = ir.Module()
    meta = add_metadata_global(holder, METADATA_SYMBOL, json.dumps(metadata, sort_keys=True))
    return f"{text}\n{meta}\n"


PARALLEL_MIN_CHARS = 300_000
"""Function text below which a module is compiled in one piece (a worker round trip and the
link cost more than they save for a few kernels, such as a tuning candidate)."""


def _parallel_parts(ir_module: ir.Module | str, target: Target) -> Parts | None:
    """The module split for parallel code generation, or None to compile it whole: one
    job, no C compiler for the target to join the parts (``cc -r``; a foreign target needs
    its cross compiler), or a small module."""
    if isinstance(ir_module, str) or not blobs_supported(target.triple):
        return None
    jobs = codegen_jobs()
    if jobs < 2 or relocatable_linker(target) is None:
        return None
    return partition(
        ir_module, jobs, ENTRY_SYMBOL, PARALLEL_MIN_CHARS, blobs=incbin_weights(target)
    )


def incbin_weights(target: Target) -> bool:
    """Whether large weights bypass the IR text through ``.incbin`` module assembly: on ELF
    targets of the host's architecture only, since llvmlite initializes no assembler parser
    but the native one (LLVM aborts the process on module assembly for another)."""
    return blobs_supported(target.triple) and target.is_host


def prewarm_codegen(target: Target) -> None:
    """Start the code generation workers now, when a build for ``target`` will likely be
    split, so that their start-up overlaps the passes that come first."""
    if blobs_supported(target.triple):
        prewarm(codegen_jobs(), target)


def emit_pic_object(text: str, target: Target, blobs: list[Blob] | None = None) -> bytes:
    """Parse, verify, optimize and compile IR text to a PIC object (``blobs``: the bytes of
    the large constants the text only declares)."""
    _init_llvm()
    tm = target.create_target_machine(reloc="pic", codemodel=object_code_model(target))
    with tempfile.TemporaryDirectory(prefix="xtvm-weights-") as tmp:
        write_blobs(blobs or [], tmp)
        mod = parse_and_verify(text + blob_asm(blobs or [], tmp))
        optimize(mod, target)
        try:
            return tm.emit_object(mod)
        except RuntimeError as exc:
            raise CompileError(f"LLVM code generation failed: {_first_line(exc)}") from exc


def compile_object(
    ir_module: ir.Module | str,
    target: Target,
    metadata: dict[str, Any] | None,
    *,
    use_cache: bool = True,
    cache_path: str | os.PathLike[str] | None = None,
) -> tuple[bytes, JitInfo]:
    """Optimize ``ir_module`` and generate its machine code, once per build: the result is
    one PIC object that the JIT loads (``load_object_code``) and ``export_library`` links
    as it is, with ``metadata`` in it as ``xtvm_metadata``.

    A large module is split into parts compiled in parallel processes and joined into that
    one object (:mod:`xtvm.backends.llvm.codegen_pool`; ``XTVM_CODEGEN_JOBS=1`` turns it
    off). With caching on (``XTVM_CACHE_DIR`` not empty, ``use_cache``), the object is
    looked up by a hash of the IR, the weights and the target, and O3/codegen are skipped on
    a hit. Large weights bypass the IR text on ELF targets of the host's architecture
    (:mod:`xtvm.backends.llvm.weights`).
    """
    _init_llvm()
    blobs: list[Blob] = []
    parts = _parallel_parts(ir_module, target)
    if parts is not None:
        texts, blobs = list(parts.texts), parts.blobs
    elif isinstance(ir_module, str):
        texts = [ir_module]
    elif incbin_weights(target):
        text, blobs = split_weights(ir_module)
        texts = [text]
    else:
        texts = [str(ir_module)]
    texts[0] = _with_metadata(texts[0], ir_module, metadata)
    externals, symbols = _module_symbols(ir_module)
    folder = cache_dir(cache_path) if use_cache else None
    key: str | None = None
    if folder is not None:
        weights = "".join(f"; blob {b.name} {b.align} {b.digest()}\n" for b in blobs)
        # The LLVM version is part of the key: another LLVM may compile the same IR differently.
        key = cache_key(
            "\n; part\n".join(texts) + weights, f"{target} llvm={llvm.llvm_version_info}"
        )
    entry = ObjectCache(folder, key) if folder is not None and key else None
    info = JitInfo(key, externals, symbols)
    data = entry.load() if entry else None
    if data is not None:
        return data, info
    if len(texts) == 1:
        data = emit_pic_object(texts[0], target, blobs)
    else:
        objects = pool().compile(
            texts,
            str(target),
            lambda t: emit_pic_object(t, target, blobs if t is texts[0] else None),
        )
        data = link_relocatable(objects, target)
    if entry is not None:
        entry.store(data)
    return data, info


def object_code_model(target: Target) -> str:
    """Code model of the one object a build emits for both the JIT and the shared library.

    On x86-64 the large model: MCJIT maps an object's code and data sections separately, and
    with hundreds of MB of weights (BERT) they can land more than 2 GB apart, where the small
    model's 32-bit PC-relative references cannot reach (RuntimeDyld then aborts the process).
    The large model addresses globals with 64-bit offsets; kernels load those addresses once,
    outside their loops. Other architectures keep the default (AArch64 has no large PIC).
    """
    return "large" if target.arch == "x86_64" else "default"


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


def runtime_module_for(
    data: bytes, info: JitInfo, target: Target, metadata: dict[str, Any]
) -> Module:
    """The object loaded into the JIT when ``target`` is this machine, else (a foreign
    target) a ``ForeignModule`` that exports but refuses to run."""
    if not target.is_host:
        return ForeignModule(target, metadata)
    missing = missing_features(metadata.get("target") or {})  # it would die of SIGILL
    if missing:
        return ForeignModule(target, metadata, missing)
    return load_object_code(data, info, target, metadata)


def load_object_code(
    data: bytes, info: JitInfo, target: Target, metadata: dict[str, Any]
) -> Module:
    """Load an object from ``compile_object`` into a fresh JIT engine and wrap it."""
    if not target.is_host:
        raise ForeignTargetError(
            f"cannot load code compiled for {target.triple} into this process "
            f"({Target.host().triple})"
        )
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
        raise CompileError(f"cannot load the object code into the JIT: {_first_line(exc)}") from exc
    return _runtime_module(engine, tm, metadata, info.symbols)


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
    data, info = compile_object(
        ir_module, target, metadata, use_cache=use_cache, cache_path=cache_path
    )
    return load_object_code(data, info, target, metadata), info


def read_object(info: JitInfo, cache_path: str | None = None) -> bytes | None:
    """The cached object ``info.object_key``; None when it is no longer in the cache."""
    folder = cache_dir(cache_path)
    if folder is None or info.object_key is None:
        return None
    return ObjectCache(folder, info.object_key).load()


def load_object(
    info: JitInfo, target: Target, metadata: dict[str, Any], cache_path: str | None = None
) -> Module | None:
    """Load the cached object ``info.object_key`` into a fresh JIT engine, without its IR.

    None when the object is no longer in the cache (the caller compiles again).
    """
    data = read_object(info, cache_path)
    return None if data is None else load_object_code(data, info, target, metadata)
