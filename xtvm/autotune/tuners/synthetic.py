"""A synthetic tuning problem: a GEMM-like cost function over a space of 67,200 configs.

Tests and ``benchmarks/tuner_convergence.py`` compare tuners on it without compiling
anything, so a comparison takes seconds and is exactly reproducible. The shape mimics what
real schedule spaces show: each knob has a best value with the cost growing smoothly away
from it (a bowl in log space), knobs interact (a register block too large for the
registers spills, unrolling helps only a vectorized inner loop), one choice is categorical
(loop order), one is list-valued (a block shape), and the measurement has a little noise
(deterministic per config, so a config measured twice costs the same).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable

from xtvm.autotune.space import ConfigEntity, ConfigSpace


def synthetic_space() -> ConfigSpace:
    """8 x 7 x 10 x 6 x 5 x 4 = 67,200 configs; the defaults are mediocre on purpose."""
    space = ConfigSpace()
    space.knob("tile_m", [1, 2, 3, 4, 6, 8, 12, 16], default=4)
    space.knob("tile_n", [1, 2, 4, 8, 16, 32, 64], default=8)
    space.knob("tile_k", [2**i for i in range(10)], default=16)
    space.knob("order", ["mnk", "mkn", "nmk", "nkm", "kmn", "knm"], default="mnk")
    space.knob("unroll", [0, 2, 4, 8, 16], default=0)
    space.knob("block", [[1, 1], [2, 1], [1, 2], [2, 2]], default=[1, 1])
    return space


def _bowl(x: float, best: float, width: float) -> float:
    return 1.0 + ((x - best) / width) ** 2


def synthetic_cost(values: dict, noise: float = 0.02) -> float:
    """Seconds of one run of the imaginary kernel (about 1e-3 at the optimum)."""
    m, n, k = values["tile_m"], values["tile_n"], values["tile_k"]
    lm, ln, lk = math.log2(m), math.log2(n), math.log2(k)
    cost = 1e-3 * _bowl(lm, 2.58, 1.6) * _bowl(ln, 4.0, 2.0) * _bowl(lk, 7.0, 3.0)
    # the register block m x n spills beyond 48 accumulators, sharply
    cost *= 1.0 + 0.6 * max(0.0, math.log2(m * n) - math.log2(48)) ** 2
    order_cost = {"mnk": 1.35, "mkn": 1.0, "nmk": 1.4, "nkm": 1.25, "kmn": 1.6, "knm": 1.5}
    cost *= order_cost[values["order"]]
    # unrolling pays off only with a wide inner tile; with a narrow one it bloats code
    unroll = values["unroll"]
    cost *= _bowl(math.log2(unroll + 1), 3.0 if n >= 16 else 0.0, 4.0)
    bm, bn = values["block"]
    cost *= {(1, 1): 1.15, (2, 1): 1.0, (1, 2): 1.1, (2, 2): 1.05}[(bm, bn)]
    if bm * bn > 1 and m * n > 48:  # blocking a spilling tile makes it worse
        cost *= 1.2
    if noise:
        h = zlib.crc32(repr(sorted(values.items())).encode()) / 2**32
        cost *= math.exp(noise * (2.0 * h - 1.0))
    return cost


def run_tuner(
    tuner_name: str,
    trials: int,
    seed: int,
    batch: int = 16,
    cost: Callable[[dict], float] = synthetic_cost,
    **kw: object,
) -> list[float]:
    """Tune the synthetic problem for ``trials`` measurements; the best cost after each."""
    from xtvm.autotune.tuners import get_tuner

    tuner = get_tuner(tuner_name, synthetic_space(), seed=seed, **kw)
    curve: list[float] = []
    best = math.inf
    while len(curve) < trials and tuner.has_next():
        configs: list[ConfigEntity] = tuner.next_batch(min(batch, trials - len(curve)))
        costs = [cost(c.values) for c in configs]
        tuner.update(configs, costs)
        for c in costs:
            best = min(best, c)
            curve.append(best)
    return curve
