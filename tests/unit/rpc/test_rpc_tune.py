"""Tuning with candidates measured on an RPC server: records are written, failures are
error records, and the server's target is what the builder compiles for."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from rpc_config import fast_config

import xtvm
from xtvm.autotune.measure import BuildResult, MeasureOptions, Runner, random_inputs
from xtvm.autotune.records import load_records
from xtvm.autotune.rpc_runner import RPCRunExecutor
from xtvm.autotune.tune import tune_tasks
from xtvm.rpc.client import target_for
from xtvm.rpc.server import RPCServer

OPTS = MeasureOptions(timeout=20.0, repeat=2, min_repeat_ms=2.0)
X = np.arange(4, dtype=np.float32)


def gemm_model() -> tuple[Any, np.ndarray]:
    """``y = x @ W^T`` on x: float32[8, 32] (one tunable dense kernel), and W."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(1).standard_normal((32, 32)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 32])],
        [numpy_helper.from_array(weight, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), weight


@pytest.fixture(scope="module")
def rpc_server():
    with RPCServer(fast_config(request_timeout=5.0)).start() as srv:
        yield srv


def test_runner_over_rpc_checks_times_and_survives_crashes(rpc_server, c_library, tmp_path):
    doubler = c_library("tune_doubler", "for (int i = 0; i < 4; i++) y[i] = 2 * x[i];")
    tripler = c_library("tune_tripler", "for (int i = 0; i < 4; i++) y[i] = 3 * x[i];")
    segv = c_library("tune_segv", "volatile int *p = 0; *p = 1;")

    def built(lib: Any) -> BuildResult:  # a copy: the runner deletes what it measured
        return BuildResult(
            shutil.copy(lib, tmp_path / f"cand-{len(list(tmp_path.iterdir()))}.so"), None, 0.1
        )

    executor = RPCRunExecutor(f"127.0.0.1:{rpc_server.port}")
    runner = Runner(OPTS, executor=executor)
    try:
        ref = str(tmp_path / "ref.npz")
        (base,) = runner.run([built(doubler)], save_reference=ref)
        assert base.error is None and len(base.costs) == 2 and base.cost > 0
        local = xtvm.runtime.load(doubler)
        with np.load(ref) as saved:  # the server's outputs, equal to a local run's
            want = local.run(random_inputs(local.input_info, OPTS.seed))[0]
            np.testing.assert_array_equal(saved["arr_0"], want)
        builds = [built(p) for p in (segv, tripler, doubler)]
        builds.insert(1, BuildResult(None, "build: no", 0.2))
        crashed, unbuilt, wrong, good = runner.run(builds, reference=ref)
        assert crashed.error is not None and "SIGSEGV" in crashed.error
        assert unbuilt.error == "build: no"
        assert wrong.error is not None and wrong.error.startswith("wrong output 0")
        assert good.error is None and good.cost > 0
    finally:
        executor.shutdown()
    with pytest.raises(TypeError):
        executor.submit(print, "not a candidate run")


def test_target_for_this_machine(rpc_server):
    from xtvm.backends.llvm import Target

    with RPCRunExecutor(f"127.0.0.1:{rpc_server.port}") as ex:
        assert Target.from_string(target_for(ex.info())) == Target.host()
    foreign = {"triple": "aarch64-linux-gnu", "features": "+neon", "features_known": True}
    assert target_for(foreign) == "llvm -mtriple=aarch64-linux-gnu -mattr=+neon"
    host = Target.host()
    if host.arch == "x86_64":  # a server of our architecture with other features
        for features, bits in (("+sse2,+sse4.2", 128), ("+avx,+avx2,+fma", 256)):
            info = {"triple": "x86_64-pc-linux-gnu", "features": features, "features_known": True}
            target = Target.from_string(target_for(info))
            assert target.cpu == "generic" and target.triple == host.triple
            assert target.vector_width_bits == bits


def test_tune_tasks_over_rpc_writes_records(rpc_server, tmp_path):
    from xtvm.autotune.task import extract_tasks

    model, weight = gemm_model()
    tasks = extract_tasks(xtvm.from_onnx(model), profile=False)
    executor = RPCRunExecutor(f"127.0.0.1:{rpc_server.port}")
    try:
        result = tune_tasks(
            tasks,
            tmp_path / "r.json",
            target=target_for(executor.info()),
            trials=2,
            tuner="random",
            options=OPTS,
            batch_size=2,
            run_executor=executor,
            # builds in this process, one at a time: no pool of fresh interpreters to start
            build_executor=ThreadPoolExecutor(1),
            verify_top=0,
        )
    finally:
        executor.shutdown()
    (p,) = result.tasks
    assert p.trials == 2 and p.errors == 0
    records = load_records(tmp_path / "r.json")
    assert len(records) == 3 and all(r.ok for r in records)
    lib = xtvm.build(xtvm.from_onnx(model), tuning_records=tmp_path / "r.json", cache=False)
    x = np.random.default_rng(0).standard_normal((8, 32)).astype(np.float32)
    np.testing.assert_allclose(lib(x=x), x @ weight.T, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_xtvm_tune_rpc_command(rpc_server, tmp_path):
    import onnx

    onnx.save(gemm_model()[0], tmp_path / "g.onnx")
    proc = subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", "tune", str(tmp_path / "g.onnx"), "-o",
         str(tmp_path / "r.json"), "--trials", "2", "--tuner", "random", "--rpc",
         f"127.0.0.1:{rpc_server.port}", "--no-progress-bar"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "measuring on 127.0.0.1" in proc.stdout and "model: untuned" in proc.stdout
    assert len(load_records(tmp_path / "r.json")) >= 3
