"""Random parameters for a sketch (Ansor's random annotation) and the mutations the
evolutionary search applies to them.

Tile sizes are sampled as factorizations of each extent: every prime factor goes to a
random level, so the levels multiply to the extent and no tile is ragged. The lowering
does support ragged splits (a ``min`` bound, or a guard when the inner loop is
vectorized or unrolled; a ``compute_at`` region clamps its start), so the innermost level
of the contiguous axis may also take a whole number of vectors that does not divide the
extent. Annotations: parallel depth (only when the stage does at least
``min_parallel_work`` iterations, as the default rules), the vector mode and the unroll
depth. All randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from math import prod
from typing import Any

from xtvm.autotune.ansor.sketch import Sketch, StageInfo
from xtvm.autotune.ansor.state import MAGIC, VERSION

MAX_INNER = 64  # the innermost spatial tile level (register tile)
RAGGED_P = 0.15  # chance of a ragged, whole-vector innermost level on the contiguous axis


def prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def sample_levels(extent: int, n_inner: int, rng: random.Random, cap: int = 0) -> list[int]:
    """Inner sizes of ``n_inner + 1`` levels that multiply to ``extent`` (the outermost is
    the rest); the innermost stays at most ``cap`` when given."""
    levels = [1] * (n_inner + 1)
    for p in prime_factors(extent):
        k = rng.randrange(n_inner + 1)
        if k == n_inner and cap and levels[k] * p > cap:
            k = rng.randrange(n_inner)
        levels[k] *= p
    return levels[1:]


def _par_options(info: StageInfo, cfg: Any, most: int) -> list[int]:
    if info.work < cfg.min_parallel_work:
        return [0]
    return list(range(most + 1))


def sample_tile(info: StageInfo, cfg: Any, rng: random.Random) -> dict[str, Any]:
    sp = []
    for d, e in enumerate(info.shape):
        f = sample_levels(e, 3, rng, MAX_INNER)
        last = d == len(info.shape) - 1
        if last and e % info.lanes and e > info.lanes and rng.random() < RAGGED_P:
            f[2] = info.lanes * rng.choice([1, 2])
        sp.append(f)
    rd = [sample_levels(e, 1, rng) for e in info.reduce_extents]
    vecs = ["s", "n"] + (["r"] if info.reduce_contiguous else [])
    return {
        "sp": sp,
        "rd": rd,
        "par": rng.choice(_par_options(info, cfg, 2)),
        "vec": rng.choice(vecs),
        "unroll": rng.choice([0, 1, 1, 2]),
    }


def _vector_factors(extent: int, lanes: int) -> list[int]:
    top = 4 * lanes
    out = {f for f in range(2, min(extent, top) + 1) if extent % f == 0 and f >= 4}
    out |= {f for f in (lanes, 2 * lanes) if f < extent}
    if 2 <= extent <= top:
        out.add(extent)
    return sorted(out)


def sample_step(step: tuple[Any, ...], info: StageInfo, cfg: Any, rng: random.Random) -> list[Any]:
    """A random step of the sketch step ``step`` for the stage ``info``."""
    kind, name = step[0], step[1]
    if kind == "inline":
        return ["inline", name]
    if kind == "tile":
        t = sample_tile(info, cfg, rng)
        return ["tile", name, step[2], step[3], t["sp"], t["rd"], t["par"], t["vec"], t["unroll"]]
    n = len(info.shape)
    if kind == "rvec":
        r = info.reduce_extents[-1]
        splits = [0] + [m * info.lanes for m in (1, 2, 4) if m * info.lanes < r]
        return ["rvec", name, rng.choice(splits), rng.choice(_par_options(info, cfg, n))]
    vfs = [0] + (_vector_factors(info.shape[-1], info.lanes) if n else [])
    vf = rng.choice(vfs) if len(vfs) == 1 or rng.random() < 0.2 else rng.choice(vfs[1:])
    most = n - 1 if vf else n  # a vectorized last axis never joins the parallel loop
    return [
        "plain",
        name,
        vf,
        rng.choice(_par_options(info, cfg, max(0, most))),
        rng.random() < 0.5,
    ]


def random_state(
    sketch: Sketch, infos: dict[str, StageInfo], cfg: Any, rng: random.Random
) -> list[Any]:
    steps = [sample_step(st, infos[st[1]], cfg, rng) for st in sketch.steps]
    return [MAGIC, VERSION, sketch.id, steps]


def mutate(
    state: list[Any], sketch: Sketch, infos: dict[str, StageInfo], cfg: Any, rng: random.Random
) -> list[Any]:
    """One random change: a tile factor moved between levels, an annotation re-drawn, or a
    whole step re-sampled."""
    steps = [list(s) for s in state[3]]
    movable = [k for k, s in enumerate(steps) if s[0] != "inline"]
    if not movable:
        return state
    k = rng.choice(movable)
    step, info = steps[k], infos[steps[k][1]]
    fresh = sample_step(sketch.steps[k], info, cfg, rng)
    if step[0] == "tile":
        what = rng.random()
        if what < 0.6:
            _move_factor(step, info, rng)
        elif what < 0.75:
            step[6] = fresh[6]
        elif what < 0.9:
            step[7] = fresh[7]
        else:
            step[8] = fresh[8]
    else:
        field = rng.randrange(2, len(step))
        step[field] = fresh[field]
    steps[k] = step
    return [state[0], state[1], state[2], steps]


def _move_factor(step: list[Any], info: StageInfo, rng: random.Random) -> None:
    """Move one prime factor of one axis from a level to another (sizes keep their
    product, so a perfect tiling stays perfect; a ragged level is re-drawn instead)."""
    sp = [list(f) for f in step[4]]
    rd = [list(f) for f in step[5]]
    axes = [("s", d) for d, e in enumerate(info.shape) if e > 1]
    axes += [("r", d) for d, e in enumerate(info.reduce_extents) if e > 1]
    if not axes:
        return
    kind, d = rng.choice(axes)
    extent = info.shape[d] if kind == "s" else info.reduce_extents[d]
    inner = sp[d] if kind == "s" else rd[d]
    levels = [0, *inner]
    if extent % prod(inner):  # ragged: draw the axis again
        new = sample_levels(extent, len(inner), rng, MAX_INNER if kind == "s" else 0)
    else:
        levels[0] = extent // prod(inner)
        src = rng.choice([i for i, v in enumerate(levels) if v > 1] or [0])
        dst = rng.choice([i for i in range(len(levels)) if i != src])
        if levels[src] == 1:
            return
        p = rng.choice(prime_factors(levels[src]))
        levels[src] //= p
        levels[dst] *= p
        new = levels[1:]
    if kind == "s":
        sp[d] = new
    else:
        rd[d] = new
    step[4], step[5] = sp, rd


def crossover(a: list[Any], b: list[Any], rng: random.Random) -> list[Any]:
    """Steps taken from either parent (both of one sketch), per stage."""
    steps = [list(x if rng.random() < 0.5 else y) for x, y in zip(a[3], b[3])]
    return [a[0], a[1], a[2], steps]
