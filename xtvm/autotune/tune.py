"""The tuning loop: extract tasks, give trials to the tasks where they pay most, measure
batches of candidates, write every measurement to the records file as it goes.

Task scheduling: every task first gets its default schedule measured (the untuned
baseline, also the reference its candidates' outputs are checked against) and one batch of
candidates. After that each batch goes to the task with the largest expected saving of
end-to-end time per trial: ``weight * best_cost * rate``, where ``rate`` is the relative
improvement its last batches achieved per trial plus an optimism that decays with the
trials the task has had (so stalled tasks share trials in proportion to the time they
cost, instead of the costliest taking them all). A task whose space is exhausted drops out. This is the idea of Ansor's gradient-based task
scheduler, simplified: the gradient is estimated from the task's own recent history.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xtvm.autotune.measure import (
    Builder,
    MeasureOptions,
    MeasureResult,
    Runner,
    measure_reference,
)
from xtvm.autotune.task import Task, extract_tasks
from xtvm.errors import XTVMError

START_RATE = 0.05  # optimistic improvement per trial of a task not tried yet
EXPLORE_TRIALS = 8  # the optimism halves after this many trials, and so on


@dataclass
class TaskProgress:
    """What tuning one task has done so far."""

    task: Task
    untuned: float = float("inf")  # seconds per call of the default schedule
    best: float = float("inf")
    best_config: dict[str, Any] | None = None
    trials: int = 0
    errors: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)  # (trial, best so far)
    noise: list[float] = field(default_factory=list)
    done: bool = False
    reference: str | None = None  # .npz of the default schedule's outputs
    default_config: dict[str, Any] | None = None
    measured: list[tuple[dict[str, Any], float]] = field(default_factory=list)  # this run's
    verified: bool = False  # best and untuned come from the verification round
    _batches: list[tuple[int, float]] = field(default_factory=list)  # (trials, best) after each

    @property
    def speedup(self) -> float:
        if self.best == float("inf") or self.untuned == float("inf"):
            return 1.0
        return self.untuned / self.best

    def rate(self) -> float:
        """Expected relative improvement per trial: what the last batches achieved, plus an
        exploration term that shrinks with the trials already spent. Without that term every
        stalled task sits at the same floor and the one with the largest weight x cost gets
        every batch (seen: one YOLO conv took 488 of 976 trials)."""
        observed = 0.0
        if len(self._batches) >= 2:
            (t0, c0), (t1, c1) = self._batches[-min(3, len(self._batches))], self._batches[-1]
            if t1 > t0 and c0 not in (0.0, float("inf")):
                observed = max(0.0, (c0 - c1) / c0 / (t1 - t0))
        return observed + START_RATE * EXPLORE_TRIALS / (EXPLORE_TRIALS + self.trials)

    def priority(self) -> float:
        cost = self.best if self.best < float("inf") else self.untuned
        if cost == float("inf"):
            cost = 1e-3
        return self.task.weight * cost * self.rate()


@dataclass
class TuneResult:
    """Per-task outcome plus where the records went."""

    tasks: list[TaskProgress]
    records_path: str
    seconds: float
    trials: int

    def table(self) -> str:
        """Task, calls per run, share of the model, untuned and tuned time, speed-up."""
        head = (
            f"{'task':<34} {'calls':>5} {'share':>6} {'untuned us':>11} {'tuned us':>10} "
            f"{'speed-up':>8} {'trials':>6} {'errors':>6}"
        )
        lines = [head, "-" * len(head)]
        for p in self.tasks:
            share = f"{100 * p.task.share:5.1f}%" if p.task.share is not None else "     -"
            tuned = p.best if p.best < float("inf") else p.untuned
            lines.append(
                f"{p.task.name[:34]:<34} {p.task.weight:>5} {share:>6} "
                f"{p.untuned * 1e6:>11.1f} {tuned * 1e6:>10.1f} {p.speedup:>7.2f}x "
                f"{p.trials:>6} {p.errors:>6}"
            )
        before = sum(p.task.weight * p.untuned for p in self.tasks if p.untuned < float("inf"))
        after = sum(
            p.task.weight * min(p.best, p.untuned) for p in self.tasks if p.untuned < float("inf")
        )
        lines.append("-" * len(head))
        if after > 0:
            lines.append(
                f"tuned kernels per run: {before * 1e3:.3f} ms -> {after * 1e3:.3f} ms "
                f"({before / after:.2f}x), {self.trials} trials in {self.seconds:.0f} s"
            )
        if any(p.verified for p in self.tasks):
            lines.append(
                "untuned and tuned times: the default and the fastest configs re-measured "
                f"side by side ({VERIFY_ROUNDS} rounds)"
            )
        noise = [n for p in self.tasks for n in p.noise]
        if noise:
            noise.sort()
            lines.append(
                f"measurement noise (max-min)/median over repeats: median {100 * noise[len(noise) // 2]:.1f}%"
            )
        return "\n".join(lines)


ProgressCallback = Callable[[str, TaskProgress | None, dict[str, Any]], None]
"""``callback(event, task_progress, info)``; events: "start" (info: tasks, trials),
"task" (a task was measured; info: trials done), "end"."""


def tune_tasks(
    tasks: list[Task],
    records_path: str | os.PathLike[str],
    target: Any = "llvm",
    trials: int = 200,
    budget_seconds: float | None = None,
    tuner: str = "xgb",
    seed: int | None = 0,
    options: MeasureOptions | None = None,
    resume: bool = False,
    batch_size: int = 8,
    build_executor: Any = None,
    run_executor: Any = None,
    callback: ProgressCallback | None = None,
    verify_top: int = 3,
) -> TuneResult:
    """Tune ``tasks`` with ``trials`` measurements in all (and/or ``budget_seconds``),
    appending every measurement to ``records_path``. With ``resume`` the measurements
    already in the file for these workloads count: their configs are not measured again
    and train the cost model. At the end the ``verify_top`` fastest configs of each task
    and its default are measured again side by side (:func:`_verify`); builds then use
    that round's winner."""
    import tempfile

    from xtvm.autotune.apply import xtvm_version
    from xtvm.autotune.records import (
        MeasureRecord,
        append_records,
        load_records,
        target_compatible,
        target_dict,
    )
    from xtvm.backends.llvm import Target

    tgt = target if isinstance(target, Target) else Target.from_string(str(target))
    _require_gpu(tgt, run_executor)
    opts = options or MeasureOptions()
    template_free = tuner == "ansor"  # every task, templated or not, searched from its compute
    path = os.fspath(records_path)
    tdict = target_dict(tgt)
    version = xtvm_version()
    if os.path.exists(path) and not resume:
        raise XTVMError(f"records file '{path}' exists: pass resume=True (--resume) to continue it")
    history: dict[str, list[Any]] = {}
    if resume and os.path.exists(path):
        for r in load_records(path, drop_torn_tail=True):
            if target_compatible(r.target, tdict):
                history.setdefault(r.workload, []).append(r)

    start = time.monotonic()
    progress = [TaskProgress(t) for t in tasks]
    tuners = {}
    builder = Builder(tgt, opts, executor=build_executor)
    runner = Runner(opts, executor=run_executor)
    refs = tempfile.TemporaryDirectory(prefix="xtvm-ref-")
    total = 0

    def record(p: TaskProgress, values: dict[str, Any], res: MeasureResult, kind: str) -> Any:
        return MeasureRecord(
            workload=p.task.workload,
            task=p.task.description,
            target=tdict,
            config=values,
            costs=list(res.costs) if res.error is None else [],
            error=res.error,
            timestamp=time.time(),
            version=version,
            seed=seed,
            tuner=kind,
            extra={"flops": p.task.flops, "name": p.task.name, "trial": p.trials},
        )

    def out_of_time() -> bool:
        return budget_seconds is not None and time.monotonic() - start > budget_seconds

    if callback:
        callback("start", None, {"tasks": len(tasks), "trials": trials})
    try:
        # the baseline of each task: its default schedule, also the outputs' reference
        for p in progress:
            ref = os.path.join(refs.name, f"{p.task.workload}.npz")
            res = measure_reference(builder, runner, p.task.text, ref)
            p.untuned = res.cost
            if res.noise is not None:
                p.noise.append(res.noise)
            p.reference = ref
            default = p.task.space.get(p.task.space.default_index()) if p.task.space else None
            append_records(path, [record(p, default.to_json() if default else {}, res, "default")])
            if res.error is not None:
                p.done = True  # the default does not even run: nothing to compare with
                p.errors += 1
                continue
            p.best, p.best_config = res.cost, (default.to_json() if default else {})
            p.default_config = p.best_config
            p.history.append((0, p.best))
            if len(p.task.space) <= 1 and not template_free:
                p.done = True
                continue
            tn = _new_search(tuner, p.task, tgt, seed)
            done_before = history.get(p.task.workload, [])
            if done_before:
                cfgs, costs = [], []
                for r in done_before:
                    try:
                        cfgs.append(_config_of(p.task, r.config, template_free))
                        costs.append(r.cost)
                    except XTVMError:
                        continue  # a config of an older space, or of the other kind of tuner
                if cfgs:
                    tn.load_history(cfgs, costs)
                    for c, cost in zip(cfgs, costs):
                        if cost < p.best:
                            p.best, p.best_config = cost, c.to_json()
            # the default was measured above: the tuner must not propose it again
            tn.load_history([_default_config(p.task, template_free)], [p.untuned])
            tuners[p.task.workload] = tn
            if callback:
                callback("task", p, {"trials": total})
        while total < trials and not out_of_time():
            live = [p for p in progress if not p.done and tuners[p.task.workload].has_next()]
            if not live:
                break
            fresh = [p for p in live if p.trials == 0]
            p = fresh[0] if fresh else max(live, key=TaskProgress.priority)
            tn = tuners[p.task.workload]
            batch = tn.next_batch(min(batch_size, trials - total))
            if not batch:
                p.done = True
                continue
            values = [c.to_json() for c in batch]
            builds = builder.build(p.task.text, values)
            results = runner.run(builds, reference=p.reference)
            costs = [r.cost for r in results]
            tn.update(batch, costs)
            recs = []
            for v, r in zip(values, results):
                p.trials += 1
                total += 1
                if r.error is not None:
                    p.errors += 1
                elif r.cost < p.best:
                    p.best, p.best_config = r.cost, v
                if r.noise is not None:
                    p.noise.append(r.noise)
                p.history.append((p.trials, p.best))
                if r.error is None:
                    p.measured.append((v, r.cost))
                recs.append(record(p, v, r, tuner))
            append_records(path, recs)
            p._batches.append((p.trials, p.best))
            if callback:
                callback("task", p, {"trials": total})
        if verify_top > 0:
            # only tasks whose search found something faster than the default, those with
            # the most to gain first, within a tenth of the budget beyond it
            found = [
                p
                for p in progress
                if p.measured and p.default_config is not None and p.best < p.untuned * 0.98
            ]
            found.sort(key=lambda p: -p.task.weight * (p.untuned - p.best))
            limit = None if budget_seconds is None else budget_seconds * 1.1
            for p in found:
                if limit is not None and time.monotonic() - start > limit:
                    break
                append_records(path, _verify(p, builder, runner, verify_top, record))
    finally:
        builder.close()
        runner.close()
        refs.cleanup()
    if callback:
        callback("end", None, {"trials": total})
    return TuneResult(progress, path, time.monotonic() - start, total)


