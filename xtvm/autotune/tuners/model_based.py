"""Model-based tuning (AutoTVM's "xgb" tuner): a cost model trained online on the measured
configs ranks the unmeasured ones, and simulated annealing searches the space for those the
model likes best.

Why this shape: measuring a candidate costs a compile and several runs (a second or more),
predicting one costs microseconds, so it pays to let the model look at thousands of configs
for every one we measure. The model is gradient-boosted trees (lightgbm by default,
``cost_model="xgboost"`` for xgboost when it is installed): trees need no feature scaling,
handle categorical knobs through their candidate position, and train in milliseconds on
the few hundred points a tuning run has. They are trained on log cost, so the model cares
about ratios (a 2x win anywhere counts the same), and failed configs get a penalty above
the worst success, so the search learns to avoid the region instead of ignoring it.

Proposals: until about two batches are measured there is nothing to learn from, so the
tuner samples at random. Afterwards each batch is the model's top predictions among
unproposed configs, found by simulated annealing (parallel chains starting at the best
measured configs and at random points; a move changes one knob to an adjacent or a random
candidate; the temperature falls linearly to zero), plus an ``epsilon`` fraction of
random configs so that a wrong model cannot trap the search. Small spaces are scored
exhaustively instead. A 1e9-config space is never enumerated.
"""

from __future__ import annotations

import heapq
import importlib
import math
from typing import Any

import numpy as np

from xtvm.autotune.features import SpaceFeaturizer
from xtvm.autotune.space import ConfigSpace
from xtvm.autotune.tuners.base import Tuner
from xtvm.errors import XTVMError

ERROR_PENALTY = 1.0  # log-cost units above the worst success (e times slower)


