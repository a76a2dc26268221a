"""The tuning loop: records written as it goes, --resume continues without measuring a
config twice, the best record builds a correct model, and builds can run on Dask."""

from __future__ import annotations

import numpy as np
import pytest
from autotune_models import gemm_model, gemm_reference

import xtvm
from xtvm.autotune.measure import MeasureOptions
from xtvm.autotune.records import load_records
from xtvm.autotune.tune import tune, tune_tasks
from xtvm.errors import XTVMError

OPTS = MeasureOptions(timeout=20.0, repeat=2, min_repeat_ms=5.0)


def test_tune_writes_records_resumes_and_builds(tmp_path) -> None:
    model = gemm_model(8, 32, 32, layers=2)
    mod = xtvm.from_onnx(model)
    path = tmp_path / "r.json"
    events = []
    result = tune(
        mod,
        path,
        trials=3,
        tuner="random",
        seed=1,
        batch_size=3,
        callback=lambda ev, p, info: events.append(ev),
    )
    assert events[0] == "start" and events[-1] == "end"
    (p,) = result.tasks
    assert p.task.weight == 2 and p.trials == 3
    recs = load_records(path)
    searched = [r for r in recs if r.tuner != "verify"]
    assert len(searched) == 1 + 3  # the default schedule, then the trials
    assert recs[0].tuner == "default" and all(r.workload == p.task.workload for r in recs)
    verified = [r for r in recs if r.tuner == "verify"]
    if p.verified:  # the search found a config 2% faster than the default: re-measured
        assert verified[0].config == recs[0].config, "the default is re-measured first"
        assert 2 <= len(verified) <= 4
    else:
        assert not verified
    assert "speed-up" in result.table()
    with pytest.raises(XTVMError, match="resume"):
        tune(mod, path, trials=2, tuner="random")
    tune(mod, path, trials=3, tuner="random", seed=1, batch_size=3, resume=True)
    recs = load_records(path)
    trial_configs = [
        str(sorted(r.config.items())) for r in recs if r.tuner not in ("default", "verify")
    ]
    assert len(trial_configs) == 6 and len(set(trial_configs)) == 6, "no config measured twice"
    lib = xtvm.build(mod, tuning_records=path, cache=False)
    assert lib.tuning_summary == "tuning records: 1 tuned kernel(s)"
    x = np.random.default_rng(0).standard_normal((8, 32)).astype(np.float32)
    np.testing.assert_allclose(lib(x=x), gemm_reference(model, x), rtol=1e-4, atol=1e-4)


def test_builds_on_a_local_dask_cluster(tmp_path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    from xtvm.autotune.task import extract_tasks

    tasks = extract_tasks(xtvm.from_onnx(gemm_model(8, 32, 32)), profile=False)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = tune_tasks(
            tasks,
            tmp_path / "r.json",
            trials=2,
            tuner="random",
            options=OPTS,
            batch_size=2,
            build_executor=client.get_executor(),
        )
    (p,) = result.tasks
    assert p.trials == 2 and p.errors == 0
    assert len([r for r in load_records(tmp_path / "r.json") if r.tuner != "verify"]) == 3


def test_scheduler_shares_trials_between_stalled_tasks() -> None:
    from xtvm.autotune.space import ConfigSpace
    from xtvm.autotune.task import Task
    from xtvm.autotune.tune import TaskProgress

    def stalled(weight: int, cost: float, trials: int) -> TaskProgress:
        p = TaskProgress(Task("k", "n", [], "", ConfigSpace(), weight=weight))
        p.best = p.untuned = cost
        p.trials = trials
        p._batches = [(trials - 8, cost), (trials, cost)]
        return p

    busy = stalled(5, 2e-3, 480)  # the costliest task, stalled after many trials
    fresh = stalled(1, 5e-3, 16)  # a cheaper one, stalled after two batches
    assert fresh.priority() > busy.priority()
    improving = stalled(1, 5e-3, 16)
    improving._batches = [(8, 6e-3), (16, 5e-3)]
    assert improving.priority() > fresh.priority()