def _new_search(tuner: str, task: Task, target: Any, seed: int | None) -> Any:
    """The search object of one task: the template-free search for "ansor", else a tuner
    over the task's template space."""
    if tuner == "ansor":
        from xtvm.autotune.ansor import AnsorSearch

        return AnsorSearch(task, target, seed)
    from xtvm.autotune.tuners import get_tuner

    return get_tuner(tuner, task.space, seed=seed)


def _config_of(task: Task, values: dict[str, Any], template_free: bool) -> Any:
    """A recorded config as the task's search takes it (XTVMError: not one of its kind)."""
    from xtvm.autotune.dispatch import TEMPLATE_FREE_KEY
    from xtvm.autotune.space import ConfigEntity, InvalidConfigError

    if template_free:
        if TEMPLATE_FREE_KEY not in values:
            raise InvalidConfigError("not a template-free config")
        return ConfigEntity(None, values)
    return task.space.from_values(values)


def _default_config(task: Task, template_free: bool) -> Any:
    """The config that stands for the default schedule in the task's search."""
    if template_free:
        from xtvm.autotune.ansor import DEFAULT_STATE
        from xtvm.autotune.dispatch import TEMPLATE_FREE_KEY
        from xtvm.autotune.space import ConfigEntity

        return ConfigEntity(None, {TEMPLATE_FREE_KEY: DEFAULT_STATE})
    return task.space.get(task.space.default_index())


