"""How fast each tuner finds a good schedule on real kernels (measured, not synthetic).

    python benchmarks/tuner_kernel_convergence.py --only gemm_1024,conv_layer1_3x3 \\
        --trials 96 --tuners random,xgb --seeds 0,1

For each case of benchmarks/kernels.py and each seed, tunes the case's task(s) once per
tuner with the same trial budget, then reports each tuner's best kernel time and how many
trials the model-based tuner needed to reach the random tuner's best (the issue's target:
a third of random's trials). Runs tuners one after another, so background load moves both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def trials_to_reach(history: list[tuple[int, float]], goal: float) -> int | None:
    """First trial whose best-so-far is within 1% of ``goal`` (None: never)."""
    for trial, best in history:
        if best <= goal * 1.01:
            return trial
    return None


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", required=True, help="comma-separated kernels.py case names")
    ap.add_argument("--trials", type=int, default=96)
    ap.add_argument("--tuners", default="random,xgb")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.path.insert(0, str(HERE))
    from kernels import kernel_cases

    import xtvm
    from xtvm.autotune.measure import MeasureOptions
    from xtvm.autotune.task import extract_tasks
    from xtvm.autotune.tune import tune_tasks

    cases = dict(kernel_cases())
    tuners = [t for t in args.tuners.split(",") if t]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    rows = []
    for name in [n for n in args.only.split(",") if n]:
        model, inputs, *_ = cases[name]
        mod = xtvm.from_onnx(model, {k: v.shape for k, v in inputs.items()})
        tasks = extract_tasks(mod, profile=False, num_threads=args.threads)
        tasks = [t for t in tasks if len(t.space) > 1]
        for task in tasks:
            for seed in seeds:
                result = {}
                for tuner in tuners:
                    with tempfile.TemporaryDirectory() as tmp:
                        res = tune_tasks(
                            [task],
                            os.path.join(tmp, "r.json"),
                            trials=args.trials,
                            tuner=tuner,
                            seed=seed,
                            options=MeasureOptions(num_threads=args.threads, seed=seed),
                        )
                    result[tuner] = res.tasks[0]
                    p = res.tasks[0]
                    print(
                        f"{name} {task.name} seed {seed} {tuner}: untuned {p.untuned * 1e6:.1f} us, "
                        f"best {p.best * 1e6:.1f} us after {p.trials} trials",
                        flush=True,
                    )
                if "random" in result:
                    goal = result["random"].best
                    for tuner, p in result.items():
                        if tuner == "random":
                            continue
                        reach = trials_to_reach(p.history, goal)
                        rows.append((name, task.name, seed, tuner, reach, p.best, goal))
    if rows:
        print(
            "\n| case | task | seed | tuner | trials to reach random's best | best us | random best us |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, task, seed, tuner, reach, best, goal in rows:
            print(
                f"| {name} | {task} | {seed} | {tuner} | {reach if reach is not None else 'never'} "
                f"| {best * 1e6:.1f} | {goal * 1e6:.1f} |"
            )
        reached = [r[4] for r in rows if r[4] is not None]
        if reached:
            print(f"\nmedian trials to reach random's best: {statistics.median(reached)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
