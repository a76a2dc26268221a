"""examples/c_api/run_model.c, built with the system C compiler against the C runtime, runs
exported libraries and gets the Python runtime's numbers (same inputs, same library)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from c_deploy_helpers import (
    build_dynamic_example,
    compile_c,
    conv_model,
    example_inputs,
    nonzero_model,
    printed_shapes,
    read_outputs,
    require_cc,
    run_example,
    write_inputs,
)

import xtvm
import xtvm.runtime
from xtvm.runtime import c_runtime_dir, c_runtime_sources
from xtvm.testing import model_zoo

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dynamic_example(tmp_path_factory.mktemp("c_api") / "run_model")


@pytest.fixture(scope="module")
def conv_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conv") / "conv.so"
    xtvm.build(xtvm.from_onnx(conv_model())).export_library(path)
    return path


def test_example_matches_python_on_file_inputs(example: Path, conv_library: Path, tmp_path: Path):
    module = xtvm.runtime.load(conv_library)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(i["shape"]).astype(np.float32) for i in module.input_info]
    want = module.run(inputs)
    proc = run_example(
        example, [str(conv_library), *write_inputs(tmp_path, inputs), "-o", str(tmp_path)]
    )
    got = read_outputs(tmp_path, want)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-6)
    assert printed_shapes(proc.stdout) == [[1, 10]]
    assert "open" in proc.stderr and "first run" in proc.stderr


def test_example_generated_inputs_are_reproducible(
    example: Path, conv_library: Path, tmp_path: Path
):
    module = xtvm.runtime.load(conv_library)
    want = module.run(example_inputs(module.input_info))
    run_example(example, [str(conv_library), "-o", str(tmp_path), "-t", "1"])
    np.testing.assert_allclose(read_outputs(tmp_path, want)[0], want[0], rtol=1e-6, atol=1e-6)


def test_data_dependent_output_has_its_real_shape(example: Path, tmp_path: Path):
    """NonZero's [2, n] output: the C API reports n and compacts the rows (axis 1)."""
    path = tmp_path / "nonzero.so"
    xtvm.build(xtvm.from_onnx(nonzero_model())).export_library(path)
    module = xtvm.runtime.load(path)
    x = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    want = module.run([x])
    assert 0 < want[0].shape[1] < 15  # a real length below the bound
    proc = run_example(example, [str(path), *write_inputs(tmp_path, [x]), "-o", str(tmp_path)])
    assert printed_shapes(proc.stdout) == [list(want[0].shape)]
    np.testing.assert_array_equal(read_outputs(tmp_path, want)[0], want[0])


def test_example_reports_errors(example: Path, conv_library: Path, tmp_path: Path):
    proc = run_example(example, [str(tmp_path / "missing.so")], ok=False)
    assert proc.returncode == 1 and "error: cannot open" in proc.stderr
    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 12)
    proc = run_example(example, [str(conv_library), "-i", str(short)], ok=False)
    assert proc.returncode == 1 and "is not 768 bytes" in proc.stderr


@pytest.fixture(scope="module")
def resnet_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model zoo's tiny ResNet-18: parallel loops, intermediates in the workspace."""
    shapes = model_zoo.FAMILIES["resnet18_like"].shape_dict("tiny")
    lib = xtvm.build(xtvm.from_onnx(model_zoo.make_model("resnet18_like"), shape_dict=shapes))
    return Path(lib.export_library(tmp_path_factory.mktemp("resnet") / "resnet.so"))


def test_parallel_model_runs_and_exits_cleanly(example: Path, resnet_library: Path, tmp_path):
    """A model with parallel loops (libgomp, two threads): same numbers, clean exit (the
    unloading race itself is tested on a hand-written library in test_c_api_open.py)."""
    path = str(resnet_library)
    assert b"GOMP_parallel" in resnet_library.read_bytes()
    x = model_zoo.random_inputs("resnet18_like", "tiny")["x"]
    want = xtvm.runtime.load(path).run([x])
    run_example(example, [path, *write_inputs(tmp_path, [x]), "-o", str(tmp_path), "-t", "2"])
    np.testing.assert_allclose(read_outputs(tmp_path, want)[0], want[0], rtol=1e-6, atol=1e-6)


def test_two_handles_run_at_the_same_time(resnet_library: Path, tmp_path: Path):
    """The header's promise: distinct handles on one library may run concurrently (each has
    its own scratch area); 50 runs each from two threads equal runs made alone. (A runtime
    sharing one workspace between handles failed this in 6 of 6 tries.)"""
    cc = require_cc()
    exe = tmp_path / "concurrent_handles"
    compile_c(
        [cc, "-std=c99", "-O2", f"-I{c_runtime_dir()}", str(HERE / "concurrent_handles.c")]
        + [*c_runtime_sources(), "-o", str(exe), "-ldl", "-lpthread"]
    )
    proc = subprocess.run(
        [str(exe), str(resnet_library)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "same", proc.stdout + proc.stderr