VERIFY_ROUNDS = 3


def _verify(
    p: TaskProgress, builder: Builder, runner: Runner, top: int, record: Callable[..., Any]
) -> list[Any]:
    """Re-measure the default and the ``top`` fastest configs of this run in alternating
    rounds. The best of many noisy single measurements is biased towards a lucky one (on
    this machine a 5% "gain" is often noise); the finalists measured side by side are not.
    Returns the records (``tuner="verify"``), one per config with all its rounds' costs."""
    from xtvm.autotune.records import VERIFY_TUNER

    assert p.default_config is not None
    ranked = sorted(p.measured, key=lambda vc: vc[1])
    configs = [p.default_config]
    for values, _ in ranked:
        if values not in configs:
            configs.append(values)
        if len(configs) > top:
            break
    costs: list[list[float]] = [[] for _ in configs]
    errors: list[str | None] = [None] * len(configs)
    for _ in range(VERIFY_ROUNDS):
        results = runner.run(builder.build(p.task.text, configs), reference=p.reference)
        for i, r in enumerate(results):
            if r.error is not None:
                errors[i] = r.error
            costs[i].extend(r.costs)
    recs = []
    best: tuple[float, dict[str, Any]] | None = None
    for values, cs, err in zip(configs, costs, errors):
        res = MeasureResult(costs=cs if err is None else [], error=err)
        recs.append(record(p, values, res, VERIFY_TUNER))
        if err is None and (best is None or res.cost < best[0]):
            best = (res.cost, values)
    if best is not None and errors[0] is None:
        p.untuned = MeasureResult(costs=costs[0]).cost
        p.best, p.best_config = best
        p.verified = True
    return recs


