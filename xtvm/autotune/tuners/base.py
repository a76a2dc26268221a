"""The tuner interface: propose configs of a space in batches, learn from their costs.

Every tuner proposes each config at most once, starts with the space's default (today's
hand-picked schedule, so a tuned kernel is never worse than the untuned one on the
measured workload), and draws all its randomness from its own generator seeded by
``seed``: the same seed and the same costs give the same proposals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from xtvm.autotune.space import ConfigEntity, ConfigSpace, InvalidConfigError

# below this many configs, sampling without repeats enumerates what is left instead of
# drawing and rejecting (rejection slows down as the space runs out)
ENUMERATE_LIMIT = 1 << 16


class Tuner:
    """Base class: bookkeeping of proposals and measurements; subclasses choose configs
    in :meth:`_propose`."""

    name = "tuner"

    def __init__(self, space: ConfigSpace, seed: int | None = None):
        self.space = space
        self.seed = seed
        self.rng = random.Random(seed)
        self.size = math.prod(space.dims)  # len() cannot exceed sys.maxsize
        self.proposed: set[int] = set()
        self.measured_indices: list[int] = []
        self.measured_costs: list[float] = []
        self.best_config: ConfigEntity | None = None
        self.best_cost: float = math.inf
        self.stale_history = 0  # load_history entries that do not fit the space

    # -- the interface ----------------------------------------------------------------------

    def next_batch(self, n: int) -> list[ConfigEntity]:
        """Up to ``n`` configs never proposed before (fewer, or none, when the space runs
        out). The first one ever is the space's default."""
        out: list[int] = []
        if n <= 0:
            return []
        default = self.space.default_index()
        if default not in self.proposed:
            out.append(default)
            self.proposed.add(default)
        if len(out) < n and self.has_next():
            for i in self._propose(n - len(out)):
                if i in self.proposed:  # a subclass bug must not become a repeated trial
                    raise AssertionError(f"{type(self).__name__} proposed config {i} twice")
                self.proposed.add(i)
                out.append(i)
        return [self.space.get(i) for i in out]

    def has_next(self) -> bool:
        return len(self.proposed) < self.size

    def update(self, configs: Sequence[ConfigEntity], costs: Sequence[float]) -> None:
        """Costs (seconds; ``inf`` for an error) of configs this tuner proposed."""
        if len(configs) != len(costs):
            raise ValueError(f"{len(configs)} configs but {len(costs)} costs")
        indices = [self._index(c) for c in configs]
        self._record(indices, [_clean_cost(c) for c in costs])

    def load_history(self, configs: Sequence[ConfigEntity], costs: Sequence[float]) -> None:
        """Measurements of an earlier run (``--resume``): they count as proposed and as
        measured. Configs that no longer fit the space (the template changed) are skipped
        and counted in ``stale_history``."""
        if len(configs) != len(costs):
            raise ValueError(f"{len(configs)} configs but {len(costs)} costs")
        indices, kept = [], []
        for c, cost in zip(configs, costs):
            try:
                i = self._index(c)
            except InvalidConfigError:
                self.stale_history += 1
                continue
            indices.append(i)
            kept.append(_clean_cost(cost))
        self.proposed.update(indices)
        self._record(indices, kept)

    # -- for subclasses ---------------------------------------------------------------------

    def _propose(self, n: int) -> list[int]:
        """Up to ``n`` distinct indices not in ``self.proposed`` (the base class marks them)."""
        raise NotImplementedError

    def _observe(self, indices: list[int], costs: list[float]) -> None:
        """New measurements (after the best is updated); model-based tuners learn here."""

    def _sample_unproposed(self, n: int, exclude: set[int] | None = None) -> list[int]:
        """Up to ``n`` distinct random indices outside ``self.proposed`` and ``exclude``."""
        taken = self.proposed if not exclude else self.proposed | exclude
        left = self.size - len(taken)
        n = min(n, left)
        if n <= 0:
            return []
        out: list[int] = []
        chosen: set[int] = set()
        tries = 0
        while len(out) < n:
            # rejection sampling is cheap while most of the space is untaken; a small space
            # that is nearly used up draws from what is left instead (a huge one cannot be)
            if self.size <= ENUMERATE_LIMIT and tries >= 20 * n + 100:
                rest = [i for i in range(self.size) if i not in taken and i not in chosen]
                out += self.rng.sample(rest, n - len(out))
                break
            tries += 1
            i = self.rng.randrange(self.size)
            if i not in taken and i not in chosen:
                chosen.add(i)
                out.append(i)
        return out

    # -- internals ------------------------------------------------------------------------

    def _index(self, config: ConfigEntity) -> int:
        return self.space.index_of(config.values)

    def _record(self, indices: list[int], costs: list[float]) -> None:
        for i, c in zip(indices, costs):
            self.measured_indices.append(i)
            self.measured_costs.append(c)
            if c < self.best_cost:
                self.best_cost = c
                self.best_config = self.space.get(i)
        self._observe(indices, costs)


def _clean_cost(cost: float) -> float:
    """NaN or a negative cost is a failed measurement, like an error."""
    c = float(cost)
    return c if c >= 0 else math.inf  # NaN compares false
