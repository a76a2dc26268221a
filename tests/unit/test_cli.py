"""The ``xtvm`` command line: compile an ONNX model, run the library, and fail politely."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

RESNET_SHAPES = "x:[1,3,32,32]"


def xtvm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def assert_one_line_error(proc, *needles: str) -> str:
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture(scope="module")
def compiled(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """resnet_block.onnx compiled once with ``xtvm compile`` (IR dumped, passes timed)."""
    out = tmp_path_factory.mktemp("cli")
    lib, dump = out / "model.so", out / "ir"
    proc = xtvm(
        "compile",
        model_dir / "resnet_block.onnx",
        "--input-shapes",
        RESNET_SHAPES,
        "-O3",
        "--time-passes",
        "--no-cache",  # a build-cache hit would skip the passes timed below
        "--dump-ir",
        dump,
        "-o",
        lib,
    )
    assert proc.returncode == 0, proc.stderr
    return {"lib": lib, "dump": dump, "stdout": proc.stdout}


def test_compile_writes_library_and_ir(compiled: dict) -> None:
    assert compiled["lib"].is_file()
    names = {p.name for p in compiled["dump"].iterdir()}
    assert {"relay.mlir", "te.mlir", "tir.mlir", "llvm.mlir", "model.ll", "model.s"} <= names
    assert "relay.fused" in (compiled["dump"] / "relay.mlir").read_text()
    assert "llvm.func" in (compiled["dump"] / "llvm.mlir").read_text()


def test_compile_time_passes(compiled: dict) -> None:
    lines = compiled["stdout"].splitlines()
    timed = {line.split()[0] for line in lines if line.endswith(" ms")}
    stages = {"onnx-import", "relay-fuse-ops", "convert-tir-to-llvm", "llvm-codegen"}
    assert stages | {"export-library", "total"} <= timed
    assert lines[0] == "build cache: off"
    assert lines[-1].startswith("wrote ") and lines[-1].endswith("model.so")


def test_run_matches_onnxruntime(compiled, model_dir, ort_run, tmp_path) -> None:
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    proc = xtvm(
        "run", compiled["lib"], "--inputs", tmp_path / "in.npz", "--outputs", tmp_path / "o.npz"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("y: float32[1, 10]")
    with np.load(tmp_path / "o.npz") as data:
        got = data["y"]
    (want,) = ort_run(model_dir / "resnet_block.onnx", {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_run_print_time_and_fill_mode(compiled) -> None:
    proc = xtvm("run", compiled["lib"], "--fill-mode", "ones", "--print-time", "--repeat", "3")
    assert proc.returncode == 0, proc.stderr
    assert "Execution time summary over 3 runs (ms)" in proc.stdout
    header = proc.stdout.splitlines()[-2].split()
    assert header == ["median", "mean", "min", "max", "std"]
    assert all(float(v) >= 0 for v in proc.stdout.splitlines()[-1].split())


def test_run_wrong_input_shape(compiled, tmp_path) -> None:
    np.savez(tmp_path / "bad.npz", x=np.zeros((1, 3, 16, 16), np.float32))
    proc = xtvm("run", compiled["lib"], "--inputs", tmp_path / "bad.npz")
    assert_one_line_error(proc, "'x'", "[1, 3, 32, 32]")


def test_run_wrong_input_name(compiled, tmp_path) -> None:
    np.savez(tmp_path / "bad.npz", image=np.zeros((1, 3, 32, 32), np.float32))
    assert_one_line_error(xtvm("run", compiled["lib"], "--inputs", tmp_path / "bad.npz"), "image")


def test_run_bad_npz(compiled, tmp_path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    assert_one_line_error(xtvm("run", compiled["lib"], "--inputs", tmp_path / "junk.npz"), "npz")
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 32, 32), np.float32))
    assert_one_line_error(xtvm("run", compiled["lib"], "--inputs", tmp_path / "x.npy"), ".npy")


def test_run_missing_library(tmp_path) -> None:
    assert_one_line_error(xtvm("run", tmp_path / "nope.so"), "nope.so")


def test_compile_missing_model(tmp_path) -> None:
    proc = xtvm("compile", tmp_path / "missing.onnx", "-o", tmp_path / "m.so")
    assert_one_line_error(proc, "missing.onnx")


@pytest.mark.parametrize("spec", ["x:[1,3,a,32]", "x[1,3]", "x:[1,3] x:[1,3]", "x:[-1]"])
def test_compile_bad_input_shapes(model_dir, tmp_path, spec) -> None:
    proc = xtvm(
        "compile", model_dir / "resnet_block.onnx", "--input-shapes", spec, "-o", tmp_path / "m.so"
    )
    assert_one_line_error(proc, "--input-shapes")


def test_compile_unsupported_ops_listed_once(model_dir, tmp_path) -> None:
    proc = xtvm("compile", model_dir / "unsupported.onnx", "-o", tmp_path / "m.so")
    err = assert_one_line_error(proc, "RandomUniformLike", "RandomNormalLike")
    assert "Relu" not in err
    assert not (tmp_path / "m.so").exists()


def test_compile_bad_target(model_dir, tmp_path) -> None:
    proc = xtvm("compile", model_dir / "mlp.onnx", "--target", "vulkan", "-o", tmp_path / "m.so")
    assert_one_line_error(proc, "target")


def test_usage_errors_exit_2(model_dir) -> None:
    assert xtvm("compile").returncode == 2
    assert xtvm("compile", model_dir / "mlp.onnx", "-O7").returncode == 2
    assert xtvm("frobnicate").returncode == 2


def test_version() -> None:
    proc = xtvm("version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("xtvm ") and "xdsl" in proc.stdout and "LLVM" in proc.stdout


def test_console_scripts_declared() -> None:
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("xtvm") == "xtvm.cli.main:main"
    assert scripts.get("xtvm-opt") == "xtvm.cli.opt:main"


# ------------------------------------------------------------------------------------------
# xtvm-opt
# ------------------------------------------------------------------------------------------


@dataclass
class OptResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def xtvm_opt(capsys, tmp_path):
    """Run ``xtvm-opt`` in this process (its imports cost more than the work); ``stdin``
    text goes through a temporary .mlir file."""
    from xtvm.cli.opt import main

    def run(*args: object, stdin: str | None = None) -> OptResult:
        argv = [str(a) for a in args]
        if stdin is not None:
            path = tmp_path / "input.mlir"
            path.write_text(stdin)
            argv.insert(0, str(path))
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse (--help, usage errors)
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return OptResult(code, out, err)

    return run


def test_opt_reads_onnx(model_dir, xtvm_opt) -> None:
    proc = xtvm_opt(model_dir / "mlp.onnx", "--input-shapes", "x:[2,16]")
    assert proc.returncode == 0, proc.stderr
    assert "func.func @main" in proc.stdout and "relay.dense" in proc.stdout


def test_opt_named_pipeline_and_print_ir_after_all(model_dir, xtvm_opt) -> None:
    from xtvm.passes.registry import PIPELINES

    proc = xtvm_opt(model_dir / "mlp.onnx", "-p", "O0", "--print-ir-after-all")
    assert proc.returncode == 0, proc.stderr
    assert "llvm.func @xtvm_main" in proc.stdout and "xtvm.metadata" in proc.stdout
    dumped = [ln.split()[5] for ln in proc.stderr.splitlines() if "IR Dump After" in ln]
    assert dumped == [item.split("{")[0] for item in PIPELINES["O0"].split(",")]


def test_opt_help_lists_passes_and_pipelines() -> None:
    """Through the real entry point, in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "xtvm.cli.opt", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    for word in ("relay-fuse-ops", "convert-tir-to-llvm", "named pipelines", "O3"):
        assert word in proc.stdout


