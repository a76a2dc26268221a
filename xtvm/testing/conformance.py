"""ONNX backend node-test conformance runner for xtvm.

    python -m xtvm.testing.conformance --jobs 2 --markdown docs/onnx-support.md \\
        --json out/conformance.json

Every node test is compiled with ``from_onnx`` + ``build`` (input shapes from its data), run
on each data set and compared with the reference outputs. Each case runs in its own forked
process with a time limit, so a crash or hang is that case's result. Two modes: (a) the
model as-is, (b) shape-like graph inputs frozen to initializers (see shape_operands.py).
Statuses: pass, fail (wrong numbers), unsupported (UnsupportedOperatorError), error (any
other XTVMError), crash (signal or uncaught Python exception), timeout, skipped (mode b
only: the shape operands vary between data sets).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from xtvm.testing.cases import Case, load_cases
from xtvm.testing.compare import compare_outputs
from xtvm.testing.fair import exclusion
from xtvm.testing.isolate import describe_exception, run_isolated
from xtvm.testing.shape_operands import case_shape_operands, constant_values, freeze_inputs

MODES = ("a", "b")


def check_case(case: Case, use_cache: bool = False) -> dict[str, Any]:
    """Compile, run and compare one case (in the current process); returns its result."""
    import xtvm
    from xtvm.errors import UnsupportedOperatorError, XTVMError

    if not use_cache:
        os.environ["XTVM_CACHE_DIR"] = ""  # measure real compiles; never reuse stale objects
    stage, times = "import", {}
    start = time.perf_counter()
    try:
        first_inputs = case.data_sets[0][0] if case.data_sets else []
        shapes = {
            n: tuple(a.shape)
            for n, a in zip(case.input_names, first_inputs)
            if isinstance(a, np.ndarray)
        }
        mod = xtvm.from_onnx(case.model, shape_dict=shapes)
        times["import"] = time.perf_counter() - start
        stage, start = "build", time.perf_counter()
        lib = xtvm.build(mod, target="llvm", opt_level=3)
        times["build"] = time.perf_counter() - start
        stage, start = "run", time.perf_counter()
        out_names = [v.name for v in case.model.graph.output]
        for k, (inputs, expected) in enumerate(case.data_sets):
            actual = lib.run(dict(zip(case.input_names, inputs)))
            problem = compare_outputs(expected, actual, case.rtol, case.atol, out_names)
            if problem is not None:
                prefix = f"data set {k}: " if len(case.data_sets) > 1 else ""
                return {"status": "fail", "stage": "compare", "message": prefix + problem}
        times["run"] = time.perf_counter() - start
        return {"status": "pass", "stage": "", "message": "", "times": times}
    except UnsupportedOperatorError as exc:
        return {"status": "unsupported", "stage": stage, "message": str(exc).splitlines()[0]}
    except XTVMError as exc:
        text = str(exc).strip().splitlines()
        message = f"{type(exc).__name__}: {text[0] if text else ''}"
        return {"status": "error", "stage": stage, "message": message}
    except Exception as exc:  # an uncaught Python exception is a bug: report it as a crash
        return {"status": "crash", "stage": stage, "message": "uncaught " + describe_exception(exc)}


def _mode_b_variant(case: Case) -> tuple[Case | None, list[str], str]:
    """(model to run in mode b or None to reuse mode a, frozen input names, skip reason)."""
    names = case_shape_operands(case)
    if not names:
        return None, [], ""
    values = constant_values(case, names)
    if values is None:
        return None, names, "shape operands differ between data sets"
    return freeze_inputs(case, values), names, ""


def run_conformance(
    cases: list[Case],
    jobs: int = 2,
    timeout: float = 60.0,
    modes: tuple[str, ...] = MODES,
    use_cache: bool = False,
    check: Callable[[Case, bool], dict[str, Any]] = check_case,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``cases`` in both modes, each in its own process; one result dict per case."""
    _preload()
    results: dict[str, dict[str, Any]] = {}
    tasks: list[tuple[Any, Any, tuple[Any, ...]]] = []
    for case in cases:
        excluded = exclusion(case)
        entry: dict[str, Any] = {
            "name": case.name,
            "op_type": case.op_type,
            "fair": excluded is None,
            "excluded": f"{excluded[0]}: {excluded[1]}" if excluded else None,
        }
        results[case.name] = entry
        if "a" in modes:
            tasks.append(((case.name, "a"), check, (case, use_cache)))
        if "b" in modes:
            variant, names, skip = _mode_b_variant(case)
            entry["b_frozen"] = names
            if skip:
                entry["b"] = {"status": "skipped", "stage": "", "message": skip}
            elif variant is not None:
                tasks.append(((case.name, "b"), check, (variant, use_cache)))
    done = 0
    for outcome in run_isolated(iter(tasks), jobs=jobs, timeout=timeout):
        name, mode = outcome.key
        if outcome.status is None:
            result = dict(outcome.value)
        else:
            result = {"status": outcome.status, "stage": "", "message": outcome.message}
        result["seconds"] = round(outcome.seconds, 3)
        results[name][mode] = result
        done += 1
        if progress is not None:
            progress(done, len(tasks))
    for entry in results.values():
        if "a" in modes and "b" in modes and "b" not in entry:
            entry["b"] = dict(entry["a"], same_as_a=True)  # nothing to freeze: same model
    return [results[c.name] for c in cases]


