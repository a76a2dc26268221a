"""How fast the model-based tuner converges, against random search, on the synthetic
problem of ``xtvm.autotune.tuners.synthetic`` (67,200 configs, no compiling).

    python benchmarks/tuner_convergence.py [--trials 300] [--seeds 8] [--batch 16]
                                           [--tuner xgb] [--cost-model lightgbm]

For each seed: random search's best after ``--trials`` trials, and how many trials the
model-based tuner needs to reach it (the issue's target: a third of random's). Prints a
table and the medians over the seeds; the optimum of the whole space for scale. Wall time
is the tuner's own overhead (the synthetic "measurement" is free).
"""

from __future__ import annotations

import argparse
import statistics
import time

from xtvm.autotune.tuners.synthetic import run_tuner, synthetic_cost, synthetic_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tuner", default="xgb")
    parser.add_argument("--cost-model", default="lightgbm", choices=["lightgbm", "xgboost"])
    args = parser.parse_args()

    optimum = min(synthetic_cost(c.values) for c in synthetic_space())
    print(f"synthetic space: {len(synthetic_space())} configs, optimum {optimum * 1e3:.4f} ms")
    print(
        f"{'seed':>4} | {'random best':>11} | {'tuner trials':>12} | "
        f"{'tuner @100':>10} | {'tuner @' + str(args.trials):>10} | {'tuner s':>7}"
    )
    reached: list[float] = []
    ratios100: list[float] = []
    for seed in range(args.seeds):
        rand = run_tuner("random", args.trials, seed=seed, batch=args.batch)
        start = time.perf_counter()
        curve = run_tuner(
            args.tuner, args.trials, seed=seed, batch=args.batch, cost_model=args.cost_model
        )
        wall = time.perf_counter() - start
        target = rand[-1]
        hit = next((i + 1 for i, c in enumerate(curve) if c <= target), None)
        reached.append(hit if hit is not None else float("inf"))
        at100 = curve[min(99, len(curve) - 1)]
        ratios100.append(at100 / rand[min(99, len(rand) - 1)])
        print(
            f"{seed:>4} | {target * 1e3:>8.4f} ms | {hit if hit else 'never':>12} | "
            f"{at100 * 1e3:>7.4f} ms | {curve[-1] * 1e3:>7.4f} ms | {wall:>7.2f}"
        )
    med = statistics.median(reached)
    print(
        f"median trials for {args.tuner} ({args.cost_model}) to reach random's best after "
        f"{args.trials}: {med:g} ({med / args.trials:.2f} of random's trials); "
        f"median best after 100 trials: {statistics.median(ratios100):.2f}x random's"
    )


if __name__ == "__main__":
    main()
