"""The Python API: ``xtvm.from_onnx`` -> ``xtvm.build`` -> call, export, inspect."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import ModulePass

import xtvm
from xtvm.context import make_context
from xtvm.driver.compile import ir_level, run_pipeline, specialize_for_target
from xtvm.errors import CompileError, InputError, PipelineError, RecordsError, XTVMError

SMALL_RELAY = """
func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = relay.add %x, %y : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %r = relay.relu %a : tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}
"""


def small_relay() -> ModuleOp:
    return Parser(make_context(), SMALL_RELAY).parse_module()


@pytest.fixture(scope="module")
def resnet(model_dir: Path):
    """(onnx path, compiled module) for the residual-block model at -O3."""
    path = model_dir / "resnet_block.onnx"
    mod = xtvm.from_onnx(str(path), shape_dict={"x": (1, 3, 32, 32)})
    return path, xtvm.build(mod, target="llvm", opt_level=3)


@pytest.fixture()
def x() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((1, 3, 32, 32)).astype(np.float32)


def test_call_by_name_and_position(resnet, x, ort_run) -> None:
    path, lib = resnet
    (want,) = ort_run(path, {"x": x})
    np.testing.assert_allclose(lib(x), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lib(x=x), want, rtol=1e-4, atol=1e-5)
    (by_dict,) = lib.run({"x": x})
    (by_list,) = lib.run([x])
    np.testing.assert_array_equal(by_dict, by_list)
    np.testing.assert_allclose(by_dict, want, rtol=1e-4, atol=1e-5)


def test_signature(resnet) -> None:
    _, lib = resnet
    assert lib.input_info == [{"name": "x", "shape": (1, 3, 32, 32), "dtype": "float32"}]
    assert lib.output_info == [{"name": "y", "shape": (1, 10), "dtype": "float32"}]
    assert "x: float32[1, 3, 32, 32]" in repr(lib)


@pytest.mark.parametrize(
    "inputs, needle",
    [
        ({"x": np.zeros((1, 3, 16, 16), np.float32)}, "shape"),
        ({"x": np.zeros((1, 3, 32, 32), np.float64)}, "float32"),
        ({"image": np.zeros((1, 3, 32, 32), np.float32)}, "image"),
        ({}, "missing input 'x'"),
        ([np.zeros((1, 3, 32, 32), np.float32)] * 2, "too many"),
    ],
)
def test_input_errors(resnet, inputs, needle) -> None:
    _, lib = resnet
    with pytest.raises(InputError, match=needle) as info:
        lib.run(inputs)
    assert "\n" not in str(info.value)


def test_export_and_load_round_trip(resnet, x, tmp_path) -> None:
    _, lib = resnet
    path = lib.export_library(tmp_path / "m.so")
    loaded = xtvm.runtime.load(path)
    assert loaded.input_info == lib.input_info and loaded.output_info == lib.output_info
    np.testing.assert_array_equal(loaded(x), lib(x))


@pytest.mark.parametrize(
    "level, needle",
    [
        ("relay", "relay.fused"),
        ("te", "te.kernel"),
        ("tir", "tir.prim_func"),
        ("llvm", "llvm.func"),
        ("ll", "define"),
    ],
)
def test_get_source_levels(resnet, level, needle) -> None:
    _, lib = resnet
    assert needle in lib.get_source(level)


def test_get_source_asm_and_bad_level(resnet) -> None:
    _, lib = resnet
    assert "xtvm_main" in lib.get_source("asm")
    with pytest.raises(XTVMError, match="unknown source level"):
        lib.get_source("ptx")


def test_time_passes(resnet) -> None:
    path, _ = resnet
    mod = xtvm.from_onnx(str(path), shape_dict={"x": (1, 3, 32, 32)})
    lib = xtvm.build(mod, cache=False)  # a cache hit would skip the passes
    names = [name for name, _ in lib.time_passes]
    from xtvm.passes.registry import PIPELINES

    passes = [p.split("{")[0] for p in PIPELINES["O3"].split(",")]
    assert names[:3] == ["setup", "parse-pipeline", "verify-input"]
    assert names[3:-4] == passes
    # verify-ir: the tests verify after every pass (conftest sets XTVM_VERIFY_IR=1)
    assert names[-4:] == ["verify-ir", "llvm-translate", "llvm-codegen", "jit-load"]
    assert all(sec >= 0 for _, sec in lib.time_passes)
    assert lib.pass_timing_report().splitlines()[-1].startswith("total")


def test_benchmark(resnet, x) -> None:
    _, lib = resnet
    t = lib.benchmark({"x": x}, repeat=3)
    assert t["repeat"] == 3 and 0 < t["min_ms"] <= t["median_ms"] <= t["max_ms"]


def test_build_leaves_input_module_alone() -> None:
    mod = small_relay()
    before = str(mod)
    with pytest.raises(XTVMError):  # stops where the pipeline ends short of llvm
        xtvm.build(mod, pipeline="relay-fuse-ops")
    assert str(mod) == before


def test_build_needs_llvm_at_the_end() -> None:
    with pytest.raises(CompileError, match="xtvm.metadata"):
        xtvm.build(small_relay(), pipeline="relay-fold-constant,relay-fuse-ops")


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        ({"tuning_records": "no-such-records.json"}, RecordsError, "no-such-records.json"),
        ({"tuning_records": 3}, CompileError, "tuning_records"),
        ({"opt_level": 4}, PipelineError, "opt_level"),
        ({"pipeline": "no-such-pass"}, PipelineError, "no-such-pass"),
        ({"target": "vulkan"}, CompileError, "target"),
        ({"target": "cuda -arch=sm_70"}, CompileError, "sm_70"),
        ({"num_threads": 0}, CompileError, "num_threads"),
    ],
)
def test_build_argument_errors(kwargs, error, needle) -> None:
    with pytest.raises(error, match=needle) as info:
        xtvm.build(small_relay(), **kwargs)
    assert "\n" not in str(info.value)


def test_build_rejects_non_module() -> None:
    with pytest.raises(CompileError, match="ModuleOp"):
        xtvm.build("model.onnx")


@dataclasses.dataclass(frozen=True)
class _Raises(ModulePass):
    name = "test-raises"

    def apply(self, ctx, op) -> None:
        raise RuntimeError("boom\nsecond line")


@dataclasses.dataclass(frozen=True)
class _BreaksIR(ModulePass):
    name = "test-breaks-ir"

    def apply(self, ctx, op) -> None:
        func = next(iter(op.ops))
        func.body.block.last_op.detach()  # drop func.return: the block loses its terminator


def test_pipeline_failures_name_the_pass() -> None:
    with pytest.raises(CompileError, match=r"^pass 'test-raises' failed: boom$"):
        run_pipeline(small_relay(), [_Raises()])
    with pytest.raises(CompileError, match=r"after pass 'test-breaks-ir' does not verify"):
        run_pipeline(small_relay(), [_BreaksIR()])


def test_run_pipeline_keeps_each_level() -> None:
    from xtvm.passes.registry import parse_pipeline

    mod = small_relay()
    assert ir_level(mod) == "relay"
    result = run_pipeline(mod, parse_pipeline("relay-fuse-ops"))
    assert set(result.sources) == {"relay"} and "relay.fused" in str(result.sources["relay"])
    assert [name for name, _ in result.pass_times] == ["relay-fuse-ops"]


def test_lazy_top_level_imports() -> None:
    code = (
        "import sys, xtvm; "
        "assert 'xdsl' not in sys.modules and 'llvmlite' not in sys.modules; "
        "from importlib.metadata import version; "
        "assert xtvm.__version__ == version('xtvm'); "
        "assert callable(xtvm.build) and callable(xtvm.from_onnx) and callable(xtvm.load); "
        "assert issubclass(xtvm.errors.InputError, xtvm.errors.XTVMError)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(AttributeError):
        xtvm.no_such_name  # noqa: B018


def test_target_fills_vector_widths() -> None:
    """Schedules and tir-vectorize get the target's width, not the host's; explicit wins."""
    from xtvm.backends.llvm import Target
    from xtvm.passes.registry import parse_pipeline

    aarch64 = Target.from_string("llvm -mtriple=aarch64-linux-gnu")
    passes = parse_pipeline("convert-relay-to-te,tir-vectorize,tir-vectorize{lanes=2}")
    to_te, vec, explicit = specialize_for_target(passes, aarch64)
    assert (to_te.vector_bits, vec.lanes, explicit.lanes) == (128, 4, 2)
