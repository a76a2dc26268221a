"""``build`` for ``target="cuda"``: relay -> GPU kernels (PTX) + a launch plan.

The pipeline is the CPU one of the same opt level with two differences: no
``relay-alter-layout`` (its blocked layouts are x86 register tiles; GPU schedules want
plain row-major tensors, coalesced along the last axis) and a GPU tail after
``convert-te-to-tir`` (``tir-simplify``, then ``convert-tir-to-nvvm``: no vectorizing,
CPU math expansion, storage rewriting or OpenMP outlining). Schedules learn that they
target a GPU from the ``device`` option, which the driver sets on every pass that has
one. The result is a :class:`CudaCompiledModule` around the runtime's ``CudaModule``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from xtvm.driver.compiled import CompiledModule
from xtvm.errors import CompileError, XTVMError

GPU_TAIL = "convert-te-to-tir,tir-simplify,convert-tir-to-nvvm"
CPU_ONLY_PASSES = ("relay-alter-layout",)


def cuda_pipeline(spec: str) -> str:
    """The cuda form of a CPU pipeline string (see the module docstring)."""
    head, sep, _ = spec.partition("convert-te-to-tir")
    if not sep:
        raise CompileError("a cuda pipeline needs convert-te-to-tir (it lowers to tir kernels)")
    names = [p for p in head.split(",") if p and p.split("{", 1)[0] not in CPU_ONLY_PASSES]
    return ",".join([*names, GPU_TAIL])


def _for_device(passes: list[ModulePass], device: str) -> list[ModulePass]:
    out = []
    for p in passes:
        names = {f.name for f in dataclasses.fields(p)}
        out.append(dataclasses.replace(p, device=device) if "device" in names else p)
    return out


class CudaCompiledModule(CompiledModule):
    """A model compiled for an NVIDIA GPU: runs through the CUDA driver where a GPU is
    present (else a DeviceError at the first run), exports anywhere. ``ptx`` is the
    generated code; ``get_source("ptx")`` returns it too."""

    @property
    def ptx(self) -> str:
        return self.module.ptx  # type: ignore[attr-defined]

    @property
    def constants(self) -> bytes:
        """The weights blob the launch plan's ``constant`` arguments point into."""
        return self.module.constants  # type: ignore[attr-defined]

    def get_source(self, level: str = "llvm") -> str:
        if level == "ptx":
            return self.ptx
        if level == "asm":
            raise XTVMError("a cuda module has no native assembly: its code is get_source('ptx')")
        if level == "ll":
            return self._sources["ll"]
        return super().get_source(level)

    def export_library(self, path: Any) -> str:
        """A data-only shared library (or ``.tar`` package) holding the PTX, the plan and
        the constants, for ``xtvm.runtime.load``."""
        import os

        from xtvm.backends.cuda.export import export_cuda

        return export_cuda(self.module, os.fspath(path))  # type: ignore[arg-type]

    def export_bundle(self, folder: Any, name: str = "model") -> Any:
        raise XTVMError("static bundles are CPU-only; export a cuda module with export_library")

    def __repr__(self) -> str:
        ins = ", ".join(f"{i['name']}: {i['dtype']}{list(i['shape'])}" for i in self.input_info)
        outs = ", ".join(f"{o['dtype']}{list(o['shape'])}" for o in self.output_info)
        return f"<xtvm.CompiledModule ({ins}) -> ({outs}) for '{self.target}'>"


_PARTS = ("ptx", "ll", "constants")


def _cached(store: Any, key: str, rebuild: Any, target: Any) -> CudaCompiledModule | None:
    """The cached build ``key`` (PTX, LLVM IR and constants in the object cache beside the
    JSON entry), or None on a miss or when a part was evicted."""
    from xtvm.backends.llvm.cache import ObjectCache, cache_dir
    from xtvm.runtime.cuda import CudaModule

    entry, folder = store.load(key), cache_dir()
    if entry is None or folder is None or not isinstance(entry.get("cuda"), dict):
        return None
    parts = {p: ObjectCache(folder, f"{key}-{p}").load() for p in _PARTS}
    if any(v is None for v in parts.values()):
        return None
    module = CudaModule(parts["ptx"].decode(), entry["cuda"], parts["constants"])
    return CudaCompiledModule(
        module,
        ir_module=None,
        target=target,
        metadata=module.metadata,
        sources={"ll": parts["ll"].decode()},
        rebuild=rebuild,
        cache_status=f"hit {key[:16]} ({store.folder})",
        build_key=key,
    )


