"""``build``: compile a relay module (from ``from_onnx``) into a runnable ``CompiledModule``.

The driver owns what sits between the passes: it clones the caller's module, verifies it,
runs the pipeline one pass at a time (verifying after each only under ``verify_ir`` or
``XTVM_VERIFY_IR=1``: it names a broken pass instead of failing three stages later, but
costs about a fifth of a cold build), and hands the llvm-dialect result to the LLVM
backend. The IR of the other levels is rebuilt when ``get_source`` asks for it. A build whose inputs were built before
is loaded from the whole-build cache instead (:mod:`xtvm.driver.build_cache`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException

from xtvm.driver.compiled import CompiledModule
from xtvm.errors import CompileError, PipelineError, XTVMError

METADATA_ATTR = "xtvm.metadata"
LEVELS = ("relay", "te", "tir", "llvm")
VERIFY_ENV = "XTVM_VERIFY_IR"


def verify_ir_enabled(flag: bool | None = None) -> bool:
    """``flag`` if given, else ``XTVM_VERIFY_IR`` (on for 1/true/yes/on); off by default,
    since verifying after every pass is a debugging aid (the test suite turns it on)."""
    if flag is not None:
        return bool(flag)
    return os.environ.get(VERIFY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def ir_level(module: ModuleOp) -> str:
    """Which level of the stack ``module`` is at, judged by its top-level ops."""
    prefixes = {op.name.split(".", 1)[0] for op in module.ops}
    for level in ("llvm", "tir", "te"):
        if level in prefixes:
            return level
    return "relay"


@dataclass
class PipelineResult:
    """What running a pipeline left behind: the IR at each level and seconds per pass.

    Levels are kept as clones, printed only when asked for: clones share the (immutable)
    weight attributes, while printing a large model's weights four times would not be cheap.
    """

    sources: dict[str, ModuleOp] = field(default_factory=dict)
    pass_times: list[tuple[str, float]] = field(default_factory=list)
    verify_seconds: float = 0.0
    """Time spent verifying the IR after the passes (not part of ``pass_times``)."""
    snapshot_seconds: float = 0.0
    """Time spent cloning the IR kept for each level."""


def _snapshot(module: ModuleOp, result: PipelineResult, copy: bool = True) -> None:
    start = time.perf_counter()
    result.sources[ir_level(module)] = module.clone() if copy else module
    result.snapshot_seconds += time.perf_counter() - start


def run_pipeline(
    module: ModuleOp,
    passes: list[ModulePass],
    keep_ir: bool = True,
    copy_last: bool = True,
    verify: bool | None = None,
) -> PipelineResult:
    """Run ``passes`` on ``module`` in place, verifying after each if ``verify`` (None:
    ``verify_ir_enabled()``).

    The IR is kept before every ``convert-*`` pass and at the end, so each level's source
    is the module as the last pass at that level left it (the last level is ``module``
    itself unless ``copy_last``). Any failure becomes an ``XTVMError`` whose one-line
    message names the pass.
    """
    from xtvm.context import make_context

    ctx = make_context()
    result = PipelineResult()
    verify = verify_ir_enabled(verify)
    for p in passes:
        if keep_ir and p.name.startswith("convert-"):
            _snapshot(module, result)
        start = time.perf_counter()
        try:
            p.apply(ctx, module)
        except XTVMError:
            raise
        except Exception as exc:
            raise CompileError(f"pass '{p.name}' failed: {_first_line(exc)}") from exc
        verify_start = time.perf_counter()
        result.pass_times.append((p.name, verify_start - start))
        if not verify:
            continue
        try:
            module.verify()
        except DiagnosticException as exc:
            raise CompileError(
                f"IR after pass '{p.name}' does not verify: {_first_line(exc)}"
            ) from exc
        result.verify_seconds += time.perf_counter() - verify_start
    if keep_ir:
        _snapshot(module, result, copy=copy_last)
    return result


def _pipeline_spec(opt_level: int, pipeline: str | None) -> str:
    """The pipeline string of ``O<opt_level>``, or ``pipeline`` (a string or a name)."""
    from xtvm.passes.registry import PIPELINES, pipeline_for_opt_level

    if pipeline is None:
        return pipeline_for_opt_level(opt_level)
    return PIPELINES.get(pipeline.strip(), pipeline)


@dataclass(frozen=True)
class _Recipe:
    """How ``build`` compiles: a pipeline string, the target and the options it sets.

    Given the compiler's sources, this text determines the passes exactly, so the build
    cache keys on it and a hit never imports the passes.
    """

    spec: str
    target: Any
    num_threads: int | None
    profile: bool
    tuning: Any = None  # xtvm.autotune.dispatch.ApplyBestConfigs, or None (untuned)

    def describe(self) -> str:
        tuned = self.tuning.fingerprint() if self.tuning is not None else None
        return json.dumps([self.spec, str(self.target), self.num_threads, self.profile, tuned])

    def passes(self) -> list[ModulePass]:
        from xtvm.passes.registry import parse_pipeline

        passes = specialize_for_target(parse_pipeline(self.spec), self.target)
        if self.num_threads is not None:
            passes = _with_option(passes, "num_threads", self.num_threads)
        if self.profile:
            passes = _with_option(passes, "profile", True)
        if self.tuning is not None:
            passes = _with_option(passes, "tuning", self.tuning)
        return passes


def _tuning_dispatch(tuning_records: Any, target: Any) -> Any:
    """``tuning_records`` (a records file path, a list of records, or an
    ``ApplyBestConfigs``) as the per-kernel dispatch object, or None."""
    if tuning_records is None:
        return None
    from xtvm.autotune.dispatch import ApplyBestConfigs

    if isinstance(tuning_records, ApplyBestConfigs):
        return tuning_records
    from xtvm.autotune.apply import dispatch_from_records

    return dispatch_from_records(tuning_records, target)


def _with_option(passes: list[ModulePass], option: str, value: Any) -> list[ModulePass]:
    """Set ``option`` on every pass that has it; an error if none does."""
    out, used = [], False
    for p in passes:
        names = {f.name for f in dataclasses.fields(p)}
        if option in names:
            p = dataclasses.replace(p, **{option: value})
            used = True
        out.append(p)
    if not used:
        raise CompileError(
            f"{option} is not supported by this pipeline: no pass in it takes a {option} option"
        )
    return out


def specialize_for_target(passes: list[ModulePass], target: Any) -> list[ModulePass]:
    """Fill target-dependent pass options left at 0 ("the host's") from ``target``.

    ``vector_bits``, ``vector_registers`` (schedules) and ``lanes`` (tir-vectorize) must
    describe the machine we compile for, which is not the host when cross-compiling.
    Explicit settings are kept.
    """
    values = {
        "vector_bits": target.vector_width_bits,
        "vector_registers": target.vector_registers,
        "lanes": target.vector_lanes(32),
    }
    out = []
    for p in passes:
        names = {f.name for f in dataclasses.fields(p)}
        changes = {k: v for k, v in values.items() if k in names and getattr(p, k) == 0}
        out.append(dataclasses.replace(p, **changes) if changes else p)
    return out


def verified_copy(source: ModuleOp) -> ModuleOp:
    """A clone of the input module for the pipeline to rewrite, after checking it verifies
    (a CompileError with the verifier's first line if not); every target's build starts here."""
    module = source.clone()
    try:
        module.verify()
    except DiagnosticException as exc:
        raise CompileError(f"the input module does not verify: {_first_line(exc)}") from exc
    return module


def read_metadata(module: ModuleOp) -> dict[str, Any]:
    """The runtime signature ``convert-tir-to-llvm`` attached to the module."""
    attr = module.attributes.get(METADATA_ATTR)
    if not isinstance(attr, StringAttr):
        raise CompileError(
            f"the lowered module has no '{METADATA_ATTR}' attribute: the pipeline must end "
            "in the llvm dialect (convert-tir-to-llvm)"
        )
    try:
        meta = json.loads(attr.data)
    except json.JSONDecodeError as exc:
        raise CompileError(f"'{METADATA_ATTR}' is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or "inputs" not in meta or "outputs" not in meta:
        raise CompileError(f"'{METADATA_ATTR}' lacks 'inputs'/'outputs'")
    return meta


def with_build_info(metadata: dict[str, Any], target: Any) -> dict[str, Any]:
    """``metadata`` plus what the code was generated for: ``"target"`` {triple, cpu,
    features (LLVM's "+a,-b" string)} and ``"xtvm_version"``. Added here, once per build,
    so the JIT module, the build cache entry and exported libraries all carry it; the
    runtimes check it before running (missing CPU features, another architecture)."""
    import xtvm

    return {
        **metadata,
        "target": {"triple": target.triple, "cpu": target.cpu, "features": target.features},
        "xtvm_version": xtvm.__version__,
    }


def build(
    mod: ModuleOp,
    target: Any = "llvm",
    opt_level: int = 3,
    tuning_records: Any = None,
    pipeline: str | None = None,
    num_threads: int | None = None,
    profile: bool = False,
    cache: bool | None = None,
    verify_ir: bool | None = None,
) -> CompiledModule:
    """Compile a relay module for ``target`` (a string like ``"llvm -mcpu=..."`` or a Target).

    ``opt_level`` picks the named pipeline ``O<n>`` of graph passes and lowerings;
    ``pipeline`` (a pipeline string, or a name such as ``"O2"``) replaces it. LLVM's own
    optimization level comes from the target (``-opt-level=``, default 3).

    ``num_threads`` (a positive int) is how many threads each parallel loop uses; it is
    stored in the module (``convert-tir-to-llvm{num_threads=N}``), so an exported library
    keeps it. ``None`` leaves the choice to run time: ``XTVM_NUM_THREADS`` if set when the
    module is loaded, else the OpenMP default (``OMP_NUM_THREADS`` or all cores). The
    ``num_threads`` property of the result changes it later.

    ``profile=True`` times every kernel call (``convert-tir-to-llvm{profile=true}``) for
    ``CompiledModule.profile``; without it no timing code is emitted.

    ``cache`` (default: on unless ``XTVM_CACHE=0``) reuses an earlier build of the same
    module, pipeline, options, target and compiler sources from the cache folder
    (``XTVM_CACHE_DIR``); the IR of each level is then rebuilt only if asked for.

    ``verify_ir`` (default: ``XTVM_VERIFY_IR=1``, else off) verifies the IR after every
    pass, naming the pass that broke it; the input module is verified in any case.
    """
    setup_start = time.perf_counter()
    from xtvm.backends.llvm import Target
    from xtvm.driver.build_cache import BuildCache, build_key

    if not isinstance(mod, ModuleOp):
        raise CompileError(f"build expects a relay ModuleOp, got {type(mod).__name__}")
    if not isinstance(opt_level, int) or isinstance(opt_level, bool):
        raise PipelineError(f"opt_level must be an int 0..3, got {opt_level!r}")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise CompileError(f"num_threads must be a positive int, got {num_threads!r}")
    tgt = target if isinstance(target, Target) else Target.from_string(str(target))
    tuning = _tuning_dispatch(tuning_records, tgt)
    if tgt.kind == "cuda":
        from xtvm.driver.cuda_build import build_cuda

        if num_threads is not None or profile:
            raise CompileError("num_threads and profile are CPU options, not for cuda builds")
        spec = _pipeline_spec(opt_level, pipeline)
        lib = build_cuda(mod, tgt, spec, tuning, verify_ir_enabled(verify_ir), cache)
        if tuning is not None:
            lib.tuning_summary = tuning.summary()
            if tuning.untuned or tuning.stale:
                _warn_tuning(lib.tuning_summary)
        return lib
    recipe = _Recipe(_pipeline_spec(opt_level, pipeline), tgt, num_threads, bool(profile), tuning)
    source = mod.clone()  # the caller may change ``mod`` later; rebuilds start from this
    store = BuildCache.open(cache)
    times = [("setup", time.perf_counter() - setup_start)]
    key = None
    if store is not None:
        start = time.perf_counter()
        key = build_key(source, recipe.describe())
        times.append(("build-cache-key", time.perf_counter() - start))
        hit = _load_cached(store, key, source, recipe, times)
        if hit is not None:
            return hit
    # The first build in a process imports every pass here.
    start = time.perf_counter()
    passes = recipe.passes()
    times.append(("parse-pipeline", time.perf_counter() - start))
    cache_to = (store, key) if store and key else None
    built = _compile(source, passes, recipe, times, cache_to, verify_ir_enabled(verify_ir))
    if tuning is not None:
        built.tuning_summary = tuning.summary()
        if tuning.untuned or tuning.stale:
            _warn_tuning(built.tuning_summary)
    return built


def _warn_tuning(summary: str) -> None:
    import warnings

    from xtvm.errors import TuningWarning

    warnings.warn(summary, TuningWarning, stacklevel=3)


def _passes_up_to(passes: list[ModulePass], level: str) -> list[ModulePass] | None:
    """The passes before the one that leaves ``level`` (None: no pass leaves it)."""
    for i, p in enumerate(passes):
        if p.name.startswith(f"convert-{level}-to-"):
            return passes[:i]
    return None


def _rebuilder(source: ModuleOp, recipe: _Recipe) -> Any:
    """A function that compiles ``source`` again: ``rebuild(level)`` returns (sources,
    ir_module). Builds keep no IR copies (cloning every level cost about 5% of a cold
    build); ``get_source`` calls this instead, and for "relay", "te" or "tir" it stops
    at that level (ir_module None), so asking for the relay IR only reruns relay passes."""

    def rebuild(level: str | None = None) -> tuple[dict[str, Any], Any]:
        from xtvm.backends.llvm import translate_module

        module = source.clone()
        passes = recipe.passes()
        head = _passes_up_to(passes, level) if level in ("relay", "te", "tir") else None
        result = run_pipeline(module, passes if head is None else head, copy_last=False)
        if head is not None:
            return result.sources, None
        return result.sources, translate_module(module, recipe.target)

    return rebuild


def _load_cached(
    store: Any, key: str, source: ModuleOp, recipe: _Recipe, times: list
) -> CompiledModule | None:
    """The build ``key`` from the cache, or None on a miss (or a stale entry)."""
    from xtvm.backends.llvm.jit import JitInfo, read_object, runtime_module_for

    start = time.perf_counter()
    entry = store.load(key)
    if entry is None:
        return None
    try:
        info = JitInfo(entry["object_key"], list(entry["externals"]), list(entry["symbols"]))
        metadata = dict(entry["metadata"])
        summary, warns = entry.get("tuning_summary"), bool(entry.get("tuning_warns"))
    except (KeyError, TypeError):
        return None
    object_code = read_object(info)
    if object_code is None:
        return None  # the object was removed from the cache: build again
    runtime_module = runtime_module_for(object_code, info, recipe.target, metadata)
    times.append(("build-cache-load", time.perf_counter() - start))
    hit = CompiledModule(
        runtime_module,
        ir_module=None,
        target=recipe.target,
        metadata=metadata,
        pass_times=times,
        rebuild=_rebuilder(source, recipe),
        cache_status=f"hit {key[:16]} ({store.folder})",
        build_key=key,
        object_code=object_code,
    )
    if recipe.tuning is not None:
        hit.tuning_summary = summary if isinstance(summary, str) else "tuning records: applied"
        if warns:
            _warn_tuning(hit.tuning_summary)
    return hit


PREWARM_MIN_OPS = 64
"""Relay ops from which a build starts its code generation workers before the passes."""


def _op_count(module: ModuleOp, limit: int) -> int:
    """How many ops ``module`` holds, counting no further than ``limit``."""
    count = 0
    for _ in module.walk():
        count += 1
        if count >= limit:
            break
    return count


def _compile(
    source: ModuleOp,
    passes: list[ModulePass],
    recipe: _Recipe,
    times: list[tuple[str, float]],
    cache_to: tuple[Any, str] | None,
    verify_ir: bool = False,
) -> CompiledModule:
    """Run the whole pipeline and the LLVM backend; store the result if ``cache_to``."""
    from xtvm.backends.llvm import translate_module
    from xtvm.backends.llvm.jit import compile_object, prewarm_codegen, runtime_module_for

    tgt = recipe.target
    start = time.perf_counter()
    if _op_count(source, PREWARM_MIN_OPS) >= PREWARM_MIN_OPS:
        prewarm_codegen(tgt)  # a model this size is likely compiled in parallel parts
    module = verified_copy(source)
    times.append(("verify-input", time.perf_counter() - start))
    result = run_pipeline(module, passes, keep_ir=False, verify=verify_ir)
    result.sources[ir_level(module)] = module  # other levels are rebuilt when asked for
    times += result.pass_times
    if verify_ir:
        times.append(("verify-ir", result.verify_seconds))
    metadata = with_build_info(read_metadata(module), tgt)
    start = time.perf_counter()
    ir_module = translate_module(module, tgt)
    times.append(("llvm-translate", time.perf_counter() - start))
    start = time.perf_counter()
    # One object serves the JIT and export_library: code is generated once per build.
    object_code, info = compile_object(ir_module, tgt, metadata, use_cache=cache_to is not None)
    times.append(("llvm-codegen", time.perf_counter() - start))
    start = time.perf_counter()
    runtime_module = runtime_module_for(object_code, info, tgt, metadata)
    times.append(("jit-load", time.perf_counter() - start))
    status, build_key = "off", None
    if cache_to is not None:
        store, key = cache_to
        start = time.perf_counter()
        if info.object_key is not None:
            store.store(
                key,
                {
                    "object_key": info.object_key,
                    "externals": info.externals,
                    "symbols": info.symbols,
                    "metadata": metadata,
                    # what the records did, for a later hit (the passes do not run then)
                    "tuning_summary": recipe.tuning.summary() if recipe.tuning else None,
                    "tuning_warns": bool(
                        recipe.tuning and (recipe.tuning.untuned or recipe.tuning.stale)
                    ),
                },
            )
            status, build_key = f"miss {key[:16]}, stored in {store.folder}", key
        else:
            status = f"miss {key[:16]}, not stored (object cache off)"
        times.append(("build-cache-store", time.perf_counter() - start))
    return CompiledModule(
        runtime_module,
        ir_module=ir_module,
        target=tgt,
        metadata=metadata,
        sources=result.sources,
        pass_times=times,
        rebuild=_rebuilder(source, recipe),
        cache_status=status,
        build_key=build_key,
        object_code=object_code,
    )
