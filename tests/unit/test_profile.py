"""Per-kernel profiling: ``build(profile=True)``, ``Module.profile`` and ``xtvm run --profile``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from xdsl.parser import Parser

import xtvm
import xtvm.runtime
from xtvm.backends.llvm import Target, compile_and_load, translate_module
from xtvm.context import make_context
from xtvm.errors import CompileError, XTVMError
from xtvm.lowering.tir_to_llvm import ConvertTirToLlvmPass, module_metadata
from xtvm.runtime.profile import OTHER_ROW

HOST = Target.host()
SHAPES = {"x": (1, 3, 32, 32)}

# @inc runs twice per call of the entry, @dbl once: slots must count calls, not kernels.
TWICE = """
tir.prim_func @inc(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  tir.for %i = %c0 to %c64 step %c1 kind(serial) {
    %v = memref.load %a[%i] : memref<64xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %b[%i] : memref<64xf32>
  }
  tir.return
}
tir.prim_func @dbl(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  tir.for %i = %c0 to %c64 step %c1 kind(serial) {
    %v = memref.load %a[%i] : memref<64xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %b[%i] : memref<64xf32>
  }
  tir.return
}
tir.prim_func @main(%x: memref<64xf32>, %y: memref<64xf32>) attributes {xtvm.entry,
    xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["x", "y"], xtvm.workspace_bytes = 512 : i64} {
  %t = tir.workspace_buffer offset 0 : memref<64xf32>
  %u = tir.workspace_buffer offset 256 : memref<64xf32>
  tir.call @inc(%x, %t) : memref<64xf32>, memref<64xf32>
  tir.call @dbl(%t, %u) : memref<64xf32>, memref<64xf32>
  tir.call @inc(%u, %y) : memref<64xf32>, memref<64xf32>
  tir.return
}
"""


def lower_twice(profile: bool):
    ctx = make_context()
    module = Parser(ctx, TWICE).parse_module()
    ConvertTirToLlvmPass(profile=profile).apply(ctx, module)
    module.verify()
    ir = translate_module(module, HOST)
    return compile_and_load(ir, HOST, module_metadata(module), use_cache=False), str(ir)


def test_calls_are_counted_per_call_site() -> None:
    lib, ir = lower_twice(profile=True)
    x = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    np.testing.assert_allclose(lib(x), (x + 1) * 2 + 1, rtol=1e-6)
    assert lib.metadata["profile"] == ["inc", "dbl"]
    report = lib.profile([x], repeat=7, warmup=2)
    rows = {r.name: r for r in report.rows}
    assert rows["inc"].calls == 14 and rows["dbl"].calls == 7
    assert rows[OTHER_ROW].calls == 7 and report.runs == 7
    assert all(r.total_ms >= 0 for r in report.rows)
    assert rows["inc"].mean_us == pytest.approx(rows["inc"].total_ms * 1e3 / 14)
    assert "clock_gettime" in ir and "xtvm_prof_ns" in ir


def test_no_timing_code_without_profile() -> None:
    lib, ir = lower_twice(profile=False)
    for needle in ("clock_gettime", "xtvm_prof"):
        assert needle not in ir
    assert "profile" not in lib.metadata and not lib.profiling
    with pytest.raises(XTVMError, match="profile=True"):
        lib.profile([np.zeros(64, np.float32)])


@pytest.fixture(scope="module")
def builds(model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The residual block built with and without profiling (caches in a tmp folder)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XTVM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    mod = xtvm.from_onnx(str(model_dir / "resnet_block.onnx"), shape_dict=SHAPES)
    plain, profiled = xtvm.build(mod), xtvm.build(mod, profile=True)
    yield plain, profiled
    mp.undo()


def call_sites(lib) -> Counter[str]:
    """How many times the entry function calls each kernel (identical kernels are shared)."""
    return Counter(re.findall(r"tir\.call @(\w+)\(", lib.get_source("tir")))


def kernel_names(lib) -> set[str]:
    return set(call_sites(lib))


def x_input() -> np.ndarray:
    return np.random.default_rng(1).standard_normal(SHAPES["x"]).astype(np.float32)


def test_profiled_model_matches_plain_and_names_every_kernel(builds) -> None:
    plain, profiled = builds
    x = x_input()
    np.testing.assert_array_equal(profiled(x), plain(x))
    repeat = 5
    report = profiled.profile({"x": x}, repeat=repeat)
    names = {r.name for r in report.kernel_rows}
    assert names == kernel_names(profiled) and len(names) >= 4
    sites = call_sites(profiled)
    assert all(r.calls == repeat * sites[r.name] for r in report.kernel_rows)
    assert report.rows[-1].calls == report.runs == repeat
    assert all(r.total_ms > 0 for r in report.rows)
    # Sorted by cost; the rows add up to the time measured inside the module, which is never
    # more than the time measured around the calls from Python. (No lower bounds: on a
    # loaded machine the share of a tiny model's run spent outside the kernels varies.)
    costs = [r.total_ms for r in report.kernel_rows]
    assert costs == sorted(costs, reverse=True)
    assert sum(r.total_ms for r in report.rows) == pytest.approx(report.total_ms)
    assert sum(costs) <= report.total_ms * (1 + 1e-9)
    assert report.total_ms <= report.wall_ms
    assert sum(r.percent for r in report.rows) == pytest.approx(100.0)
    table = str(report)
    for name in names:
        assert name in table
    assert table.splitlines()[-1].startswith("total")


def test_plain_build_cannot_profile(builds) -> None:
    plain, _ = builds
    assert not plain.profiling
    assert "xtvm_prof" not in plain.get_source("ll")
    with pytest.raises(XTVMError, match="no profiling counters"):
        plain.profile({"x": x_input()})


def test_profile_needs_a_lowering_that_supports_it(model_dir: Path) -> None:
    mod = xtvm.from_onnx(str(model_dir / "resnet_block.onnx"), shape_dict=SHAPES)
    with pytest.raises(CompileError, match="profile is not supported"):
        xtvm.build(mod, pipeline="relay-fold-constant", profile=True, cache=False)


def test_exported_library_profiles(builds, tmp_path: Path) -> None:
    plain, profiled = builds
    lib = xtvm.runtime.load(profiled.export_library(tmp_path / "prof.so"))
    x = x_input()
    np.testing.assert_array_equal(lib(x), plain(x))
    report = lib.profile([x], repeat=3)
    assert {r.name for r in report.kernel_rows} == kernel_names(profiled)
    sites = call_sites(profiled)
    assert all(r.calls == 3 * sites[r.name] for r in report.kernel_rows) and report.total_ms > 0
    other = xtvm.runtime.load(plain.export_library(tmp_path / "plain.so"))
    assert not other.profiling


def xtvm_cli(*args: object, env_cache: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "XTVM_CACHE_DIR": str(env_cache)}
    return subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_cli_run_profile(model_dir: Path, tmp_path: Path) -> None:
    onnx_path = model_dir / "resnet_block.onnx"
    proc = xtvm_cli(
        "run", onnx_path, "--input-shapes", "x:[1,3,32,32]", "--profile", "--repeat", "4",
        env_cache=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "total ms" in proc.stdout and "Profile over 4 runs" in proc.stdout
    rows = [ln.split() for ln in proc.stdout.splitlines() if ln.startswith("fused_")]
    assert len(rows) >= 4 and all(int(r[1]) % 4 == 0 for r in rows)

    lib = tmp_path / "prof.so"
    proc = xtvm_cli(
        "compile", onnx_path, "--input-shapes", "x:[1,3,32,32]", "--profile", "-o", lib,
        env_cache=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = xtvm_cli("run", lib, "--profile", "--repeat", "2", env_cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Profile over 2 runs" in proc.stdout


def test_cli_run_profile_needs_a_profiled_library(builds, tmp_path: Path) -> None:
    plain, _ = builds
    lib = plain.export_library(tmp_path / "plain.so")
    proc = xtvm_cli("run", lib, "--profile", env_cache=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr.strip()
    assert err.startswith("error: ") and "compile --profile" in err and len(err.splitlines()) == 1
