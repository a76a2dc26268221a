"""Building and measuring candidate schedules, so that a bad candidate is an error record
and never takes the search down.

A :class:`Builder` compiles ``(task, config)`` pairs into shared libraries, in parallel on
any :class:`concurrent.futures.Executor` (a local process pool by default; Dask's
``Client.get_executor()`` spreads them over a cluster). A :class:`Runner` then loads and
times each library, one at a time (timings taken while another candidate compiles on the
same cores would be noise), in a worker process it replaces when a candidate crashes or
hangs. Each run first checks the candidate's outputs against the default schedule's on the
same random inputs: a wrong schedule is an error, never a win.

Everything that crosses a process boundary is plain data (task text, config dicts, file
paths), so a worker needs nothing but xtvm installed.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xtvm.autotune.space import ConfigEntity

_REST_AFTER_TE = None  # filled lazily: the O3 passes after convert-relay-to-te


@dataclass(frozen=True)
class MeasureOptions:
    """How candidates are built and timed."""

    timeout: float = 20.0  # seconds per build, and per run beyond the expected time
    repeat: int = 3  # timed rounds per candidate (costs has one entry per round)
    min_repeat_ms: float = 40.0  # a round repeats the call until it lasts at least this
    num_threads: int | None = 1  # threads per parallel loop in the candidates
    check: bool = True  # compare outputs with the default schedule's
    rtol: float = 1e-3
    seed: int = 0  # random inputs


@dataclass
class BuildResult:
    path: str | None
    error: str | None
    seconds: float


@dataclass
class MeasureResult:
    """Seconds per call, one per round; or the error that stopped the candidate."""

    costs: list[float] = field(default_factory=list)
    error: str | None = None
    build_seconds: float = 0.0
    run_seconds: float = 0.0

    @property
    def cost(self) -> float:
        return float(np.median(self.costs)) if self.costs and self.error is None else float("inf")

    @property
    def noise(self) -> float | None:
        """Relative spread of the rounds ((max - min) / median)."""
        if len(self.costs) < 2 or self.error is not None:
            return None
        med = float(np.median(self.costs))
        return (max(self.costs) - min(self.costs)) / med if med > 0 else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:300]


# -- the candidate module --------------------------------------------------------------------


def candidate_module(task_text: str, values: dict[str, Any] | None, target: Any) -> Any:
    """A module holding the task's kernel scheduled with ``values`` (None: the defaults)
    and a ``main`` that calls it with its inputs: the rest of the pipeline compiles it like
    a one-kernel model."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
    from xdsl.parser import Parser

    from xtvm.autotune.dispatch import schedule_kernel
    from xtvm.context import make_context
    from xtvm.dialects.te import CallOp, KernelOp, PlaceholderOp
    from xtvm.topi.x86 import DefaultScheduleConfig

    parsed = Parser(make_context(), task_text).parse_module()
    kernel = next(op for op in parsed.walk() if isinstance(op, KernelOp))
    kernel.detach()
    cfg = DefaultScheduleConfig.for_target(target)
    if getattr(target, "device", "cpu") == "cuda":
        cfg = DefaultScheduleConfig(device="cuda")  # the GPU schedules (xtvm.topi.cuda)
    schedule_kernel(kernel, cfg, ConfigEntity(None, values) if values is not None else None)
    ins = [op.result.type for op in kernel.block.ops if isinstance(op, PlaceholderOp)]
    outs = [v.type for v in kernel.return_op.values]
    fn = func.FuncOp(
        "main",
        (ins, outs),
        arg_attrs=ArrayAttr(
            [DictionaryAttr({"xtvm.name": StringAttr(f"p{i}")}) for i in range(len(ins))]
        ),
        res_attrs=ArrayAttr(
            [DictionaryAttr({"xtvm.name": StringAttr(f"out{i}")}) for i in range(len(outs))]
        ),
    )
    block = fn.body.block
    call = CallOp(kernel.sym_name.data, list(block.args), outs)
    block.add_op(call)
    block.add_op(func.ReturnOp(*call.results))
    return ModuleOp([kernel, fn])


def build_candidate(
    task_text: str,
    values: dict[str, Any] | None,
    target_text: str,
    out_path: str,
    num_threads: int | None = None,
) -> BuildResult:
    """Compile one candidate to ``out_path`` (.so). Runs in a worker; never raises."""
    start = time.perf_counter()
    try:
        from xtvm.autotune.task import split_at_te
        from xtvm.backends.llvm import Target
        from xtvm.driver import build

        target = Target.from_string(target_text)
        module = candidate_module(task_text, values, target)
        if target.device == "cuda":  # PTX and a launch plan, timed by CUDA events
            lib = build(module, target=target, pipeline=split_at_te()[1], cache=False)
            lib.export_library(out_path)
            return BuildResult(out_path, None, time.perf_counter() - start)
        # profile=True: the module times its own entry, so costs exclude Python's call
        # overhead (tens of microseconds, more than a small kernel takes)
        lib = build(
            module,
            target=target,
            pipeline=split_at_te()[1],
            num_threads=num_threads,
            cache=False,
            profile=True,
        )
        lib.export_library(out_path)
        return BuildResult(out_path, None, time.perf_counter() - start)
    except Exception as exc:  # any failure is the candidate's, recorded as its error
        return BuildResult(None, f"build: {_first_line(exc)}", time.perf_counter() - start)


