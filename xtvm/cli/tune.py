"""``xtvm tune``: search schedules for a model's kernels on this machine, write the
measurements to a records file, and show what they buy.

    xtvm tune model.onnx --input-shapes "x:[1,3,224,224]" --output r.json --budget 20m
    xtvm compile model.onnx --input-shapes "x:[1,3,224,224]" --tuning-records r.json

Without ``--trials`` or ``--budget`` each task gets 64 trials, within 20 minutes in all.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import warnings
from typing import Any, TextIO

from xtvm.errors import ModelError, TuningWarning, XTVMError

TUNER_CHOICES = ("xgb", "autotvm", "random", "grid", "ansor")
DEFAULT_TRIALS_PER_TASK = 64
DEFAULT_BUDGET_SECONDS = 20 * 60.0
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_budget(text: str) -> float:
    """``"90s"``, ``"20m"``, ``"1h"`` or plain seconds -> seconds (argparse type)."""
    m = _DURATION.fullmatch(text.strip().lower())
    seconds = float(m[1]) * _UNIT_SECONDS[m[2]] if m else 0.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 20m, 1h or plain seconds, got {text!r}"
        )
    return seconds


def _count(text: str) -> int:
    """A positive integer (argparse type for --trials and --threads)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


# ------------------------------------------------------------------------------------------
# progress
# ------------------------------------------------------------------------------------------


class TuneProgress:
    """The ``callback`` of :func:`xtvm.autotune.tune.tune_tasks`: a rich progress bar on a
    terminal, one plain line per measured batch otherwise (logs, pipes, no rich)."""

    def __init__(
        self, total: int, budget: float | None, stream: TextIO | None = None, fancy: bool = True
    ):
        self.total = total
        self.budget = budget
        self.stream = stream or sys.stdout
        self.start = time.monotonic()
        self._bar: Any = None
        self._id: Any = None
        if fancy and self.stream.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )
            except ImportError:
                return
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[best]}"),
                TimeElapsedColumn(),
                TextColumn("eta {task.fields[eta]}"),
                console=Console(file=self.stream),
            )

    def eta(self, done: int) -> str:
        """Time left: the trial rate so far, or what is left of the budget if that is less."""
        elapsed = time.monotonic() - self.start
        left = [elapsed / done * (self.total - done)] if done else []
        if self.budget is not None:
            left.append(self.budget - elapsed)
        return _clock(min(left)) if left else "?"

    @staticmethod
    def best(p: Any) -> str:
        """``best 23.5 us, 12.3 GFLOP/s`` of one task."""
        if p.best == float("inf"):
            return "no valid schedule yet"
        text = f"best {p.best * 1e6:.1f} us"
        if p.task.flops:
            text += f", {p.task.flops / p.best / 1e9:.2f} GFLOP/s"
        return text

    def __call__(self, event: str, p: Any, info: dict[str, Any]) -> None:
        done = int(info.get("trials", 0))
        if event == "start":
            self.start = time.monotonic()
            if self._bar is not None:
                self._bar.start()
                self._id = self._bar.add_task(
                    "measuring defaults", total=self.total, best="", eta=self.eta(0)
                )
        elif event == "task" and p is not None:
            name = p.task.name if len(p.task.name) <= 32 else p.task.name[:31] + "~"
            if self._bar is not None:
                self._bar.update(
                    self._id,
                    completed=done,
                    description=name,
                    best=self.best(p),
                    eta=self.eta(done),
                )
            else:
                elapsed = _clock(time.monotonic() - self.start)
                print(
                    f"[{done:>{len(str(self.total))}}/{self.total}] {name}: {self.best(p)}; "
                    f"elapsed {elapsed}, eta {self.eta(done)}",
                    file=self.stream,
                    flush=True,
                )
        elif event == "end":
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


# ------------------------------------------------------------------------------------------
# untuned vs tuned
# ------------------------------------------------------------------------------------------


def time_alternating(
    libs: list[Any], feed: Any, blocks: int = 3, pause: float = 0.2
) -> list[float]:
    """Median seconds per run of each module, timed in alternating blocks (A B A B ...)
    with a pause between them, so a slow phase of a busy machine hits both alike."""
    for lib in libs:
        lib.run(feed)  # warm up: first-touch of the workspace, thread pool start
    start = time.perf_counter()
    libs[0].run(feed)
    once = max(time.perf_counter() - start, 1e-6)
    number = max(3, min(200, int(0.3 / once)))
    times: list[list[float]] = [[] for _ in libs]
    for _ in range(blocks):
        for i, lib in enumerate(libs):
            for _ in range(number):
                start = time.perf_counter()
                lib.run(feed)
                times[i].append(time.perf_counter() - start)
            time.sleep(pause)
    return [statistics.median(t) for t in times]


