"""Benchmark xtvm against onnxruntime (and numpy where it applies), interleaved in one run.

    python benchmarks/run.py [--threads 1,2] [--suite kernels,models,real] [--quick] [--json out.json]
                             [--only NAME,NAME] [--tuning-records r.json] [--isolate [--pause S]]

Each thread count runs in a fresh process whose environment fixes every engine's thread pool
before anything is imported: ``OMP_NUM_THREADS`` (xtvm's OpenMP pool), ``OPENBLAS_NUM_THREADS``
/ ``MKL_NUM_THREADS`` (numpy) and onnxruntime's ``intra_op_num_threads``. Prints median
latency, the xtvm/onnxruntime ratio (below 1 means xtvm is faster) and GFLOP/s. The ``real``
suite (not run by default) fetches pinned real exported models first (``real_models.py``).

By default all engines run in one process, which must stop idle pools from spinning
(``OMP_WAIT_POLICY=PASSIVE``, onnxruntime ``allow_spinning=0``, ``OPENBLAS_THREAD_TIMEOUT=4``)
or one engine's spinners take the cores of the next; but a sleeping libgomp pool makes every
parallel region pay a futex wake-up (about 0.1 ms here), so small 2-thread cases measure that
artifact. ``--isolate`` runs each engine in its own long-lived process
(``engine_server.py``) with the same thread counts and its default wait policy; blocks still
alternate, with ``--pause`` seconds between them so the previous engine's spinners fall
asleep. Spinning pools suffer when other processes load the machine (a spinner waits for a
descheduled sibling), so check ``uptime`` next to isolated numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent

if TYPE_CHECKING:
    from harness import Measurement


def iter_cases(suites: list[str], quick: bool) -> Iterator[tuple[str, str, tuple]]:
    """``(suite, name, (model, inputs, flops, numpy_fn[, shape_dict]))`` in a fixed order; the
    kernel suite draws from one seeded generator, so a fresh process rebuilding it in this
    order gets the same weights (``engine_server`` relies on that for numpy)."""
    sys.path.insert(0, str(HERE))
    if "kernels" in suites:
        from kernels import kernel_cases

        yield from (("kernels", *c) for c in kernel_cases(quick))
    if "models" in suites:
        from models import model_cases

        yield from (("models", *c) for c in model_cases(quick))
    if "real" in suites:
        from real_models import real_cases

        yield from (("real", *c) for c in real_cases(quick))


def _row(suite: str, threads: int, m: Measurement) -> dict:
    row = {
        "suite": suite,
        "name": m.name,
        "threads": threads,
        "error": m.error,
        "compile_s": round(m.compile_s, 2),
        "max_abs_err": m.max_abs_err,
    }
    for engine in ("xtvm", "onnxruntime", "numpy"):
        if m.times_ms.get(engine):
            row[f"{engine}_ms"] = round(m.median(engine), 4)
            if m.flops:
                row[f"{engine}_gflops"] = round(m.gflops(engine), 1)
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def _worker(args: argparse.Namespace, threads: int) -> list[dict]:
    """In-process mode: every engine in this process (whose thread env ``main`` fixed)."""
    from harness import measure  # noqa: PLC0415 (imported after the thread env is set)

    rows = []
    for suite, name, (model, inputs, flops, numpy_fn, *rest) in _selected(args):
        m = measure(
            name,
            model,
            inputs,
            threads,
            flops,
            numpy_fn,
            shape_dict=rest[0] if rest else None,
            tuning_records=args.tuning_records,
        )
        rows.append(_row(suite, threads, m))
    return rows


def _isolated(args: argparse.Namespace, thread_counts: list[int]) -> list[dict]:
    """Isolated mode: this process only builds the cases and drives the engine processes."""
    from engine_server import measure_isolated

    cases = _selected(args)
    rows = []
    for threads in thread_counts:
        for suite, name, (model, inputs, flops, numpy_fn, *rest) in cases:
            m = measure_isolated(
                (suite, name, args.quick),
                model,
                inputs,
                threads,
                flops,
                has_numpy=numpy_fn is not None,
                shape_dict=rest[0] if rest else None,
                tuning_records=args.tuning_records,
                pause_s=args.pause,
            )
            rows.append(_row(suite, threads, m))
    return rows


def _selected(args: argparse.Namespace) -> list[tuple[str, str, tuple]]:
    only = [n for n in args.only.split(",") if n]
    cases = iter_cases([s for s in args.suite.split(",") if s], args.quick)
    return [c for c in cases if not only or c[1] in only]


def _table(rows: list[dict]) -> str:
    from harness import geomean

    head = "| suite | case | threads | xtvm ms | ORT ms | numpy ms | xtvm/ORT | xtvm/numpy | xtvm GFLOP/s | compile s |"
    out = [head, "|" + "---|" * 10]
    for r in rows:
        if r["error"]:
            out.append(
                f"| {r['suite']} | {r['name']} | {r['threads']} | error: {r['error']} |||||||"
            )
            continue
        x, o, n = r.get("xtvm_ms"), r.get("onnxruntime_ms"), r.get("numpy_ms")
        ratio_o = f"{x / o:.2f}" if x and o else ""
        ratio_n = f"{x / n:.2f}" if x and n else ""
        out.append(
            f"| {r['suite']} | {r['name']} | {r['threads']} | {x:.3f} | {o:.3f} | "
            f"{'' if n is None else f'{n:.3f}'} | {ratio_o} | {ratio_n} | "
            f"{r.get('xtvm_gflops', '')} | {r['compile_s']} |"
        )
    for threads in sorted({r["threads"] for r in rows}):
        for suite in sorted({r["suite"] for r in rows}):
            sel = [
                r
                for r in rows
                if r["threads"] == threads and r["suite"] == suite and not r["error"]
            ]
            if sel:
                g = geomean([r["xtvm_ms"] / r["onnxruntime_ms"] for r in sel])
                worst = max(r["xtvm_ms"] / r["onnxruntime_ms"] for r in sel)
                out.append(
                    f"\n{suite}, {threads} thread(s): geomean xtvm/ORT {g:.2f}, worst {worst:.2f}"
                )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--suite", default="kernels,models")
    ap.add_argument("--quick", action="store_true", help="a small subset, for smoke tests")
    ap.add_argument("--json", help="write all rows to this file")
    ap.add_argument("--only", default="", help="comma-separated case names to run")
    ap.add_argument("--tuning-records", help="build xtvm with these tuning records")
    ap.add_argument(
        "--isolate",
        action="store_true",
        help="each engine in its own process with its default thread-pool wait policy",
    )
    ap.add_argument("--pause", type=float, default=0.25, help="--isolate: seconds between blocks")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tuning_records:
        args.tuning_records = os.path.abspath(args.tuning_records)
    if args.worker is not None:
        print(json.dumps(_worker(args, args.worker)))
        return 0
    sys.path.insert(0, str(HERE))
    from harness import thread_env

    thread_counts = [int(v) for v in args.threads.split(",")]
    rows: list[dict] = _isolated(args, thread_counts) if args.isolate else []
    for t in [] if args.isolate else thread_counts:
        env = thread_env(t)
        # engines alternate in one process: an idle pool that spins (libgomp's default, and
        # onnxruntime's, see harness.ort_session) steals the cores the next engine needs
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # OpenBLAS workers spin about 0.1 s after each call (2^28 cycles) unless told to
        # sleep after 2^4: measured, that spin made the engine run after numpy 2x slower
        env.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
        cmd = [sys.executable, str(HERE / "run.py"), "--worker", str(t), "--suite", args.suite]
        if args.quick:
            cmd.append("--quick")
        if args.only:
            cmd += ["--only", args.only]
        if args.tuning_records:
            cmd += ["--tuning-records", args.tuning_records]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        rows += json.loads(proc.stdout.strip().splitlines()[-1])
    print(_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