@pytest.mark.parametrize(
    "args, stdin, needle",
    [
        (["-p", "no-such-pass"], "", "no-such-pass"),
        (["-p", "relay-fuse-ops{bogus=1}"], "", "bogus"),
        ([], 'func.func @f() {\n  %x = "foo.bar"() : () -> i32\n}\n', "foo.bar"),
        (["/no/such/file.mlir"], None, "file.mlir"),
        (["-f", "onnx", "--input-shapes", "x:[1,q]"], "", "--input-shapes"),
    ],
)
def test_opt_errors_are_one_line(xtvm_opt, args, stdin, needle) -> None:
    assert_one_line_error(xtvm_opt(*args, stdin=stdin), needle)


def test_opt_unsupported_onnx_is_one_line(model_dir, xtvm_opt) -> None:
    assert_one_line_error(
        xtvm_opt(model_dir / "unsupported.onnx"), "RandomUniformLike", "RandomNormalLike"
    )


def test_opt_keeps_verify_diagnostics(xtvm_opt) -> None:
    bad = (
        "func.func @g(%x: tensor<2x3xf32>, %y: tensor<4x3xf32>) -> tensor<2x3xf32> {\n"
        "  %c = relay.add %x, %y : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>\n"
        "  func.return %c : tensor<2x3xf32>\n}\n"
    )
    proc = xtvm_opt("--verify-diagnostics", stdin=bad)
    assert proc.returncode == 0, proc.stderr
    assert "cannot broadcast" in proc.stdout
    assert_one_line_error(xtvm_opt(stdin=bad), "cannot broadcast")


def test_closed_stdout_ends_quietly():
    """`xtvm version | head -0`: a reader that goes away is not a traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from xtvm.cli.main import main; sys.exit(main())",
            "version",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # nothing will ever read what it prints
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141)
    assert "Traceback" not in err, err