def build_untuned_and_tuned(mod: Any, records: str, args: argparse.Namespace) -> tuple[Any, Any]:
    """``mod`` built without and with ``records`` (the tuning summary warning held back:
    the caller prints it once)."""
    from xtvm.driver import build

    kw = {"target": args.target, "opt_level": args.opt_level, "num_threads": args.threads}
    if str(args.target).split()[0] == "cuda":
        kw["num_threads"] = None  # no host threads on a GPU
    untuned = build(mod, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TuningWarning)
        tuned = build(mod, tuning_records=records, **kw)
    for w in caught:  # the summary is printed below; anything else goes out as it came
        if not (issubclass(w.category, TuningWarning) and str(w.message) == tuned.tuning_summary):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return untuned, tuned


def warn_if_outputs_differ(untuned: list[Any], tuned: list[Any]) -> None:
    import numpy as np

    for a, b in zip(untuned, tuned):
        if not np.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True):
            print(
                "warning: the tuned model's outputs differ from the untuned model's",
                file=sys.stderr,
            )
            break


def compare_models(
    mod: Any, records: str, args: argparse.Namespace, rpc: Any = None
) -> tuple[float, float, Any]:
    """Build ``mod`` untuned and with ``records``; (untuned s, tuned s, tuned build).
    With ``rpc`` (an RPCRunExecutor) both run and are timed on its server."""
    from xtvm.autotune.measure import random_inputs

    untuned, tuned = build_untuned_and_tuned(mod, records, args)
    feed = random_inputs(untuned.input_info, 0)
    if rpc is not None:
        from xtvm.cli.rpc import compare_remote

        before, after = compare_remote(untuned, tuned, feed, rpc)
        return before, after, tuned
    warn_if_outputs_differ(untuned.run(feed), tuned.run(feed))
    before, after = time_alternating([untuned, tuned], feed)
    return before, after, tuned


# ------------------------------------------------------------------------------------------
# the command
# ------------------------------------------------------------------------------------------


def _check_args(args: argparse.Namespace) -> None:
    """Fail before the (slow) import and task extraction on what can be seen up front."""
    if os.path.exists(args.output) and not args.resume:
        raise XTVMError(
            f"records file '{args.output}' exists: pass --resume to continue it, "
            "or choose another --output"
        )
    if args.plot:
        from xtvm.autotune.plot import MATPLOTLIB_HINT, have_matplotlib

        if not have_matplotlib():
            raise XTVMError(f"--plot needs matplotlib: {MATPLOTLIB_HINT}")
    if not os.path.isfile(args.model):
        raise ModelError(f"cannot read '{args.model}': no such file")


def _trials_and_budget(args: argparse.Namespace, tasks: list[Any]) -> tuple[int, float | None]:
    """--trials and/or --budget (whichever ends first); neither: 64 per task, 20 minutes."""
    if args.trials is None and args.budget is None:
        return DEFAULT_TRIALS_PER_TASK * len(tasks), DEFAULT_BUDGET_SECONDS
    if args.trials is None and args.tuner == "ansor":  # no space to exhaust
        return DEFAULT_TRIALS_PER_TASK * len(tasks), args.budget
    if args.trials is None:
        return sum(len(t.space) for t in tasks), args.budget  # everything, if time allows
    return args.trials, args.budget


def cmd_tune(args: argparse.Namespace) -> int:
    _check_args(args)
    rpc = None
    if args.rpc:
        from xtvm.cli.rpc import open_tuning_executor

        rpc = open_tuning_executor(args)  # sets args.target to the server's unless given
    try:
        return _tune(args, rpc)
    finally:
        if rpc is not None:
            rpc.shutdown()


