"""Benchmark xtvm against onnxruntime (and numpy where it applies), interleaved in one run.

    python benchmarks/run.py [--threads 1,2] [--suite kernels,models,real] [--quick] [--json out.json]
                             [--only NAME,NAME] [--tuning-records r.json]

Each thread count runs in a fresh process whose environment fixes every engine's thread pool
before anything is imported: ``OMP_NUM_THREADS`` (xtvm's OpenMP pool), ``OPENBLAS_NUM_THREADS``
/ ``MKL_NUM_THREADS`` (numpy) and onnxruntime's ``intra_op_num_threads``. Prints median
latency, the xtvm/onnxruntime ratio (below 1 means xtvm is faster) and GFLOP/s. The ``real``
suite (not run by default) fetches pinned real exported models first (``real_models.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _worker(
    threads: int, suites: list[str], quick: bool, only: list[str], records: str | None
) -> list[dict]:
    sys.path.insert(0, str(HERE))
    from harness import measure  # noqa: PLC0415 (imported after the thread env is set)

    rows = []
    cases = []
    if "kernels" in suites:
        from kernels import kernel_cases

        cases += [("kernels", *c) for c in kernel_cases(quick)]
    if "models" in suites:
        from models import model_cases

        cases += [("models", *c) for c in model_cases(quick)]
    if "real" in suites:
        from real_models import real_cases

        cases += [("real", *c) for c in real_cases(quick)]
    if only:
        cases = [c for c in cases if c[1] in only]
    for suite, name, (model, inputs, flops, numpy_fn, *rest) in cases:
        shape_dict = rest[0] if rest else None
        m = measure(
            name,
            model,
            inputs,
            threads,
            flops,
            numpy_fn,
            shape_dict=shape_dict,
            tuning_records=records,
        )
        row = {
            "suite": suite,
            "name": name,
            "threads": threads,
            "error": m.error,
            "compile_s": round(m.compile_s, 2),
            "max_abs_err": m.max_abs_err,
        }
        for engine in ("xtvm", "onnxruntime", "numpy"):
            if m.times_ms.get(engine):
                row[f"{engine}_ms"] = round(m.median(engine), 4)
                if flops:
                    row[f"{engine}_gflops"] = round(m.gflops(engine), 1)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


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
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    suites = [s for s in args.suite.split(",") if s]
    if args.worker is not None:
        only = [n for n in args.only.split(",") if n]
        print(json.dumps(_worker(args.worker, suites, args.quick, only, args.tuning_records)))
        return 0
    rows: list[dict] = []
    for t in [int(v) for v in args.threads.split(",")]:
        env = dict(os.environ)
        for var in (
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
            "XTVM_NUM_THREADS",
        ):
            env[var] = str(t)
        # engines alternate in one process: an idle pool that spins (libgomp's default, and
        # onnxruntime's, see harness._ort_session) steals the cores the next engine needs
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
            cmd += ["--tuning-records", os.path.abspath(args.tuning_records)]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        rows += json.loads(proc.stdout.strip().splitlines()[-1])
    sys.path.insert(0, str(HERE))
    print(_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
