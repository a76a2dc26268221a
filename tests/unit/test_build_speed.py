"""What makes builds fast, checked as behaviour (no timings): machine code is generated once
per build and the exported library links that same object; weights bypass the IR text;
verifying after every pass is a switch; IR levels are rebuilt only when asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

import xtvm
import xtvm.runtime
from xtvm.backends.llvm import Target, jit
from xtvm.backends.llvm.weights import MIN_BLOB_BYTES, blobs_supported, split_weights
from xtvm.driver import compile as driver
from xtvm.driver.compile import run_pipeline, verify_ir_enabled
from xtvm.errors import CompileError

N = 64  # a 64x64 f32 weight is 16 KiB: large enough to bypass the IR text


def dense_model(rows: int = 4) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """``y = relu(x @ w + b)`` with constant ``w`` and ``b``, ``x`` of ``rows`` rows."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((N, N)).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["m"]),
            helper.make_node("Add", ["m", "b"], ["a"]),
            helper.make_node("Relu", ["a"], ["y"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, N])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, N])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), w, b


@pytest.fixture(scope="module")
def relay() -> ModuleOp:
    return xtvm.from_onnx(dense_model()[0], shape_dict={"x": (4, N)})


@pytest.fixture()
def x() -> np.ndarray:
    return np.random.default_rng(4).standard_normal((4, N)).astype(np.float32)