def _tune(args: argparse.Namespace, rpc: Any) -> int:
    from xtvm.autotune.measure import MeasureOptions
    from xtvm.autotune.task import extract_tasks
    from xtvm.autotune.tune import tune_tasks
    from xtvm.cli.shapes import parse_input_shapes
    from xtvm.frontend.onnx import from_onnx

    if args.target is not None:  # a cuda target without a GPU stops here, before any work
        from xtvm.autotune.tune import _require_gpu

        _require_gpu(args.target, rpc)
    shapes = parse_input_shapes(args.input_shapes) if args.input_shapes is not None else None
    mod = from_onnx(args.model, shape_dict=shapes)
    print("extracting tasks (an untuned, profiled build) ...", flush=True)
    tasks = extract_tasks(
        mod,
        args.target,
        opt_level=args.opt_level,
        num_threads=args.threads,
        template_free=args.tuner == "ansor",
    )
    if not tasks:
        open(args.output, "a").close()  # an empty records file is valid input to compile
        print(f"nothing to tune: no kernel of {args.model} has a tunable schedule")
        return 0
    trials, budget = _trials_and_budget(args, tasks)
    searchable = sum(len(t.space) - 1 for t in tasks if len(t.space) > 1)
    total = min(trials, searchable)
    limit = f", at most {_clock(budget)}" if budget is not None else ""
    print(
        f"{len(tasks)} task(s), {searchable} candidate config(s) besides the defaults; "
        f"tuner {args.tuner}, {total} trial(s){limit}, {args.threads} thread(s)",
        flush=True,
    )
    progress = TuneProgress(total, budget, fancy=not args.no_progress_bar)
    try:
        result = tune_tasks(
            tasks,
            args.output,
            target=args.target,
            trials=trials,
            budget_seconds=budget,
            tuner="xgb" if args.tuner == "autotvm" else args.tuner,
            seed=args.seed,
            options=MeasureOptions(timeout=args.timeout, num_threads=args.threads, seed=args.seed),
            resume=args.resume,
            callback=progress,
            run_executor=rpc,
        )
    finally:
        progress.close()
    print(result.table())
    print(f"wrote {result.records_path}")
    if args.plot:
        from xtvm.autotune.plot import plot_history

        print(f"wrote {plot_history(result, args.plot)}")
    if not args.no_compare:
        before, after, tuned = compare_models(mod, result.records_path, args, rpc)
        print(tuned.tuning_summary)
        print(
            f"model: untuned {before * 1e3:.3f} ms -> tuned {after * 1e3:.3f} ms "
            f"({before / after:.2f}x), {args.threads} thread(s)"
        )
    return 0


def add_tune_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``tune`` subcommand (``subparsers`` from ``add_subparsers``)."""
    t = subparsers.add_parser(
        "tune",
        help="search faster schedules for a model's kernels; write tuning records",
        description="Measure candidate schedules of the model's tunable kernels on this "
        "machine and append every measurement to a records file for "
        "'xtvm compile --tuning-records'. Without --trials or --budget: "
        f"{DEFAULT_TRIALS_PER_TASK} trials per task within "
        f"{DEFAULT_BUDGET_SECONDS / 60:.0f} minutes.",
    )
    t.add_argument("model", help="path of the .onnx model")
    from xtvm.cli.main import add_model_options  # main imports this module: not at the top

    add_model_options(t)
    t.add_argument(
        "-o", "--output", required=True, metavar="JSON", help="records file (JSON lines) to write"
    )
    t.add_argument("--trials", type=_count, metavar="N", help="measurements over all tasks")
    t.add_argument(
        "--budget",
        type=parse_budget,
        metavar="TIME",
        help='wall-time limit: "90s", "20m", "1h" or seconds (with --trials: whichever ends first)',
    )
    t.add_argument(
        "--tuner",
        choices=TUNER_CHOICES,
        default="xgb",
        help="xgb (= autotvm): a cost model guiding simulated annealing (default); random; "
        "grid; ansor: the template-free auto-scheduler (sketches from each kernel's compute, "
        "evolutionary search with a loop-nest cost model; also tunes kernels without a "
        "template that have a reduction)",
    )
    t.add_argument(
        "--timeout",
        type=_seconds,
        default=20.0,
        metavar="S",
        help="seconds per candidate build, and per run beyond its expected time (default 20)",
    )
    t.add_argument(
        "--seed", type=int, default=0, metavar="K", help="seed of the tuner and inputs (default 0)"
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue an existing records file: its configs are not measured again",
    )
    t.add_argument(
        "--threads",
        type=_count,
        default=1,
        metavar="T",
        help="threads per parallel loop while measuring (default 1): tune as you deploy",
    )
    t.add_argument("--plot", metavar="PNG", help="draw best latency against trials per task")
    t.add_argument(
        "--rpc",
        metavar="HOST:PORT",
        help="measure on an 'xtvm rpc server' (key from $XTVM_RPC_KEY); without --target, "
        "compile for the server's CPU",
    )
    t.add_argument(
        "--no-compare",
        action="store_true",
        help="skip building and timing the whole model untuned and tuned at the end",
    )
    t.add_argument(
        "--no-progress-bar",
        action="store_true",
        help="print one line per measured batch even on a terminal",
    )
    t.set_defaults(func=cmd_tune)
    return t