def _require_gpu(target: Any, run_executor: Any) -> None:
    """A cuda target measures on a GPU: here, or on an RPC server (``run_executor``)."""
    from xtvm.autotune.cuda_tasks import require_gpu
    from xtvm.autotune.rpc_runner import RPCRunExecutor
    from xtvm.backends.llvm import Target

    tgt = target if isinstance(target, Target) else Target.from_string(str(target))
    require_gpu(tgt, rpc=isinstance(run_executor, RPCRunExecutor))


def tune(
    mod: Any,
    records: str | os.PathLike[str],
    target: Any = "llvm",
    trials: int = 200,
    budget_seconds: float | None = None,
    tuner: str = "xgb",
    seed: int | None = 0,
    timeout: float = 20.0,
    resume: bool = False,
    num_threads: int | None = 1,
    opt_level: int = 3,
    batch_size: int = 8,
    build_executor: Any = None,
    run_executor: Any = None,
    callback: ProgressCallback | None = None,
) -> TuneResult:
    """Tune the kernels of relay module ``mod`` (from ``xtvm.from_onnx``) for ``target``.

    Every measurement is appended to ``records`` (JSON lines); build the model with
    ``xtvm.build(mod, tuning_records=records)`` to apply the best. ``trials`` bounds the
    measurements over all tasks, ``budget_seconds`` the wall time; ``tuner`` is "xgb" (a
    cost model guiding simulated annealing), "random", "grid", or "ansor" (template-free:
    every kernel with a reduction or a template, searched from its compute alone). Candidates are timed
    with ``num_threads`` threads per parallel loop: tune with the thread count you deploy.
    """
    _require_gpu(target, run_executor)
    tasks = extract_tasks(
        mod, target, opt_level=opt_level, num_threads=num_threads, template_free=tuner == "ansor"
    )
    options = MeasureOptions(timeout=timeout, num_threads=num_threads, seed=seed or 0)
    return tune_tasks(
        tasks,
        records,
        target=target,
        trials=trials,
        budget_seconds=budget_seconds,
        tuner=tuner,
        seed=seed,
        options=options,
        resume=resume,
        batch_size=batch_size,
        build_executor=build_executor,
        run_executor=run_executor,
        callback=callback,
    )
