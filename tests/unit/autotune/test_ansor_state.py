"""Template-free states are plain JSON: they round-trip through JSON and records, and a
stale or garbage state is an InvalidConfigError (never a crash, never code execution)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ansor_kernels import CFG, KERNELS  # noqa: E402

from xtvm.autotune.ansor import DEFAULT_STATE, apply_state, canonical  # noqa: E402
from xtvm.autotune.ansor.annotate import random_state  # noqa: E402
from xtvm.autotune.ansor.sketch import analyze, generate_sketches  # noqa: E402
from xtvm.autotune.dispatch import TEMPLATE_FREE_KEY, schedule_kernel  # noqa: E402
from xtvm.autotune.records import MeasureRecord  # noqa: E402
from xtvm.autotune.space import ConfigEntity, InvalidConfigError  # noqa: E402


def a_state(name: str = "dense_relu", seed: int = 0) -> list:
    infos = analyze(KERNELS[name](), CFG)
    sketch = generate_sketches(infos)[0]
    return random_state(sketch, {i.name: i for i in infos}, CFG, random.Random(seed))


def test_state_round_trips_through_json_and_records(tmp_path: Path) -> None:
    state = a_state()
    assert json.loads(json.dumps(state)) == state
    config = ConfigEntity(None, {TEMPLATE_FREE_KEY: state}).to_json()
    rec = MeasureRecord(
        workload="w",
        task="t",
        target={"triple": "x", "cpu": "y", "features": ""},
        config=config,
        costs=[1e-3],
        error=None,
        timestamp=0.0,
        version="0.1.0",
        seed=0,
        tuner="ansor",
        extra={},
    )
    back = MeasureRecord.from_json(rec.to_json(), 1, tmp_path / "r.json")
    assert canonical(back.config[TEMPLATE_FREE_KEY]) == canonical(state)
    kernel = KERNELS["dense_relu"]()
    schedule_kernel(kernel, CFG, ConfigEntity(None, back.config))  # applies as recorded
    assert kernel.schedule is not None


GARBAGE = [
    None,
    "ansor",
    {"__class__": "os.system"},
    ["ansor"],
    ["ansor", 2, "x", []],
    ["ansor", 1, 3, []],
    ["ansor", 1, "s", "steps"],
    ["ansor", 1, "s", [["exec", "dense"]]],
    ["ansor", 1, "s", [["inline"]]],
    ["ansor", 1, "s", [["inline", "dense"], ["inline", "add"], ["inline", "relu"]]],
    ["ansor", 1, "default", [["inline", "add"]]],
    ["ansor", 1, "s", [["tile", "dense", "relu", False, [[1, 1, 1]], [[1]], 0, "s", 0]]],
]


@pytest.mark.parametrize("state", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_state_is_invalid(state) -> None:
    with pytest.raises(InvalidConfigError):
        apply_state(KERNELS["dense_relu"](), state, CFG)


def test_state_of_another_kernel_is_stale() -> None:
    with pytest.raises(InvalidConfigError):
        apply_state(KERNELS["conv"](), a_state("dense_relu"), CFG)


def test_bad_parameters_are_invalid() -> None:
    state = a_state()
    tile = next(s for s in state[3] if s[0] == "tile")
    for k, bad in [(4, [[0, 1, 1], [1, 1, 1]]), (6, 7), (7, "q"), (8, -1), (5, [[1, 2]])]:
        broken = json.loads(json.dumps(state))
        step = next(s for s in broken[3] if s[0] == "tile")
        step[k] = bad
        with pytest.raises(InvalidConfigError):
            apply_state(KERNELS["dense_relu"](), broken, CFG)
    assert tile[0] == "tile"


def test_default_state_is_the_default_schedule() -> None:
    from xtvm.autotune.dispatch import kernel_text
    from xtvm.topi.x86 import apply_default_schedule

    a, b = KERNELS["conv"](), KERNELS["conv"]()
    apply_state(a, DEFAULT_STATE, CFG)
    apply_default_schedule(b, CFG)
    assert kernel_text(a) == kernel_text(b)


def test_records_apply_to_kernels_without_a_template() -> None:
    from xtvm.autotune.dispatch import ApplyBestConfigs, kernel_text, workload_key

    kernel = KERNELS["rowsum"]()
    state = a_state("rowsum")
    best = ApplyBestConfigs({workload_key(kernel_text(kernel)): {TEMPLATE_FREE_KEY: state}})
    knobs = best.knobs_for_kernel(kernel)
    assert isinstance(knobs, ConfigEntity) and knobs.values[TEMPLATE_FREE_KEY] == state
    assert ApplyBestConfigs({}).knobs_for_kernel(kernel) is None  # and no record: defaults
