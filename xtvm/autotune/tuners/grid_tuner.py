"""Grid search: every config in index order (the first knob varies fastest).

Only sensible for small spaces, where it is exhaustive and the order does not matter; it
walks the space lazily with a cursor, so a large space costs nothing up front.
"""

from __future__ import annotations

from xtvm.autotune.space import ConfigSpace
from xtvm.autotune.tuners.base import Tuner


class GridTuner(Tuner):
    """Configs in index order, skipping those already proposed (the default, a history)."""

    name = "grid"

    def __init__(self, space: ConfigSpace, seed: int | None = None):
        super().__init__(space, seed)
        self._cursor = 0  # every index below it has been proposed

    def _propose(self, n: int) -> list[int]:
        out: list[int] = []
        cursor = self._cursor
        while len(out) < n and cursor < self.size:
            if cursor not in self.proposed:
                out.append(cursor)
            cursor += 1
        self._cursor = cursor
        return out