def random_inputs(info: Sequence[dict[str, Any]], seed: int) -> list[np.ndarray]:
    """Inputs of a signature, deterministic in ``seed`` (floats in [-1, 1), small ints)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in info:
        dt = np.dtype(i["dtype"])
        shape = tuple(i["shape"])
        if dt.kind == "f":
            out.append(rng.uniform(-1.0, 1.0, shape).astype(dt))
        else:
            out.append(rng.integers(0, 4, shape).astype(dt))
    return out


def check_outputs(outs: Sequence[np.ndarray], reference: str, rtol: float) -> str | None:
    """Why ``outs`` differ from the default schedule's outputs saved in ``reference``
    (.npz), or None when they agree within ``rtol`` of each output's scale."""
    with np.load(reference) as ref:
        expected = [ref[f"arr_{i}"] for i in range(len(ref.files))]
    for k, (got, want) in enumerate(zip(outs, expected)):
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        if got.shape != want.shape or not np.allclose(
            got, want, rtol=rtol, atol=rtol * max(scale, 1e-6)
        ):
            err = float(np.max(np.abs(got - want))) if got.shape == want.shape else -1
            return f"wrong output {k}: max abs error {err:.3g} (scale {scale:.3g})"
    return None


def save_and_check_outputs(
    outs: Sequence[np.ndarray],
    options: MeasureOptions,
    reference: str | None,
    save_reference: str | None,
) -> str | None:
    """Save ``outs`` as the reference (the default schedule's run) and/or check them
    against one; why they are wrong, or None."""
    if save_reference is not None:
        np.savez(save_reference, *outs)
    if reference is not None and options.check:
        return check_outputs(outs, reference, options.rtol)
    return None


def run_candidate(
    lib_path: str, reference: str | None, options: MeasureOptions, save_reference: str | None
) -> MeasureResult:
    """Load, check and time one library. Runs in the runner's worker; never raises
    (a crash or hang is seen by the parent)."""
    start = time.perf_counter()
    try:
        from xtvm.runtime import load

        mod = load(lib_path)
        from xtvm.runtime.cuda import CudaModule

        if isinstance(mod, CudaModule):
            return _run_cuda_candidate(mod, reference, options, save_reference, start)
        if options.num_threads:
            mod.num_threads = options.num_threads
        inputs = random_inputs(mod.input_info, options.seed)
        # bound once: timing the kernel, not the binding of numpy arrays per call
        arrays = mod._bind(inputs)
        outs = [a.copy() for a in mod._invoke(arrays)]
        wrong = save_and_check_outputs(outs, options, reference, save_reference)
        if wrong is not None:
            return MeasureResult(error=wrong, run_seconds=time.perf_counter() - start)
        t0 = time.perf_counter()
        mod._invoke(arrays)
        once = max(time.perf_counter() - t0, 1e-7)
        number = max(1, int(options.min_repeat_ms / 1e3 / once))
        costs = []
        for _ in range(options.repeat):
            if mod.profiling:
                report = mod.profile(inputs, repeat=number, warmup=0)
                costs.append(report.total_ms / 1e3 / max(report.runs, 1))
                continue
            t0 = time.perf_counter()
            for _ in range(number):
                mod._invoke(arrays)
            costs.append((time.perf_counter() - t0) / number)
        return MeasureResult(costs=costs, run_seconds=time.perf_counter() - start)
    except Exception as exc:
        return MeasureResult(
            error=f"run: {_first_line(exc)}", run_seconds=time.perf_counter() - start
        )


def _run_cuda_candidate(
    mod: Any,
    reference: str | None,
    options: MeasureOptions,
    save_reference: str | None,
    start: float,
) -> MeasureResult:
    """Check and time a loaded ``CudaModule`` on the GPU (kernels alone, CUDA events)."""
    from xtvm.autotune.cuda_tasks import benchmark_cuda

    try:
        inputs = random_inputs(mod.input_info, options.seed)
        outs = [a.copy() for a in mod._invoke(mod._bind(inputs))]
        wrong = save_and_check_outputs(outs, options, reference, save_reference)
        if wrong is not None:
            return MeasureResult(error=wrong, run_seconds=time.perf_counter() - start)
        costs = benchmark_cuda(mod, inputs, options)
        return MeasureResult(costs=costs, run_seconds=time.perf_counter() - start)
    finally:
        mod.close()


# -- executors that survive their workers --------------------------------------------------


def _spawn_pool(workers: int, max_tasks: int | None = None) -> cf.ProcessPoolExecutor:
    """A pool of fresh interpreters: forking a process whose OpenMP threads have run can
    deadlock the child's first parallel region, and LLVM's state is not fork-safe. The
    workers generate code in one process each: the pool already keeps the cores busy."""
    ctx = multiprocessing.get_context("spawn")
    extra = {"max_tasks_per_child": max_tasks} if max_tasks else {}
    return cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_one_codegen_job, **extra)


