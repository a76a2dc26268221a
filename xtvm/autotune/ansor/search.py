"""Evolutionary search over template-free states, guided by a learned cost model.

Why this shape (Ansor's): the space of sketches x tile sizes x annotations is far too
large to enumerate and has no template to index it, so candidates are states that are
sampled, mutated and recombined. Measuring one costs a compile and runs (about a second);
predicting one costs a cheap lowering to tir and a feature vector (tens of ms,
:mod:`.features`), so each batch of measurements is chosen from a few hundred states the
model has scored:

1. until ``warmup`` measurements exist there is nothing to learn from: random states of
   the sketches, round robin;
2. then a population of the best measured states plus random ones evolves for a few
   generations: children by mutation (a tile factor moved between levels, an annotation
   re-drawn, sometimes a whole new state of another sketch) and crossover of two parents
   of one sketch (steps taken from either); the model's predicted score selects the
   survivors;
3. the batch is the best predicted states never proposed before, plus an ``epsilon``
   fraction of random states so that a wrong model cannot trap the search.

States that do not apply (``apply_state`` or the lowering refuses them) are never
proposed. No state is proposed twice (canonical JSON hash). The model is lightgbm on
``log(cost)``, failures at a penalty above the worst success, seeded and single-threaded:
the same seed and the same costs give the same proposals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from xtvm.autotune.ansor.annotate import crossover, mutate, random_state
from xtvm.autotune.ansor.features import state_features
from xtvm.autotune.ansor.sketch import analyze, generate_sketches
from xtvm.autotune.ansor.state import DEFAULT_STATE, parse_state, state_hash
from xtvm.autotune.dispatch import TEMPLATE_FREE_KEY
from xtvm.autotune.space import ConfigEntity, InvalidConfigError

ERROR_PENALTY = 1.0  # log-cost units above the worst success
MAX_TRIES = 20  # draws per wanted random state before giving up


def _parse_kernel(text: str) -> Any:
    from xdsl.parser import Parser

    from xtvm.context import make_context
    from xtvm.dialects.te import KernelOp

    module = Parser(make_context(), text).parse_module()
    kernel = next(op for op in module.walk() if isinstance(op, KernelOp))
    kernel.detach()
    return kernel


class AnsorSearch:
    """The tuner interface of :mod:`xtvm.autotune.tuners.base` over template-free states
    (see the module docstring). ``task``: a :class:`~xtvm.autotune.task.Task` (or anything
    with the kernel's ``text``); ``target``: the :class:`~xtvm.backends.llvm.Target`."""

    name = "ansor"

    def __init__(
        self,
        task: Any,
        target: Any,
        seed: int | None = None,
        *,
        population: int = 32,
        generations: int = 3,
        epsilon: float = 0.2,
        warmup: int = 8,
        min_parallel_work: int | None = None,
    ):
        from xtvm.autotune.tuners.model_based import make_cost_model
        from xtvm.topi.x86 import DefaultScheduleConfig

        text = task if isinstance(task, str) else task.text
        self.kernel = _parse_kernel(text)
        knobs = {} if min_parallel_work is None else {"min_parallel_work": min_parallel_work}
        if hasattr(target, "vector_registers"):
            cfg = DefaultScheduleConfig.for_target(target, **knobs)
        else:
            bits = getattr(target, "vector_width_bits", 0)
            cfg = DefaultScheduleConfig(vector_bits=bits, **knobs)
        self.cfg = cfg
        infos = analyze(self.kernel, cfg)
        self.infos = {i.name: i for i in infos}
        self.sketches = generate_sketches(infos)
        self.by_id = {s.id: s for s in self.sketches}
        self.rng = random.Random(seed)
        self.population = max(4, population)
        self.generations = max(1, generations)
        self.epsilon = epsilon
        self.warmup = warmup
        self.model = make_cost_model("lightgbm", self.rng.getrandbits(31), 60)
        self.proposed: set[str] = set()
        self.measured: list[tuple[list[Any], float]] = []
        self.best_cost = math.inf
        self.best_config: ConfigEntity | None = None
        self._features: dict[str, np.ndarray | None] = {}
        self._trained_on = -1
        self._exhausted = False
        self._next_sketch = 0
        self.stale_history = 0

    # -- the tuner interface ----------------------------------------------------------------

    def next_batch(self, n: int) -> list[ConfigEntity]:
        """Up to ``n`` states never proposed before, as configs."""
        if n <= 0:
            return []
        if self._train():
            picks = self._evolve(n - self._n_random(n))
        else:
            picks = []
        taken = {state_hash(s) for s in picks}
        picks += self._random_states(n - len(picks), taken)
        if not picks:
            self._exhausted = True
        for s in picks:
            self.proposed.add(state_hash(s))
        return [ConfigEntity(None, {TEMPLATE_FREE_KEY: s}) for s in picks]

    def has_next(self) -> bool:
        return not self._exhausted

    def update(self, configs: Sequence[ConfigEntity], costs: Sequence[float]) -> None:
        if len(configs) != len(costs):
            raise ValueError(f"{len(configs)} configs but {len(costs)} costs")
        for c, cost in zip(configs, costs):
            self._record(c.values[TEMPLATE_FREE_KEY], cost)

    def load_history(self, configs: Sequence[ConfigEntity], costs: Sequence[float]) -> None:
        """Earlier measurements (``--resume``, or the default schedule's baseline): they
        train the model and are never proposed again. Configs without a state, or with a
        state that does not fit this kernel, count in ``stale_history``."""
        for c, cost in zip(configs, costs):
            state = c.values.get(TEMPLATE_FREE_KEY)
            try:
                parse_state(state)
            except InvalidConfigError:
                self.stale_history += 1
                continue
            self.proposed.add(state_hash(state))
            self._record(state, cost)

    # -- internals --------------------------------------------------------------------------

    def _record(self, state: list[Any], cost: float) -> None:
        c = float(cost)
        c = c if c >= 0 else math.inf
        self.measured.append((state, c))
        if c < self.best_cost:
            self.best_cost = c
            self.best_config = ConfigEntity(None, {TEMPLATE_FREE_KEY: state})

    def features(self, state: list[Any]) -> np.ndarray | None:
        """Cached loop-nest features of a state (None: it does not apply)."""
        key = state_hash(state)
        if key not in self._features:
            self._features[key] = state_features(self.kernel, state, self.cfg)
        return self._features[key]

    def _n_random(self, n: int) -> int:
        k = int(self.epsilon * n)
        return k + (1 if self.rng.random() < self.epsilon * n - k else 0)

    def _random_states(self, n: int, taken: set[str]) -> list[list[Any]]:
        out: list[list[Any]] = []
        tries = 0
        while len(out) < n and tries < MAX_TRIES * max(n, 1):
            tries += 1
            sk = self.sketches[self._next_sketch % len(self.sketches)]
            self._next_sketch += 1
            s = random_state(sk, self.infos, self.cfg, self.rng)
            h = state_hash(s)
            if h in self.proposed or h in taken or self.features(s) is None:
                continue
            taken.add(h)
            out.append(s)
        return out

    def _train(self) -> bool:
        rows = [(f, c) for s, c in self.measured if (f := self.features(s)) is not None]
        ok = [c for _, c in rows if math.isfinite(c) and c > 0]
        if len(rows) < self.warmup or len(set(ok)) < 2:
            return False
        if self._trained_on == len(rows):
            return True
        worst = max(math.log(c) for c in ok)
        y = np.asarray(
            [math.log(c) if math.isfinite(c) and c > 0 else worst + ERROR_PENALTY for _, c in rows]
        )
        self.model.fit(np.stack([f for f, _ in rows]), y)
        self._trained_on = len(rows)
        return True

    def _score(self, states: list[list[Any]]) -> list[tuple[float, list[Any]]]:
        """(predicted log cost, state) of the states that apply."""
        ok = [(s, f) for s in states if (f := self.features(s)) is not None]
        if not ok:
            return []
        pred = self.model.predict(np.stack([f for _, f in ok]))
        return [(float(p), s) for p, (s, _) in zip(pred, ok)]

    def _child(self, pop: list[tuple[float, list[Any]]]) -> list[Any]:
        def pick() -> list[Any]:  # a tournament of two, lower predicted cost wins
            a, b = self.rng.choice(pop), self.rng.choice(pop)
            return a[1] if a[0] <= b[0] else b[1]

        r = self.rng.random()
        parent = pick()
        if r < 0.1 or parent[2] not in self.by_id:  # sketch switch: a fresh random state
            sk = self.rng.choice(self.sketches)
            return random_state(sk, self.infos, self.cfg, self.rng)
        if r < 0.25:
            other = pick()
            if other[2] == parent[2] and other is not parent:
                return crossover(parent, other, self.rng)
        return mutate(parent, self.by_id[parent[2]], self.infos, self.cfg, self.rng)

    def _evolve(self, k: int) -> list[list[Any]]:
        """The ``k`` best predicted unproposed states the evolution visited."""
        if k <= 0:
            return []
        good = sorted(
            (
                (c, s)
                for s, c in self.measured
                if math.isfinite(c) and s != DEFAULT_STATE and parse_state(s)[0] in self.by_id
            ),
            key=lambda x: x[0],
        )
        seeds = [s for _, s in good[: self.population // 2]]
        seeds += self._random_states(self.population - len(seeds), set())
        pop = self._score(seeds)
        visited: dict[str, tuple[float, list[Any]]] = {state_hash(s): (p, s) for p, s in pop}
        for _ in range(self.generations):
            if not pop:
                break
            children = []
            for _ in range(self.population):
                c = self._child(pop)
                if state_hash(c) not in visited:
                    children.append(c)
            scored = self._score(children)
            for p, s in scored:
                visited[state_hash(s)] = (p, s)
            pop = sorted(pop + scored, key=lambda x: x[0])[: self.population]
        fresh = [v for h, v in visited.items() if h not in self.proposed]
        fresh.sort(key=lambda x: x[0])
        return [s for _, s in fresh[:k]]
