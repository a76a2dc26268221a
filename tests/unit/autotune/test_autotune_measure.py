"""Measurement survives bad candidates: build failures, crashing and hanging libraries and
wrong outputs become error results, and the next candidate still measures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from autotune_models import gemm_model

import xtvm
from xtvm.autotune.measure import (
    Builder,
    BuildResult,
    MeasureOptions,
    Runner,
    build_candidate,
    measure_reference,
    run_candidate,
)
from xtvm.autotune.task import extract_tasks
from xtvm.backends.llvm import Target

OPTS = MeasureOptions(timeout=10.0, repeat=2, min_repeat_ms=5.0)


@pytest.fixture(scope="module")
def task():
    return extract_tasks(xtvm.from_onnx(gemm_model(8, 32, 32)), profile=False)[0]


def _fake_library(folder: Path, body: str, metadata: dict) -> str:
    """A library with xtvm's ABI whose entry runs ``body`` (C)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = folder / "fake.c"
    meta = json.dumps(json.dumps(metadata))  # a C string literal
    src.write_text(
        f"const char xtvm_metadata[] = {meta};\n"
        f"int xtvm_main(void **args, void *ws) {{ {body} return 0; }}\n"
    )
    out = folder / f"fake{abs(hash(body))}.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return str(out)


def test_default_candidate_builds_runs_and_matches_itself(task, tmp_path) -> None:
    target = str(Target.host())
    b = build_candidate(task.text, None, target, str(tmp_path / "ref.so"), 1)
    assert b.error is None, b.error
    ref = tmp_path / "ref.npz"
    r0 = run_candidate(b.path, None, OPTS, str(ref))
    assert r0.error is None and len(r0.costs) == OPTS.repeat and all(c > 0 for c in r0.costs)
    other = task.space.get((task.space.default_index() + 1) % len(task.space)).to_json()
    b2 = build_candidate(task.text, other, target, str(tmp_path / "c.so"), 1)
    assert b2.error is None, b2.error
    r = run_candidate(b2.path, str(ref), OPTS, None)
    assert r.error is None, r.error


def test_wrong_output_is_an_error(task, tmp_path) -> None:
    target = str(Target.host())
    b = build_candidate(task.text, None, target, str(tmp_path / "ref.so"), 1)
    ref = tmp_path / "ref.npz"
    run_candidate(b.path, None, OPTS, str(ref))
    with np.load(ref) as data:
        arrays = [data[k] + 1.0 for k in data.files]  # a reference the candidate cannot match
    bad = tmp_path / "bad.npz"
    np.savez(bad, *arrays)
    r = run_candidate(b.path, str(bad), OPTS, None)
    assert r.error is not None and r.error.startswith("wrong output")
    assert r.cost == float("inf")


def test_bad_kernel_text_is_a_build_error(tmp_path) -> None:
    b = build_candidate("te.kernel @k {", None, str(Target.host()), str(tmp_path / "x.so"))
    assert b.path is None and b.error.startswith("build:")
    assert "\n" not in b.error


def test_runner_survives_crashing_and_hanging_libraries(task, tmp_path) -> None:
    meta = {
        "inputs": [{"name": "x", "shape": [4], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [4], "dtype": "float32"}],
        "workspace_bytes": 0,
    }
    crash = _fake_library(tmp_path, "*(volatile int *)0 = 1;", meta)
    hang = _fake_library(tmp_path, "for (volatile int i = 0; ; i += 0) {}", meta)
    garbage = tmp_path / "garbage.so"
    garbage.write_bytes(b"\x7fELF not really")
    good = build_candidate(task.text, None, str(Target.host()), str(tmp_path / "good.so"), 1)
    runner = Runner(MeasureOptions(timeout=3.0, repeat=1, min_repeat_ms=1.0))
    try:
        results = runner.run(
            [
                BuildResult(crash, None, 0.0),
                BuildResult(hang, None, 0.0),
                BuildResult(str(garbage), None, 0.0),
                BuildResult(None, "build: boom", 0.0),
                good,
            ]
        )
    finally:
        runner.close()
    errors = [r.error for r in results]
    assert errors[0].startswith("run: crashed"), errors[0]
    assert errors[1] == "run: timeout"
    assert errors[2].startswith("run: cannot load")
    assert errors[3] == "build: boom"
    assert errors[4] is None and results[4].costs


def test_builder_and_runner_in_pools(task, tmp_path) -> None:
    builder = Builder(Target.host(), OPTS, workers=2)
    runner = Runner(OPTS)
    try:
        ref = measure_reference(builder, runner, task.text, str(tmp_path / "ref.npz"))
        assert ref.error is None
        configs = [task.space.get(i).to_json() for i in range(min(3, len(task.space)))]
        results = runner.run(builder.build(task.text, configs), reference=str(tmp_path / "ref.npz"))
    finally:
        builder.close()
        runner.close()
    assert [r.error for r in results] == [None] * len(configs)
