"""Tuning for ``target="cuda"``: tasks from the cuda pipeline with the cuda schedules'
spaces, records that change the generated PTX (still assembled by ptxas, still computing
numpy's numbers through the tir interpreter), and measuring that needs a GPU (a clear
error without one; a few real trials with one)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.autotune.apply import xtvm_version
from xtvm.autotune.cuda_tasks import gpu_count
from xtvm.autotune.dispatch import ApplyBestConfigs
from xtvm.autotune.records import MeasureRecord, append_records, target_dict
from xtvm.autotune.task import extract_tasks
from xtvm.backends.cuda.ptx import find_ptxas, ptxas_check
from xtvm.backends.interpreter import run_tir
from xtvm.backends.llvm.target import Target
from xtvm.errors import DeviceError, TuningWarning

RNG = np.random.default_rng(0)
W = RNG.standard_normal((32, 64)).astype(np.float32)
B = RNG.standard_normal(32).astype(np.float32)
CUDA = Target.cuda("sm_80")
HAVE_GPU = gpu_count() > 0


def dense_model():
    """relu(x @ W.T + B) for x of shape (8, 64)."""
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1),
        helper.make_node("Relu", ["g"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 32])],
        [numpy_helper.from_array(W, "w"), numpy_helper.from_array(B, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def dense_reference(x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ W.T + B, 0.0)


@pytest.fixture(scope="module")
def dense():
    return xtvm.from_onnx(dense_model())


@pytest.fixture(scope="module")
def cuda_task(dense):
    (task,) = extract_tasks(dense, CUDA)
    return task


def record(task, config: dict, target=CUDA) -> MeasureRecord:
    return MeasureRecord(
        workload=task.workload,
        task=task.description,
        target=target_dict(target),
        config=config,
        costs=[1e-5],
        error=None,
        timestamp=time.time(),
        version=xtvm_version(),
    )


def test_cuda_tasks_have_the_cuda_schedules_spaces(dense, cuda_task) -> None:
    task = cuda_task
    assert task.templates == ["dense"]
    assert list(task.space.knobs) == ["ty", "tx", "rm", "rn", "bk", "unroll"]
    assert len(task.space) == 4 * 6 * 4 * 4 * 4 * 2
    default = task.space.get(task.space.default_index())
    assert default.values["tx"] == 16 and default.values["ty"] == 8  # the untuned schedule
    assert task.flops == 2.0 * 8 * 32 * 64 and task.weight == 1
    # the CPU task of the same model: its own template and key (the key names the device)
    (cpu,) = extract_tasks(dense, "llvm", profile=False)
    assert cpu.workload != task.workload and "tx" not in cpu.space.knobs


def test_template_free_is_cpu_only(dense) -> None:
    with pytest.raises(xtvm.errors.CompileError, match="CPU-only"):
        extract_tasks(dense, CUDA, template_free=True)


def lowered_to_gpu_tir(mod, tuning):
    """The cuda pipeline up to GPU tir (before NVPTX) with ``tuning``, as the interpreter
    runs it (every GPU thread simulated)."""
    from xtvm.driver.compile import _pipeline_spec, _with_option, run_pipeline
    from xtvm.driver.compile import specialize_for_target as specialize
    from xtvm.driver.cuda_build import _for_device, cuda_pipeline
    from xtvm.passes.registry import parse_pipeline

    passes = parse_pipeline(cuda_pipeline(_pipeline_spec(3, None)))[:-1]  # no NVVM
    passes = _with_option(_for_device(specialize(passes, CUDA), "cuda"), "tuning", tuning)
    module = mod.clone()
    run_pipeline(module, passes)
    return module


def test_a_record_changes_the_ptx_and_keeps_the_numbers(dense, cuda_task, tmp_path) -> None:
    default = cuda_task.space.get(cuda_task.space.default_index()).values
    tuned = {**default, "tx": 32, "ty": 4, "rn": 1, "bk": 16, "unroll": False}
    path = tmp_path / "cuda.json"
    append_records(path, [record(cuda_task, tuned)])
    untuned = xtvm.build(dense, target=CUDA, cache=False)
    lib = xtvm.build(dense, target=CUDA, tuning_records=str(path), cache=False)
    assert lib.tuning_summary == "tuning records: 1 tuned kernel(s)"
    assert lib.ptx != untuned.ptx
    blocks = {launch.block for launch in lib.module.plan.launches}
    assert (32, 4, 1) in blocks and (32, 4, 1) not in {
        launch.block for launch in untuned.module.plan.launches
    }
    if find_ptxas() is not None:
        ptxas_check(lib.ptx, "sm_80")
    x = RNG.uniform(-1, 1, (8, 64)).astype(np.float32)
    apply = ApplyBestConfigs({cuda_task.workload: tuned}, device="cuda")
    (out,) = run_tir(lowered_to_gpu_tir(dense, apply), [x])
    assert apply.tuned == {cuda_task.workload}
    np.testing.assert_allclose(out, dense_reference(x), rtol=1e-4, atol=1e-5)


def test_records_of_another_target_are_skipped(dense, cuda_task, tmp_path) -> None:
    default = cuda_task.space.get(cuda_task.space.default_index()).values
    x86 = Target.from_string("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=znver3")
    path = tmp_path / "x86.json"
    append_records(path, [record(cuda_task, {**default, "tx": 32}, target=x86)])
    with pytest.warns(TuningWarning) as caught:
        lib = xtvm.build(dense, target=CUDA, tuning_records=str(path), cache=False)
    messages = [str(w.message) for w in caught]
    assert any("skipped (another target)" in m for m in messages), messages
    assert any("1 without a record" in m for m in messages), messages
    assert lib.ptx == xtvm.build(dense, target=CUDA, cache=False).ptx


@pytest.mark.skipif(HAVE_GPU, reason="checks the refusal where no GPU is present")
def test_tuning_cuda_without_a_gpu_stops_at_once(dense, tmp_path, capsys) -> None:
    from xtvm.autotune.tune import tune
    from xtvm.cli.main import main

    with pytest.raises(DeviceError, match="NVIDIA GPU.*xtvm rpc server"):
        tune(dense, tmp_path / "r.json", target="cuda", trials=2)
    assert not (tmp_path / "r.json").exists()
    model = tmp_path / "dense.onnx"
    model.write_bytes(dense_model().SerializeToString())
    out = tmp_path / "r2.json"
    code = main(["tune", str(model), "--target", "cuda", "-o", str(out), "--trials", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "NVIDIA GPU" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_GPU, reason="no CUDA device")
def test_tune_a_small_dense_on_the_gpu(dense, tmp_path) -> None:
    from xtvm.autotune.records import load_records
    from xtvm.autotune.tune import tune

    path = tmp_path / "r.json"
    result = tune(dense, path, target=CUDA, trials=6, tuner="random", batch_size=3, timeout=60)
    records = load_records(path)
    assert records and all(r.target == target_dict(CUDA) for r in records)
    assert any(r.ok for r in records), [r.error for r in records]
    del result
    with warnings.catch_warnings():
        warnings.simplefilter("error", TuningWarning)  # every tunable kernel has a record
        lib = xtvm.build(dense, target=CUDA, tuning_records=str(path), cache=False)
    x = RNG.uniform(-1, 1, (8, 64)).astype(np.float32)
    np.testing.assert_allclose(lib.run([x])[0], dense_reference(x), rtol=1e-4, atol=1e-5)
