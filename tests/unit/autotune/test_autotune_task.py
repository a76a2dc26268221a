"""Task extraction and applying configs in a build: workload keys, weights, shares,
records that change the schedule, and records that no longer fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from autotune_models import gemm_model, gemm_reference

import xtvm
from xtvm.autotune.dispatch import ApplyBestConfigs
from xtvm.autotune.task import Task, extract_tasks


def _tasks(model, **kw) -> list[Task]:
    return extract_tasks(xtvm.from_onnx(model), **kw)


def test_one_task_per_distinct_kernel_with_its_call_count() -> None:
    tasks = _tasks(gemm_model(16, 64, 64, layers=3), profile=False)
    assert len(tasks) == 1
    (t,) = tasks
    assert t.weight == 3
    assert "dense" in t.description and "[16,64]" in t.description
    assert t.flops == pytest.approx(2 * 16 * 64 * 64)
    assert len(t.space) > 1, "the dense template declares knobs"
    assert t.space.get(t.space.default_index()).values == {
        k.name: k.default for k in t.space.knobs.values()
    }


def test_workload_key_is_stable_across_models_and_runs() -> None:
    a = _tasks(gemm_model(16, 64, 64, layers=1, seed=1), profile=False)[0]
    b = _tasks(gemm_model(16, 64, 64, layers=2, seed=2), profile=False)[0]
    c = _tasks(gemm_model(16, 64, 32, layers=1), profile=False)[0]
    assert a.workload == b.workload, "weights' values are not part of the key"
    assert a.workload != c.workload, "shapes are"
    assert Task.from_json(a.to_json()).workload == a.workload


def test_profiled_extraction_gives_shares() -> None:
    (t,) = _tasks(gemm_model(32, 128, 128), profile=True)
    assert t.untuned_seconds is not None and t.untuned_seconds > 0
    assert t.share is not None and 0.0 < t.share <= 1.0


def _best_nondefault(task: Task) -> dict:
    """Some config other than the default (the first knob moved)."""
    space = task.space
    default = space.default_index()
    return space.get((default + 1) % len(space)).to_json()


def test_a_config_changes_the_schedule_and_keeps_results() -> None:
    model = gemm_model(16, 64, 64)
    mod = xtvm.from_onnx(model)
    (t,) = extract_tasks(mod, profile=False)
    values = _best_nondefault(t)
    tuned = xtvm.build(mod, tuning_records=ApplyBestConfigs({t.workload: values}), cache=False)
    plain = xtvm.build(mod, cache=False)
    assert tuned.tuning_summary == "tuning records: 1 tuned kernel(s)"
    assert tuned.get_source("te") != plain.get_source("te")
    x = np.random.default_rng(0).standard_normal((16, 64)).astype(np.float32)
    np.testing.assert_allclose(tuned(x=x), gemm_reference(model, x), rtol=1e-4, atol=1e-4)


def test_untuned_and_stale_configs_are_one_summary_warning() -> None:
    mod = xtvm.from_onnx(gemm_model(16, 64, 64))
    (t,) = extract_tasks(mod, profile=False)
    knob = next(iter(t.space.knobs))
    stale = ApplyBestConfigs({t.workload: {knob: "not-a-candidate"}})
    with pytest.warns(xtvm.errors.TuningWarning, match="no longer fits") as rec:
        lib = xtvm.build(mod, tuning_records=stale, cache=False)
    assert len(rec) == 1
    assert lib.get_source("te") == xtvm.build(mod, cache=False).get_source("te")
    with pytest.warns(xtvm.errors.TuningWarning, match="1 without a record"):
        xtvm.build(mod, tuning_records=ApplyBestConfigs({}), cache=False)


def test_build_without_untuned_kernels_does_not_warn() -> None:
    mod = xtvm.from_onnx(gemm_model(16, 64, 64))
    (t,) = extract_tasks(mod, profile=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xtvm.build(mod, tuning_records=ApplyBestConfigs({t.workload: {}}), cache=False)
