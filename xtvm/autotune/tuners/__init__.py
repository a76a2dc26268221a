"""Tuners: which configs of a template's space to measure next.

``get_tuner(name, space, seed=None, **kw)`` with ``name``:

* ``"random"``: uniform random search without repeats;
* ``"grid"``: every config in index order (small spaces);
* ``"xgb"``, ``"autotvm"``, ``"gbt"``: the model-based tuner (a gradient-boosted cost
  model plus simulated annealing). ``"xgb"`` is the name TVM gives this tuner, kept so
  that TVM users find it; the model here is lightgbm's gradient boosting unless
  ``cost_model="xgboost"`` is passed (and xgboost is installed).

Every tuner proposes the space's default first and never proposes a config twice.
"""

from __future__ import annotations

from typing import Any

from xtvm.autotune.space import ConfigSpace
from xtvm.autotune.tuners.base import Tuner
from xtvm.autotune.tuners.grid_tuner import GridTuner
from xtvm.autotune.tuners.model_based import ModelBasedTuner
from xtvm.autotune.tuners.random_tuner import RandomTuner

TUNERS: dict[str, type[Tuner]] = {
    "random": RandomTuner,
    "grid": GridTuner,
    "xgb": ModelBasedTuner,
    "autotvm": ModelBasedTuner,
    "gbt": ModelBasedTuner,
}

__all__ = ["TUNERS", "GridTuner", "ModelBasedTuner", "RandomTuner", "Tuner", "get_tuner"]


def get_tuner(name: str, space: ConfigSpace, seed: int | None = None, **kw: Any) -> Tuner:
    """A tuner by name (see the module docstring); ``kw`` goes to its constructor (for the
    model-based tuner: ``cost_model``, ``epsilon``, ``warmup``, ...)."""
    cls = TUNERS.get(name)
    if cls is None:
        raise ValueError(f"unknown tuner {name!r}; choose one of {', '.join(TUNERS)}")
    return cls(space, seed, **kw)
