"""Any tuner, on any small space, with any seed and batch size: proposals start with the
default, are unique and inside the space, and enough batches cover the whole space.

Hypothesis draws the knobs (ints, strings, bools, list values; one to four knobs of one to
six candidates, including one-candidate knobs) and the costs the tuner is fed (a random
mix of successes, ties and errors), so the model-based tuner also sees degenerate data.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xtvm.autotune.space import ConfigSpace
from xtvm.autotune.tuners import get_tuner

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalar = st.one_of(
    st.integers(-3, 64),
    st.sampled_from(["a", "b", "c", "nchw", "nhwc"]),
    st.booleans(),
    st.lists(st.integers(1, 8), min_size=1, max_size=3),
)


@st.composite
def spaces(draw: st.DrawFn) -> ConfigSpace:
    space = ConfigSpace()
    for k in range(draw(st.integers(1, 4))):
        cands = draw(st.lists(scalar, min_size=1, max_size=6, unique_by=repr))
        space.knob(f"k{k}", cands, default=draw(st.sampled_from(cands)))
    return space


def check(
    name: str, space: ConfigSpace, seed: int, batch: int, data: st.DataObject, **kw: object
) -> None:
    tuner = get_tuner(name, space, seed=seed, **kw)
    seen: list[int] = []
    for round_ in range(len(space) + 1):  # at least one config per batch
        configs = tuner.next_batch(batch)
        if not configs:
            break
        assert len(configs) <= batch
        for c in configs:
            assert set(c.values) == set(space.knobs)
            seen.append(space.index_of(c.values))  # raises if a value is not a candidate
        costs = data.draw(
            st.lists(
                st.one_of(st.just(math.inf), st.sampled_from([1e-3, 2e-3]), st.floats(1e-6, 1.0)),
                min_size=len(configs),
                max_size=len(configs),
            ),
            label=f"costs of batch {round_}",
        )
        tuner.update(configs, costs)
    assert seen[0] == space.default_index()
    assert len(seen) == len(set(seen)), "a config was proposed twice"
    assert sorted(seen) == list(range(len(space))), "the space was not covered"
    assert not tuner.has_next() and tuner.next_batch(batch) == []


@settings(max_examples=80, **SETTINGS)
@given(
    name=st.sampled_from(["random", "grid"]),
    space=spaces(),
    seed=st.integers(0, 2**32),
    batch=st.integers(1, 9),
    data=st.data(),
)
def test_simple_tuners_cover_the_space(
    name: str, space: ConfigSpace, seed: int, batch: int, data: st.DataObject
) -> None:
    check(name, space, seed, batch, data)


@settings(max_examples=15, **SETTINGS)
@given(
    space=spaces(),
    seed=st.integers(0, 2**32),
    batch=st.integers(3, 12),
    anneal=st.booleans(),
    data=st.data(),
)
def test_model_based_tuner_covers_the_space(
    space: ConfigSpace, seed: int, batch: int, anneal: bool, data: st.DataObject
) -> None:
    """``anneal``: search by simulated annealing even though the space is small enough to
    score whole (the search then runs out of unproposed configs it can find)."""
    kw = {"exhaustive_limit": 0, "n_steps": 20, "n_chains": 16} if anneal else {}
    check("xgb", space, seed, batch, data, **kw)