class _TreeModel:
    """A gradient-boosted regressor: ``fit`` on features and log costs, ``predict``."""

    module = ""  # the library to import
    missing = ""  # the XTVMError message when it is not installed

    def __init__(self, seed: int, n_estimators: int):
        try:
            self.lib: Any = importlib.import_module(self.module)
        except ImportError:
            raise XTVMError(self.missing) from None
        self.seed = seed
        self.n_estimators = n_estimators
        self.booster: Any = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _LightGBMModel(_TreeModel):
    """lightgbm through its native API (its scikit-learn wrapper would need scikit-learn);
    deterministic and single-threaded so that a seed reproduces a run and the model does
    not steal cores from the measurements."""

    module = "lightgbm"
    missing = "the model-based tuner needs lightgbm: pip install 'xtvm[tune]'"

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        params = {
            "objective": "regression",
            "learning_rate": 0.1,
            "num_leaves": 15,
            "min_data_in_leaf": max(2, min(10, len(y) // 20)),  # small data must still split
            "min_data_in_bin": 1,
            "feature_pre_filter": False,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "seed": self.seed,
            "verbose": -1,
        }
        data = self.lib.Dataset(x, y, params={"min_data_in_bin": 1, "verbose": -1})
        self.booster = self.lib.train(params, data, num_boost_round=self.n_estimators)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)


class _XGBoostModel(_TreeModel):
    """The same kind of trees from xgboost (what TVM uses), for users who have it."""

    module = "xgboost"
    missing = (
        "cost_model='xgboost' needs xgboost: pip install xgboost "
        "(or use the default, cost_model='lightgbm')"
    )

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        params = {
            "objective": "reg:squarederror",
            "eta": 0.1,
            "max_depth": 6,
            "min_child_weight": 1,
            "tree_method": "hist",
            "nthread": 1,
            "seed": self.seed,
            "verbosity": 0,
        }
        data = self.lib.DMatrix(x, label=y)
        self.booster = self.lib.train(params, data, num_boost_round=self.n_estimators)

    def predict(self, x: np.ndarray) -> np.ndarray:
        # inplace_predict skips building a DMatrix: the annealer predicts small batches often
        return np.asarray(self.booster.inplace_predict(x), dtype=np.float64)


_COST_MODELS: dict[str, type[_TreeModel]] = {"lightgbm": _LightGBMModel, "xgboost": _XGBoostModel}
COST_MODELS = tuple(_COST_MODELS)


def make_cost_model(name: str, seed: int, n_estimators: int = 60) -> _TreeModel:
    """A fresh regressor of the named library (raises XTVMError when it is not installed)."""
    cls = _COST_MODELS.get(name)
    if cls is None:
        raise ValueError(f"unknown cost model {name!r}; choose one of {', '.join(COST_MODELS)}")
    return cls(seed, n_estimators)


class ModelBasedTuner(Tuner):
    """Cost model + simulated annealing (see the module docstring).

    ``epsilon``: fraction of each batch drawn at random; ``warmup``: measurements before
    the model is used (default: two of the first batch size, at least 8); ``n_chains``,
    ``n_steps``: the annealing's parallel chains and maximum steps; spaces of at most
    ``exhaustive_limit`` configs are scored whole instead.
    """

    name = "xgb"

    def __init__(
        self,
        space: ConfigSpace,
        seed: int | None = None,
        *,
        cost_model: str = "lightgbm",
        epsilon: float = 0.15,
        warmup: int | None = None,
        n_chains: int = 128,
        n_steps: int = 120,
        exhaustive_limit: int = 4096,
        n_estimators: int = 60,
    ):
        super().__init__(space, seed)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.cost_model = cost_model
        self.epsilon = epsilon
        self.warmup = warmup
        self.n_chains = max(1, n_chains)
        self.n_steps = max(1, n_steps)
        self.exhaustive_limit = exhaustive_limit
        self.n_estimators = n_estimators
        model_seed = self.rng.getrandbits(31)
        self.model = make_cost_model(cost_model, model_seed, n_estimators)  # fails early
        self.np_rng = np.random.default_rng(self.rng.getrandbits(64))
        self.featurizer = SpaceFeaturizer(space)
        self.dims = np.asarray(space.dims, dtype=np.int64)
        # int64 keys while the index fits; beyond that, Python ints from the positions
        self._strides: np.ndarray | None = None
        if self.size < 2**62:
            self._strides = np.cumprod(np.concatenate([[1], self.dims[:-1]])).astype(np.int64)
        self._positions: list[list[int]] = []  # of measured configs, in measurement order
        self._trained_on = 0  # measurements the current model has seen
        self._ready = False

    # -- learning ---------------------------------------------------------------------------

    def _observe(self, indices: list[int], costs: list[float]) -> None:
        self._positions += [self.space.positions(i) for i in indices]

    def _targets(self) -> np.ndarray | None:
        """Log costs, failures at a penalty above the worst success; None until there are
        two different successes to learn from."""
        ok = [c for c in self.measured_costs if math.isfinite(c) and c > 0]
        if len(set(ok)) < 2:
            return None
        worst = max(math.log(c) for c in ok)
        return np.asarray(
            [
                math.log(c) if math.isfinite(c) and c > 0 else worst + ERROR_PENALTY
                for c in self.measured_costs
            ]
        )

    def _train(self) -> bool:
        """(Re)train on everything measured; False while there is too little data."""
        if len(self.measured_costs) < (self.warmup or 8):
            return self._ready
        if self._trained_on == len(self.measured_costs):
            return self._ready
        y = self._targets()
        if y is None:
            return self._ready
        x = self.featurizer.features(np.asarray(self._positions, dtype=np.int64))
        self.model.fit(x, y)
        self._trained_on = len(y)
        self._ready = True
        return True

    def predict(self, positions: np.ndarray) -> np.ndarray:
        """Predicted log cost of configs given by their knob positions (lower is better)."""
        return self.model.predict(self.featurizer.features(positions))

    # -- proposing --------------------------------------------------------------------------

    def _propose(self, n: int) -> list[int]:
        if self.warmup is None:
            self.warmup = max(8, 2 * (n + 1))
        if not self._train():
            return self._sample_unproposed(n)
        n_random = int(self.epsilon * n)
        if self.rng.random() < self.epsilon * n - n_random:
            n_random += 1
        picks = self._best_predicted(n - n_random)
        return picks + self._sample_unproposed(n - len(picks), exclude=set(picks))

    def _keys(self, positions: np.ndarray) -> list[int]:
        if self._strides is not None:
            return (positions @ self._strides).tolist()
        return [self.space.index_from_positions(p) for p in positions.tolist()]

    def _decode(self, indices: np.ndarray) -> np.ndarray:
        """Knob positions of int64 indices (mixed radix, the first knob fastest)."""
        out = np.empty((len(indices), len(self.dims)), dtype=np.int64)
        rest = indices.copy()
        for j, d in enumerate(self.dims):
            rest, out[:, j] = np.divmod(rest, d)
        return out

    def _best_predicted(self, k: int) -> list[int]:
        """Up to ``k`` unproposed configs with the lowest predicted cost, best first."""
        if k <= 0:
            return []
        if self.size <= self.exhaustive_limit:
            left = np.asarray([i for i in range(self.size) if i not in self.proposed])
            if len(left) == 0:
                return []
            scores = self.predict(self._decode(left))
            order = np.argsort(scores, kind="stable")[:k]
            return [int(i) for i in left[order]]
        return self._anneal(k)

    def _anneal(self, k: int) -> list[int]:
        """Simulated annealing over knob positions; returns the best ``k`` unproposed
        configs the chains visited."""
        chains = self.n_chains
        movable = np.flatnonzero(self.dims > 1)
        if len(movable) == 0:
            return []
        # start from the best measured configs (exploit) and from random points (explore)
        order = np.argsort(np.asarray(self.measured_costs), kind="stable")
        n_seeded = min(chains // 2, int(np.sum(np.isfinite(self.measured_costs))))
        starts = [self._positions[i] for i in order[:n_seeded]]
        random_starts = self.np_rng.integers(
            0, self.dims, size=(chains - len(starts), len(self.dims))
        )
        pos = np.concatenate(
            [np.asarray(starts, dtype=np.int64).reshape(-1, len(self.dims)), random_starts]
        )
        scores = self.predict(pos)
        visited: dict[int, float] = dict(zip(self._keys(pos), scores.tolist()))
        temp0 = max(float(np.std(scores)), 1e-3)
        rows = np.arange(chains)
        last_top: list[int] = []
        for step in range(self.n_steps):
            temp = temp0 * (1.0 - step / self.n_steps)
            knob = movable[self.np_rng.integers(0, len(movable), size=chains)]
            dim = self.dims[knob]
            cur = pos[rows, knob]
            # half the moves go to an adjacent candidate (reflected at the ends), half
            # anywhere else among the knob's candidates
            step_dir = np.where(self.np_rng.random(chains) < 0.5, -1, 1)
            adjacent = cur + step_dir
            adjacent = np.where(adjacent < 0, 1, adjacent)
            adjacent = np.where(adjacent >= dim, dim - 2, adjacent)
            other = self.np_rng.integers(0, dim - 1)
            other = other + (other >= cur)
            new = np.where(self.np_rng.random(chains) < 0.5, adjacent, other)
            cand = pos.copy()
            cand[rows, knob] = new
            cand_scores = self.predict(cand)
            for key, s in zip(self._keys(cand), cand_scores.tolist()):
                visited[key] = s
            with np.errstate(over="ignore"):
                accept_p = np.exp((scores - cand_scores) / max(temp, 1e-9))
            accept = (cand_scores <= scores) | (self.np_rng.random(chains) < accept_p)
            pos[accept] = cand[accept]
            scores[accept] = cand_scores[accept]
            if step % 10 == 9:  # stop once the best unproposed set no longer changes
                top = self._top_unproposed(visited, k)
                if top == last_top:
                    break
                last_top = top
        return self._top_unproposed(visited, k)

    def _top_unproposed(self, visited: dict[int, float], k: int) -> list[int]:
        best = heapq.nsmallest(
            k, ((s, key) for key, s in visited.items() if key not in self.proposed)
        )
        return [int(key) for _, key in best]
