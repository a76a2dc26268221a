"""The template-free search: proposals never repeat, always apply, are reproducible with a
seed, and the cost model takes over after the warm-up; loop-nest features have a fixed
length."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ansor_kernels import CFG, KERNELS, TARGET  # noqa: E402

from xtvm.autotune.ansor import DEFAULT_STATE, AnsorSearch, state_hash  # noqa: E402
from xtvm.autotune.ansor.features import FEATURE_WIDTH, state_features  # noqa: E402
from xtvm.autotune.dispatch import TEMPLATE_FREE_KEY, kernel_text  # noqa: E402
from xtvm.autotune.space import ConfigEntity  # noqa: E402


def fake_cost(state: list) -> float:
    """A made-up cost the search can learn: register tiles near 32 outputs are fast."""
    tile = next((s for s in state[3] if s[0] == "tile"), None)
    if tile is None:
        return 1e-3
    inner = math.prod(f[2] for f in tile[4])
    return 1e-4 * (1.0 + abs(math.log2(inner / 32.0))) * (0.8 if tile[7] == "s" else 1.0)


def drive(seed: int, batches: int = 4, n: int = 5) -> list[str]:
    search = AnsorSearch(
        kernel_text(KERNELS["dense"]()), TARGET, seed, population=8, generations=2, warmup=6
    )
    search.load_history([ConfigEntity(None, {TEMPLATE_FREE_KEY: DEFAULT_STATE})], [2e-4])
    seen: list[str] = []
    for _ in range(batches):
        batch = search.next_batch(n)
        assert len(batch) == n and search.has_next()
        states = [c.values[TEMPLATE_FREE_KEY] for c in batch]
        for s in states:
            assert state_features(search.kernel, s, search.cfg) is not None  # it applies
        seen += [state_hash(s) for s in states]
        search.update(batch, [fake_cost(s) for s in states])
    assert batches < 3 or search._trained_on > 0  # the model was used
    assert search.best_cost < math.inf
    return seen


def test_search_never_repeats_and_is_reproducible() -> None:
    a = drive(seed=3)
    assert len(set(a)) == len(a)
    assert state_hash(DEFAULT_STATE) not in a
    assert drive(seed=3) == a
    assert drive(seed=4, batches=1) != a[:5]


def test_features_have_a_fixed_length() -> None:
    search = AnsorSearch(kernel_text(KERNELS["conv"]()), TARGET, 0)
    batch = search.next_batch(3)
    rows = [search.features(c.values[TEMPLATE_FREE_KEY]) for c in batch]
    rows.append(state_features(KERNELS["conv"](), DEFAULT_STATE, CFG))
    assert all(r is not None and r.shape == (FEATURE_WIDTH,) for r in rows)
    assert all(np.all(np.isfinite(r)) for r in rows)  # type: ignore[arg-type]
    assert state_features(KERNELS["conv"](), ["ansor", 1, "x", []], CFG) is None