def _store(store: Any, key: str, lib: CudaCompiledModule) -> None:
    from xtvm.backends.llvm.cache import ObjectCache, cache_dir

    folder = cache_dir()
    if folder is None:
        return
    data = {
        "ptx": lib.ptx.encode(),
        "ll": lib.get_source("ll").encode(),
        "constants": lib.constants,
    }
    for part, blob in data.items():
        ObjectCache(folder, f"{key}-{part}").store(blob)
    store.store(key, {"cuda": lib.metadata})
    lib.cache_status, lib.build_key = f"miss {key[:16]}, stored in {store.folder}", key


def build_cuda(
    mod: ModuleOp,
    target: Any,
    spec: str,
    tuning: Any = None,
    verify_ir: bool = False,
    cache: bool | None = None,
) -> CudaCompiledModule:
    """Compile relay ``mod`` with the cuda form of pipeline ``spec`` for cuda ``target``;
    with the build cache on (``cache``, as for ``xtvm.build``) an unchanged build is loaded
    from it."""
    import json

    from xtvm.driver.build_cache import BuildCache, build_key

    store = BuildCache.open(cache)
    key = None
    if store is not None:
        tuned = tuning.fingerprint() if tuning is not None else None
        key = build_key(mod, json.dumps(["cuda", spec, str(target), tuned]))
        hit = _cached(store, key, _rebuilder(mod.clone(), spec, target, tuning), target)
        if hit is not None:
            return hit
    lib = _build(mod, target, spec, tuning, verify_ir)
    if store is not None and key is not None:
        _store(store, key, lib)
    return lib


def _passes(spec: str, target: Any, tuning: Any) -> list[ModulePass]:
    from xtvm.driver.compile import _with_option, specialize_for_target
    from xtvm.passes.registry import parse_pipeline

    passes = _for_device(specialize_for_target(parse_pipeline(cuda_pipeline(spec)), target), "cuda")
    return _with_option(passes, "tuning", tuning) if tuning is not None else passes


def _rebuilder(source: ModuleOp, spec: str, target: Any, tuning: Any) -> Any:
    """``rebuild(level)``: the IR of every level, compiled again from ``source``."""

    def rebuild(level: str | None = None) -> tuple[dict[str, Any], Any]:
        from xtvm.driver.compile import run_pipeline

        again = source.clone()
        return run_pipeline(again, _passes(spec, target, tuning), copy_last=False).sources, None

    return rebuild


def _build(
    mod: ModuleOp, target: Any, spec: str, tuning: Any, verify_ir: bool
) -> CudaCompiledModule:
    """Run the cuda pipeline and generate the PTX."""
    from xtvm.backends.cuda.codegen import constants_blob, nvptx_ir
    from xtvm.backends.cuda.ptx import emit_ptx
    from xtvm.driver.compile import read_metadata, run_pipeline, verified_copy, with_build_info
    from xtvm.runtime.cuda import CudaModule

    times: list[tuple[str, float]] = []
    passes = _passes(spec, target, tuning)
    start = time.perf_counter()
    source = mod.clone()
    module = verified_copy(mod)
    times.append(("verify-input", time.perf_counter() - start))
    result = run_pipeline(module, passes, verify=verify_ir)
    times += result.pass_times
    metadata = with_build_info(read_metadata(module), target)
    start = time.perf_counter()
    ll = nvptx_ir(module, target)
    times.append(("llvm-translate", time.perf_counter() - start))
    start = time.perf_counter()
    ptx = emit_ptx(ll, target)
    times.append(("nvptx-codegen", time.perf_counter() - start))
    blob = constants_blob(module, metadata.get("constants", []))
    runtime = CudaModule(ptx, metadata, blob)
    return CudaCompiledModule(
        runtime,
        ir_module=None,
        target=target,
        metadata=runtime.metadata,
        sources={**result.sources, "ll": ll},
        pass_times=times,
        rebuild=_rebuilder(source, spec, target, tuning),
    )
