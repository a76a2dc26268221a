"""Random search: uniform over the configs not yet proposed.

The baseline every other tuner must beat, and surprisingly hard to beat on small budgets;
it needs no model, so it also works on spaces whose knobs carry no useful features.
"""

from __future__ import annotations

from xtvm.autotune.tuners.base import Tuner


class RandomTuner(Tuner):
    """Configs drawn uniformly without repeats (after the default)."""

    name = "random"

    def _propose(self, n: int) -> list[int]:
        return self._sample_unproposed(n)
