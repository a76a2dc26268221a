"""``build``: compile a relay module (from ``from_onnx``) into a runnable ``CompiledModule``.

The driver owns what sits between the passes: it clones the caller's module, runs the
pipeline one pass at a time (verifying after each, so a broken pass is named instead of
failing three stages later), keeps the printed IR at each level for ``get_source``, and
hands the llvm-dialect result to the LLVM backend.
"""

from __future__ import annotations

import dataclasses
import json
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


def _snapshot(module: ModuleOp, result: PipelineResult) -> None:
    result.sources[ir_level(module)] = module.clone()


def run_pipeline(
    module: ModuleOp, passes: list[ModulePass], keep_ir: bool = True
) -> PipelineResult:
    """Run ``passes`` on ``module`` in place, verifying after each.

    The IR is kept before every ``convert-*`` pass and at the end, so each level's source
    is the module as the last pass at that level left it. Any failure becomes an
    ``XTVMError`` whose one-line message names the pass.
    """
    from xtvm.context import make_context

    ctx = make_context()
    result = PipelineResult()
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
        result.pass_times.append((p.name, time.perf_counter() - start))
        try:
            module.verify()
        except DiagnosticException as exc:
            raise CompileError(
                f"IR after pass '{p.name}' does not verify: {_first_line(exc)}"
            ) from exc
    if keep_ir:
        _snapshot(module, result)
    return result


def _resolve_passes(opt_level: int, pipeline: str | None) -> list[ModulePass]:
    from xtvm.passes.registry import PIPELINES, parse_pipeline, pipeline_for_opt_level

    if pipeline is None:
        spec = pipeline_for_opt_level(opt_level)
    else:
        spec = PIPELINES.get(pipeline.strip(), pipeline)
    return parse_pipeline(spec)


def _with_num_threads(passes: list[ModulePass], num_threads: int) -> tuple[list[ModulePass], bool]:
    """Give ``num_threads`` to every pass that has such an option; report whether any did."""
    out, used = [], False
    for p in passes:
        names = {f.name for f in dataclasses.fields(p)}
        if "num_threads" in names:
            p = dataclasses.replace(p, num_threads=num_threads)
            used = True
        out.append(p)
    return out, used


def specialize_for_target(passes: list[ModulePass], target: Any) -> list[ModulePass]:
    """Fill target-dependent pass options left at 0 ("the host's") from ``target``.

    ``vector_bits`` (schedules) and ``lanes`` (tir-vectorize) must describe the machine we
    compile for, which is not the host when cross-compiling. Explicit settings are kept.
    """
    values = {"vector_bits": target.vector_width_bits, "lanes": target.vector_lanes(32)}
    out = []
    for p in passes:
        names = {f.name for f in dataclasses.fields(p)}
        changes = {k: v for k, v in values.items() if k in names and getattr(p, k) == 0}
        out.append(dataclasses.replace(p, **changes) if changes else p)
    return out


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


def build(
    mod: ModuleOp,
    target: Any = "llvm",
    opt_level: int = 3,
    tuning_records: Any = None,
    pipeline: str | None = None,
    num_threads: int | None = None,
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
    """
    from xtvm.backends.llvm import Target, compile_and_load, translate_module

    if tuning_records is not None:
        raise CompileError(
            "tuning records are not supported: xtvm has no auto-tuner yet; "
            "build without tuning_records"
        )
    if not isinstance(mod, ModuleOp):
        raise CompileError(f"build expects a relay ModuleOp, got {type(mod).__name__}")
    if not isinstance(opt_level, int) or isinstance(opt_level, bool):
        raise PipelineError(f"opt_level must be an int 0..3, got {opt_level!r}")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise CompileError(f"num_threads must be a positive int, got {num_threads!r}")
    tgt = target if isinstance(target, Target) else Target.from_string(str(target))

    passes = specialize_for_target(_resolve_passes(opt_level, pipeline), tgt)
    if num_threads is not None:
        passes, used = _with_num_threads(passes, num_threads)
        if not used:
            raise CompileError(
                "num_threads is not supported by this pipeline: no pass in it takes a "
                "num_threads option"
            )
    module = mod.clone()
    try:
        module.verify()
    except DiagnosticException as exc:
        raise CompileError(f"the input module does not verify: {_first_line(exc)}") from exc
    result = run_pipeline(module, passes)
    metadata = read_metadata(module)
    start = time.perf_counter()
    ir_module = translate_module(module, tgt)
    result.pass_times.append(("llvm-translate", time.perf_counter() - start))
    start = time.perf_counter()
    runtime_module = compile_and_load(ir_module, tgt, metadata)
    result.pass_times.append(("llvm-codegen", time.perf_counter() - start))
    return CompiledModule(
        runtime_module,
        ir_module=ir_module,
        target=tgt,
        metadata=metadata,
        sources=result.sources,
        pass_times=result.pass_times,
    )
