"""``xtvm tune`` and ``--tuning-records``: argument errors are one line, a short tune of a
small model writes loadable records and a plot, and compiling with the records gives
onnxruntime's numbers.

The templates' spaces may be small (even one config) while the x86 schedules gain knobs,
so nothing here assumes that the trials asked for can all be spent.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from xtvm.cli.main import main
from xtvm.cli.tune import TuneProgress, parse_budget

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    """Run ``xtvm argv`` in this process; (exit status, the one error line on stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return code, errors[0]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import onnx
    from make_models import make_mlp

    path = tmp_path_factory.mktemp("tune_model") / "mlp.onnx"
    onnx.save(make_mlp(), path)
    return path


# ------------------------------------------------------------------------------------------
# arguments
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("20m", 1200.0), ("1h", 3600.0), ("45", 45.0), ("1.5m", 90.0), ("2H", 7200.0)],
)
def test_budget_units(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("bad", ["20x", "", "0", "-5m", "m", "1h30", "soon"])
def test_bad_budget_is_an_argparse_error(
    bad: str, mlp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, line = one_line_error(
        capsys, ["tune", str(mlp), "-o", str(tmp_path / "r.json"), f"--budget={bad}"]
    )
    assert code == 2
    assert "--budget" in line and repr(bad) in line


def test_ansor_is_accepted(mlp: Path, tmp_path: Path, capsys) -> None:
    """--tuner ansor passes the up-front checks (the next one here: the existing output)."""
    out = tmp_path / "r.json"
    out.write_text("")
    code, line = one_line_error(capsys, ["tune", str(mlp), "-o", str(out), "--tuner", "ansor"])
    assert code == 1
    assert "--resume" in line and "not available" not in line


def test_existing_output_needs_resume(mlp: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    out.write_text("")
    code, line = one_line_error(capsys, ["tune", str(mlp), "-o", str(out), "--trials", "2"])
    assert code == 1
    assert line.startswith("error: ") and "--resume" in line and str(out) in line


def test_plot_without_matplotlib_fails_before_tuning(
    mlp: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xtvm.autotune.plot

    monkeypatch.setattr(xtvm.autotune.plot, "have_matplotlib", lambda: False)
    out = tmp_path / "r.json"
    argv = ["tune", str(mlp), "-o", str(out), "--plot", str(tmp_path / "t.png")]
    code, line = one_line_error(capsys, argv)
    assert code == 1
    assert line == "error: --plot needs matplotlib: pip install 'xtvm[tune]'"
    assert not out.exists()


@pytest.mark.parametrize("option", [["--trials", "0"], ["--threads", "-1"], ["--timeout", "0"]])
def test_bad_counts(option: list[str], mlp: Path, tmp_path: Path, capsys) -> None:
    code, _ = one_line_error(capsys, ["tune", str(mlp), "-o", str(tmp_path / "r.json"), *option])
    assert code == 2


# ------------------------------------------------------------------------------------------
# progress and plot, without tuning
# ------------------------------------------------------------------------------------------


def _fake_result() -> SimpleNamespace:
    """What plot_history and TuneProgress read of a TuneResult / TaskProgress."""

    def progress(name: str, history: list[tuple[int, float]], flops: float) -> SimpleNamespace:
        best = history[-1][1] if history else float("inf")
        return SimpleNamespace(
            task=SimpleNamespace(name=name, flops=flops, weight=1),
            history=history,
            best=best,
            untuned=history[0][1] if history else float("inf"),
            speedup=history[0][1] / best if history else 1.0,
        )

    tasks = [
        progress("fused_dense", [(0, 2e-3), (1, 1e-3), (2, 1e-3), (3, 4e-4)], 2e6),
        progress("fused_softmax", [(0, 5e-6)], 0.0),  # a one-config space: never tuned
        progress("failed", [], 1.0),  # the default schedule did not run
    ]
    return SimpleNamespace(tasks=tasks, trials=3, seconds=12.0)


def test_plot_history_writes_png(tmp_path: Path) -> None:
    from xtvm.autotune.plot import plot_history

    path = tmp_path / "tune.png"
    assert plot_history(_fake_result(), path) == str(path)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_plot_history_bad_format_is_one_line_error(tmp_path: Path) -> None:
    from xtvm.autotune.plot import plot_history
    from xtvm.errors import XTVMError

    with pytest.raises(XTVMError, match="cannot write"):
        plot_history(_fake_result(), tmp_path / "tune.notaformat")


def test_progress_prints_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = TuneProgress(total=8, budget=60.0, stream=stream)
    dense = _fake_result().tasks[0]
    progress("start", None, {"tasks": 2, "trials": 8})
    progress("task", dense, {"trials": 4})
    progress("end", None, {"trials": 8})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[4/8] fused_dense: best 400.0 us, 5.00 GFLOP/s")
    assert "elapsed" in lines[0] and "eta" in lines[0]


# ------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tuned(mlp: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One short random-tuner run on the MLP, with a plot and the untuned/tuned comparison."""
    out = tmp_path_factory.mktemp("tune")
    records, plot = out / "r.json", out / "tune.png"
    proc = run_cli(
        "tune", mlp, "--output", records, "--trials", "4", "--tuner", "random",
        "--plot", plot, "--timeout", "30",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return {"records": records, "plot": plot, "stdout": proc.stdout, "dir": out}


def test_tune_writes_records_and_plot(tuned: dict) -> None:
    from xtvm.autotune.records import load_records

    records = load_records(tuned["records"])
    lines = [ln for ln in tuned["records"].read_text().splitlines() if ln.strip()]
    assert len(records) == len(lines) >= 1
    defaults = [r for r in records if r.tuner == "default"]
    searched = [r for r in records if r.tuner not in ("default", "verify")]
    assert defaults, "every task's default schedule is measured first"
    assert len(searched) <= 4  # fewer when the spaces are tiny
    assert all(r.tuner == "random" for r in searched)
    assert any(r.ok for r in records)
    assert tuned["plot"].read_bytes().startswith(PNG_MAGIC)
    stdout = tuned["stdout"]
    assert "task(s)" in stdout and "speed-up" in stdout  # the plan, then the table
    assert "tuning records:" in stdout
    assert "model: untuned" in stdout and "ms -> tuned" in stdout


def test_compile_and_run_with_records_match_onnxruntime(mlp: Path, tuned: dict, ort_run) -> None:
    import xtvm.runtime

    x = np.random.default_rng(3).standard_normal((2, 16)).astype(np.float32)
    want = ort_run(mlp, {"x": x})
    lib = tuned["dir"] / "mlp.so"
    proc = run_cli("compile", mlp, "--tuning-records", tuned["records"], "-o", lib)
    assert proc.returncode == 0, proc.stderr
    assert "tuning records:" in proc.stderr and "Traceback" not in proc.stderr
    got = xtvm.runtime.load(str(lib)).run({"x": x})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)

    inputs, outputs = tuned["dir"] / "in.npz", tuned["dir"] / "out.npz"
    np.savez(inputs, x=x)
    proc = run_cli(
        "run", mlp, "--tuning-records", tuned["records"], "--inputs", inputs, "--outputs", outputs
    )
    assert proc.returncode == 0, proc.stderr
    with np.load(outputs) as data:
        np.testing.assert_allclose(data["y"], want[0], rtol=1e-4, atol=1e-5)


def test_records_for_another_target_warn_in_one_line(mlp: Path, tuned: dict) -> None:
    other = tuned["dir"] / "other.json"
    rows = [json.loads(ln) for ln in tuned["records"].read_text().splitlines() if ln.strip()]
    for row in rows:
        row["target"]["cpu"] = "some-other-cpu"
    other.write_text("".join(json.dumps(row) + "\n" for row in rows))
    # --no-cache: a cached build would not name the kernels left untuned again
    proc = run_cli("run", mlp, "--tuning-records", other, "--fill-mode", "zeros", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any("skipped (another target)" in ln for ln in lines), proc.stderr
    for ln in lines:  # one line per warning, not Python's "file:line: Category" + source
        assert ln.startswith(("warning: tuning records:", "tuning records:")), proc.stderr
    assert sum("without a record" in ln for ln in lines) == 1  # the summary is said once