def _one_codegen_job() -> None:
    os.environ["XTVM_CODEGEN_JOBS"] = "1"


def _import_compiler() -> bool:
    """Load the compiler in a worker, so its first build is not charged for the imports."""
    from xtvm.passes.registry import all_passes

    return bool(all_passes())


def _warm(pool: cf.Executor, workers: int) -> None:
    for fut in [pool.submit(_import_compiler) for _ in range(workers)]:
        fut.result()


def _kill_pool(pool: cf.Executor) -> None:
    """Stop a process pool whose worker hangs (``shutdown`` alone would wait for it)."""
    procs = getattr(pool, "_processes", None) or {}
    for p in list(procs.values()):
        try:
            p.kill()
        except Exception:
            pass
    pool.shutdown(wait=False, cancel_futures=True)


class Builder:
    """Builds candidates on ``executor`` (default: a process pool of ``workers``).

    A build that raises, crashes its worker or exceeds ``options.timeout`` becomes an error
    result; an owned pool broken by a crash is replaced."""

    def __init__(
        self,
        target: Any,
        options: MeasureOptions | None = None,
        executor: cf.Executor | None = None,
        workers: int | None = None,
        folder: str | None = None,
    ):
        self.target_text = str(target)
        self.options = options or MeasureOptions()
        self._owned = executor is None
        self._workers = workers or max(1, min(2, os.cpu_count() or 1))
        self.executor = executor if executor is not None else self._new_pool()
        self._tmp = tempfile.TemporaryDirectory(prefix="xtvm-tune-") if folder is None else None
        self.folder = folder or self._tmp.name  # type: ignore[union-attr]
        self._count = 0

    def build(self, task_text: str, configs: Sequence[dict[str, Any] | None]) -> list[BuildResult]:
        futures = []
        for values in configs:
            self._count += 1
            path = os.path.join(self.folder, f"cand{self._count}.so")
            futures.append(
                self.executor.submit(
                    build_candidate,
                    task_text,
                    values,
                    self.target_text,
                    path,
                    self.options.num_threads,
                )
            )
        results = []
        deadline = time.monotonic() + self.options.timeout * max(1, len(configs))
        broken = False
        for fut in futures:
            try:
                left = max(0.1, min(self.options.timeout * 2, deadline - time.monotonic()))
                results.append(fut.result(timeout=left))
            except cf.TimeoutError:
                results.append(BuildResult(None, "build: timeout", self.options.timeout))
                broken = True
            except Exception as exc:  # BrokenProcessPool: a worker died
                results.append(BuildResult(None, f"build: worker crashed ({_first_line(exc)})", 0))
                broken = True
        if broken and self._owned:
            _kill_pool(self.executor)
            self.executor = self._new_pool()
        return results

    def _new_pool(self) -> cf.Executor:
        pool = _spawn_pool(self._workers)
        _warm(pool, self._workers)  # timeouts then measure builds, not interpreter start-up
        return pool

    def close(self) -> None:
        if self._owned:
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self._tmp is not None:
            self._tmp.cleanup()


class Runner:
    """Times built candidates one at a time in a worker process of its own, replaced when
    a candidate crashes it or runs past its timeout."""

    def __init__(self, options: MeasureOptions | None = None, executor: cf.Executor | None = None):
        self.options = options or MeasureOptions()
        self._owned = executor is None
        # a worker loads many libraries: recycle it now and then
        self.executor = executor if executor is not None else _spawn_pool(1, max_tasks=64)

    def run(
        self,
        builds: Sequence[BuildResult],
        reference: str | None = None,
        save_reference: str | None = None,
    ) -> list[MeasureResult]:
        results = []
        for b in builds:
            if b.error is not None or b.path is None:
                results.append(
                    MeasureResult(error=b.error or "build: no library", build_seconds=b.seconds)
                )
                continue
            fut = self.executor.submit(
                run_candidate, b.path, reference, self.options, save_reference
            )
            limit = (
                self.options.timeout + self.options.repeat * self.options.min_repeat_ms / 1e3 * 4
            )
            try:
                res = fut.result(timeout=limit)
            except cf.TimeoutError:
                res = MeasureResult(error="run: timeout")
                self._restart()
            except Exception as exc:
                res = MeasureResult(error=f"run: crashed ({_first_line(exc)})")
                self._restart()
            res.build_seconds = b.seconds
            results.append(res)
            try:
                os.unlink(b.path)
            except OSError:
                pass
        return results

    def _restart(self) -> None:
        if self._owned:
            _kill_pool(self.executor)
            self.executor = _spawn_pool(1, max_tasks=64)

    def close(self) -> None:
        if self._owned:
            self.executor.shutdown(wait=True, cancel_futures=True)


def measure_reference(builder: Builder, runner: Runner, task_text: str, path: str) -> MeasureResult:
    """Build and time the default schedule, saving its outputs to ``path`` (.npz) for the
    candidates' checks."""
    (b,) = builder.build(task_text, [None])
    (r,) = runner.run([b], reference=None, save_reference=path)
    return r
