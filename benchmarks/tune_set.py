"""Tune cases of the benchmark set into one records file, then compare with run.py.

    python benchmarks/tune_set.py --only gemm_1024,matmul_runtime_1024 --trials 64 \\
        --tuner xgb --threads 1 --output out/tuned.json
    python benchmarks/run.py --suite kernels --threads 1 --only gemm_1024,matmul_runtime_1024 \\
        --tuning-records out/tuned.json

Each case is tuned with ``xtvm.tune`` (``--resume`` appends to the same file, so cases
share records: a kernel that occurs in two models is tuned once). Prints, per case, the
tuning time, the number of tasks and the tuned kernels' speed-up over their defaults;
run.py then times the tuned builds against onnxruntime and numpy in one process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", required=True, help="comma-separated case names (run.py's)")
    ap.add_argument("--suite", default="kernels,models")
    ap.add_argument("--trials", type=int, default=64, help="trials per case (all its tasks)")
    ap.add_argument("--budget", type=float, default=None, help="seconds per case")
    ap.add_argument("--tuner", default="xgb")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.path.insert(0, str(HERE))
    import xtvm

    cases = []
    if "kernels" in args.suite:
        from kernels import kernel_cases

        cases += list(kernel_cases())
    if "models" in args.suite:
        from models import model_cases

        cases += list(model_cases())
    wanted = [n for n in args.only.split(",") if n]
    found = {name: spec for name, spec in cases if name in wanted}
    missing = [n for n in wanted if n not in found]
    if missing:
        print(f"unknown case(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        model, inputs, _flops, _np_fn, *rest = found[name]
        shape_dict = rest[0] if rest else {k: v.shape for k, v in inputs.items()}
        mod = xtvm.from_onnx(model, shape_dict)
        start = time.perf_counter()
        result = xtvm.tune(
            mod,
            args.output,
            trials=args.trials,
            budget_seconds=args.budget,
            tuner=args.tuner,
            seed=args.seed,
            num_threads=args.threads,
            resume=True,
        )
        print(f"== {name}: {len(result.tasks)} task(s), {time.perf_counter() - start:.0f} s")
        print(result.table(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
