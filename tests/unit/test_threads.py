"""Thread count (build option, ``num_threads`` property, ``XTVM_NUM_THREADS``) and
workspace reporting, on the residual block, whose convolutions are parallel loops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import onnx
import pytest
from reference import run_reference

import xtvm
import xtvm.runtime
from xtvm.errors import InputError

SHAPE = (1, 3, 32, 32)


@pytest.fixture(scope="module")
def model(model_dir: Path) -> onnx.ModelProto:
    return onnx.load(str(model_dir / "resnet_block.onnx"))


@pytest.fixture(scope="module")
def default_lib(model_dir: Path):
    """Built without ``num_threads`` and with ``XTVM_NUM_THREADS`` unset."""
    mod = xtvm.from_onnx(str(model_dir / "resnet_block.onnx"), shape_dict={"x": SHAPE})
    with mock.patch.dict(os.environ):
        os.environ.pop("XTVM_NUM_THREADS", None)
        return xtvm.build(mod, opt_level=3)


@pytest.fixture(scope="module")
def two_thread_so(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    mod = xtvm.from_onnx(str(model_dir / "resnet_block.onnx"), shape_dict={"x": SHAPE})
    lib = xtvm.build(mod, opt_level=3, num_threads=2)
    assert lib.num_threads == 2
    path = tmp_path_factory.mktemp("threads") / "model.so"
    lib.export_library(path)
    return path


@pytest.fixture()
def x() -> np.ndarray:
    return np.random.default_rng(3).standard_normal(SHAPE).astype(np.float32)


def test_parallel_results_match_for_one_and_two_threads(default_lib, model, x) -> None:
    assert "kind(parallel)" in default_lib.get_source("tir")
    assert default_lib.num_threads == 0
    expected = run_reference(model, {"x": x})[0]
    try:
        results = {}
        for n in (1, 2):
            default_lib.num_threads = n
            assert default_lib.num_threads == n == default_lib.module.num_threads
            results[n] = default_lib(x)
    finally:
        default_lib.num_threads = 0
    np.testing.assert_allclose(results[1], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[2], results[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_num_threads_setter_rejects_bad_values(default_lib, bad) -> None:
    with pytest.raises(InputError, match="num_threads"):
        default_lib.num_threads = bad
    assert default_lib.num_threads == 0


def test_exported_library_keeps_build_num_threads(two_thread_so, model, x) -> None:
    with mock.patch.dict(os.environ):
        os.environ.pop("XTVM_NUM_THREADS", None)
        loaded = xtvm.runtime.load(two_thread_so)
    assert loaded.num_threads == 2
    two = loaded(x)
    loaded.num_threads = 1
    np.testing.assert_allclose(loaded(x), two, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(two, run_reference(model, {"x": x})[0], rtol=1e-4, atol=1e-5)


def _load_in_subprocess(path: Path, env_value: str) -> subprocess.CompletedProcess[str]:
    """Print the module's ``num_threads`` and how many OS threads one call started."""
    code = (
        "import os, sys, numpy as np, xtvm.runtime\n"
        "m = xtvm.runtime.load(sys.argv[1])\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        f"m(np.zeros({SHAPE}, np.float32))\n"
        "print(m.num_threads, len(os.listdir('/proc/self/task')) - before)\n"
    )
    env = {**os.environ, "XTVM_NUM_THREADS": env_value}
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_env_var_sets_threads_unless_built_with_a_count(default_lib, two_thread_so, tmp_path):
    default_so = tmp_path / "default.so"
    default_lib.export_library(default_so)
    proc = _load_in_subprocess(default_so, "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "2"]  # libgomp started 2 threads besides ours
    # An explicit build option wins over the environment.
    proc = _load_in_subprocess(two_thread_so, "3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "1"]
    proc = _load_in_subprocess(default_so, "many")
    assert proc.returncode != 0 and "XTVM_NUM_THREADS" in proc.stderr


def test_workspace_bytes(default_lib, two_thread_so) -> None:
    # The block keeps intermediates between its convolutions.
    assert default_lib.workspace_bytes > 0
    assert default_lib.workspace_bytes == default_lib.metadata["workspace_bytes"]
    loaded = xtvm.runtime.load(two_thread_so)
    assert loaded.workspace_bytes == default_lib.workspace_bytes


def test_cli_run_prints_workspace(two_thread_so) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", "run", str(two_thread_so)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = xtvm.runtime.load(two_thread_so)
    lines = proc.stdout.splitlines()
    assert lines.count(f"workspace: {loaded.workspace_bytes} bytes") == 1


def test_module_without_parallel_loops() -> None:
    from xdsl.parser import Parser

    from xtvm.context import make_context

    text = """
    func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
      %r = relay.relu %x : tensor<2x3xf32>
      func.return %r : tensor<2x3xf32>
    }
    """
    lib = xtvm.build(Parser(make_context(), text).parse_module(), num_threads=4)
    assert "xtvm_num_threads" not in lib.get_source("ll")
    assert lib.num_threads == 0
    lib.num_threads = 2  # nothing reads it, but setting it is harmless
    x = np.arange(-3, 3, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(lib(x), np.maximum(x, 0))
    assert lib.workspace_bytes == 0
