"""Features of a knob config for the model-based tuner's cost model.

Per knob: the candidate's position (an ordinal the trees can split on, also for string
choices), then every numeric value of the candidate (list values flattened) and log2 of
the positive integers among them (tile sizes act multiplicatively, so the log makes
"twice as large" the same step everywhere). The layout of a space's features is fixed by
its candidates, so every config of a space gives a vector of the same length.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xtvm.autotune.space import ConfigSpace


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flatten(v)]
    return [value]


def _numeric(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, int | float):
        return float(x)
    return None


def _log2_int(x: Any) -> float | None:
    """log2 of a positive int (tile sizes, unroll depths); None for anything else."""
    if isinstance(x, int) and not isinstance(x, bool) and x > 0:
        return math.log2(x)
    return None


def _knob_table(candidates: tuple[Any, ...]) -> np.ndarray:
    """Feature rows of one knob's candidates: (len(candidates), width)."""
    flat = [_flatten(c) for c in candidates]
    width = max(len(f) for f in flat)
    columns: list[list[float]] = [[float(i) for i in range(len(candidates))]]
    for j in range(width):
        values = [_numeric(f[j]) if j < len(f) else None for f in flat]
        if all(v is None for v in values):
            continue  # a string slot: the position already tells the candidates apart
        columns.append([0.0 if v is None else v for v in values])
        logs = [_log2_int(f[j]) if j < len(f) else None for f in flat]
        if any(v is not None for v in logs):
            columns.append([0.0 if v is None else v for v in logs])
    return np.asarray(columns, dtype=np.float64).T


class SpaceFeaturizer:
    """Features of many configs at once, from their knob positions (the tuner's hot path)."""

    def __init__(self, space: ConfigSpace):
        self.tables = [_knob_table(k.candidates) for k in space.knobs.values()]
        self.width = sum(t.shape[1] for t in self.tables)

    def features(self, positions: np.ndarray) -> np.ndarray:
        """``positions``: (n, number of knobs) candidate positions -> (n, width) features."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1, len(self.tables))
        if not self.tables:
            return np.zeros((positions.shape[0], 0))
        return np.concatenate([t[positions[:, i]] for i, t in enumerate(self.tables)], axis=1)


def config_features(space: ConfigSpace, index: int) -> list[float]:
    """The feature vector of the config at ``index`` of ``space``."""
    row = SpaceFeaturizer(space).features(np.asarray([space.positions(index)]))
    return [float(x) for x in row[0]]