def _preload() -> None:
    """Import the compiler once in the parent so each forked worker starts warm."""
    import xtvm.backends.llvm  # noqa: F401
    import xtvm.driver  # noqa: F401
    import xtvm.frontend.onnx  # noqa: F401
    from xtvm.passes.registry import all_passes

    all_passes()


def select_cases(
    cases: list[Case], pattern: str | None, sample: int | None, seed: int, fair_only: bool
) -> list[Case]:
    """Apply ``--filter`` (regex searched in the name), ``--subset fair`` and ``--sample``."""
    if pattern:
        rx = re.compile(pattern)
        cases = [c for c in cases if rx.search(c.name)]
    if fair_only:
        cases = [c for c in cases if exclusion(c) is None]
    if sample is not None and sample < len(cases):
        picked = set(random.Random(seed).sample([c.name for c in cases], sample))
        cases = [c for c in cases if c.name in picked]
    return cases


def _versions() -> dict[str, str]:
    import onnx

    import xtvm

    return {"onnx": onnx.__version__, "xtvm": xtvm.__version__, "python": sys.version.split()[0]}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m xtvm.testing.conformance",
        description="Run the ONNX backend node tests through xtvm and report pass rates.",
    )
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per case (default 60)")
    p.add_argument("--filter", metavar="REGEX", help="only cases whose name matches")
    p.add_argument("--sample", type=int, metavar="N", help="a deterministic sample of N cases")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--subset", choices=("all", "fair"), default="all", help="cases to run")
    p.add_argument("--modes", default="a,b", help="comma list of a (as-is), b (frozen shapes)")
    p.add_argument("--use-cache", action="store_true", help="let builds use the object cache")
    p.add_argument("--json", metavar="PATH", help="write per-case results as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write the Markdown summary")
    p.add_argument("--from-json", metavar="PATH", help="only re-render a JSON result file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    from xtvm.testing.report import render_markdown, summary_lines, totals

    args = _parser().parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            report = json.load(f)
    else:
        modes = tuple(m for m in args.modes.split(",") if m)
        if not modes or any(m not in MODES for m in modes):
            print(f"error: --modes takes a comma list of {MODES}", file=sys.stderr)
            return 2
        started = time.time()
        cases = select_cases(
            load_cases(), args.filter, args.sample, args.seed, args.subset == "fair"
        )

        def progress(done: int, total: int) -> None:
            if not args.quiet and (done % 100 == 0 or done == total):
                elapsed = time.time() - started
                print(f"[{done}/{total}] {elapsed:.0f} s", file=sys.stderr, flush=True)

        results = run_conformance(
            cases, args.jobs, args.timeout, modes, args.use_cache, progress=progress
        )
        argv_text = shlex.join(sys.argv[1:] if argv is None else argv)
        report = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": f"python -m xtvm.testing.conformance {argv_text}".strip(),
            "versions": _versions(),
            "jobs": args.jobs,
            "timeout_s": args.timeout,
            "modes": list(modes),
            "elapsed_s": round(time.time() - started, 1),
            "results": results,
        }
        report["totals"] = totals(results, modes)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(render_markdown(report))
    print("\n".join(summary_lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