@pytest.fixture()
def codegen_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the LLVM runs made from now on: "optimize" (O3) and "emit" (codegen)."""
    calls: list[str] = []
    optimize, emit = jit.optimize, jit.llvm.TargetMachine.emit_object

    def counted_optimize(*args, **kwargs):
        calls.append("optimize")
        return optimize(*args, **kwargs)

    def counted_emit(self, *args, **kwargs):
        calls.append("emit")
        return emit(self, *args, **kwargs)

    monkeypatch.setattr(jit, "optimize", counted_optimize)
    monkeypatch.setattr(jit.llvm.TargetMachine, "emit_object", counted_emit)
    return calls


def test_one_codegen_serves_the_jit_and_the_library(
    relay, x, tmp_path: Path, codegen_calls: list[str]
) -> None:
    _, w, b = dense_model()
    lib = xtvm.build(relay, cache=False)
    assert codegen_calls == ["optimize", "emit"]
    path = lib.export_library(tmp_path / "m.so")
    assert codegen_calls == ["optimize", "emit"]  # export only linked
    loaded = xtvm.runtime.load(path)
    assert loaded.metadata == lib.metadata
    np.testing.assert_array_equal(loaded(x), lib(x))
    np.testing.assert_allclose(lib(x), np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-5)


def test_a_cache_hit_exports_without_codegen(
    relay, x, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codegen_calls: list[str]
) -> None:
    monkeypatch.setenv("XTVM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XTVM_CACHE", raising=False)
    first = xtvm.build(relay)
    assert codegen_calls == ["optimize", "emit"]
    hit = xtvm.build(relay)
    assert hit.cache_status.startswith("hit")
    path = hit.export_library(tmp_path / "hit.so")
    assert codegen_calls == ["optimize", "emit"]
    np.testing.assert_array_equal(xtvm.runtime.load(path)(x), first(x))


def test_profile_and_thread_globals_resolve_in_jit_and_library(tmp_path) -> None:
    rows = 512  # enough rows for a parallel loop, hence the thread-count global
    relay = xtvm.from_onnx(dense_model(rows)[0], shape_dict={"x": (rows, N)})
    x = np.random.default_rng(5).standard_normal((rows, N)).astype(np.float32)
    lib = xtvm.build(relay, cache=False, profile=True, num_threads=2)
    loaded = xtvm.runtime.load(lib.export_library(tmp_path / "p.so"))
    for module in (lib.module, loaded):
        assert module.profiling and module.num_threads == 2
        module.num_threads = 1
        assert module.num_threads == 1
        report = module.profile({"x": x}, repeat=2)
        assert report.rows and all(row.calls == 2 for row in report.rows)
    np.testing.assert_array_equal(loaded(x), lib(x))


def test_large_weights_bypass_the_ir_text(relay, x) -> None:
    host = Target.host()
    if not blobs_supported(host.triple):
        pytest.skip("weights go through the IR text on non-ELF targets")
    lib = xtvm.build(relay, cache=False)
    text, blobs = split_weights(lib.ir_module)
    assert blobs and all(len(b.data) >= MIN_BLOB_BYTES for b in blobs)
    assert all(f'@"{b.name}" = external hidden constant' in text for b in blobs)
    assert len(text) < len(str(lib.ir_module)) - sum(len(b.data) for b in blobs)
    # the same module with its weights printed into the text computes the same
    inline = jit.compile_and_load(str(lib.ir_module), host, lib.metadata, use_cache=False)
    np.testing.assert_array_equal(inline(x), lib(x))


class _BreaksIR(ModulePass):
    """Leaves a function whose return type does not match its signature."""

    name = "break-ir"

    def apply(self, ctx, op: ModuleOp) -> None:
        from xdsl.dialects import func

        for f in op.walk():
            if isinstance(f, func.FuncOp):
                f.body.block.last_op.detach()
                f.body.block.add_op(func.ReturnOp())
                return


def test_verify_ir_is_a_switch(relay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XTVM_VERIFY_IR", raising=False)
    assert not verify_ir_enabled()
    assert verify_ir_enabled(True)
    monkeypatch.setenv("XTVM_VERIFY_IR", "1")
    assert verify_ir_enabled() and not verify_ir_enabled(False)
    run_pipeline(relay.clone(), [_BreaksIR()], verify=False)  # nothing checks it
    with pytest.raises(CompileError, match="after pass 'break-ir' does not verify"):
        run_pipeline(relay.clone(), [_BreaksIR()], verify=True)
    with pytest.raises(CompileError, match="after pass 'break-ir' does not verify"):
        run_pipeline(relay.clone(), [_BreaksIR()])  # XTVM_VERIFY_IR=1


def test_verify_ir_stage_only_when_on(relay) -> None:
    on = [n for n, _ in xtvm.build(relay, cache=False, verify_ir=True).time_passes]
    off = [n for n, _ in xtvm.build(relay, cache=False, verify_ir=False).time_passes]
    assert "verify-ir" in on and "verify-ir" not in off
    assert "verify-input" in off  # the input module is verified in any case


def test_levels_are_rebuilt_on_demand_up_to_the_level(
    relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = xtvm.build(relay, cache=False)
    other = xtvm.build(relay, cache=False)
    passes: list[str] = []
    run = driver.run_pipeline

    def counted(module, ps, *args, **kwargs):
        passes.extend(p.name for p in ps)
        return run(module, ps, *args, **kwargs)

    monkeypatch.setattr(driver, "run_pipeline", counted)
    relay_ir = lib.get_source("relay")
    assert passes and not any(p.startswith("convert-") for p in passes)
    assert relay_ir == other.get_source("relay")
    assert lib.get_source("tir") == other.get_source("tir")
    assert "func.func" in relay_ir and "tir.prim_func" in lib.get_source("tir")


def test_objects_reach_their_data_from_anywhere(relay, tmp_path) -> None:
    """The JIT maps code and data sections separately; with the small code model a large
    model's weights could land out of 32-bit reach (RuntimeDyld aborts the process, seen on
    BERT's second build in one process). x86-64 objects use 64-bit offsets instead."""
    import shutil
    import subprocess

    target = Target.host()
    if target.arch != "x86_64":
        pytest.skip("the large code model is used on x86-64 only")
    assert jit.object_code_model(target) == "large"
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf not installed")
    lib = xtvm.build(relay, cache=False)
    obj = tmp_path / "m.o"
    obj.write_bytes(lib._object_code)
    relocs = subprocess.run(
        [readelf, "-r", "-W", str(obj)], capture_output=True, text=True, check=True
    ).stdout
    text_relocs = relocs.split("'.rela.eh_frame'")[0]
    assert "R_X86_64_PC32" not in text_relocs
