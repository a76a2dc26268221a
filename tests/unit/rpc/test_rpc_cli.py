"""``xtvm run --rpc`` and ``xtvm rpc server`` on the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xtvm.runtime
from xtvm.cli.main import main


def test_run_rpc_prints_and_saves_the_local_outputs(server, tiny_library, tmp_path, capsys):
    rng = np.random.default_rng(5)
    feeds = {k: rng.standard_normal((2, 8)).astype(np.float32) for k in ("x", "w")}
    np.savez(tmp_path / "in.npz", **feeds)
    argv = ["run", str(tiny_library), "--rpc", f"127.0.0.1:{server.port}", "--inputs",
            str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "out.npz"), "--print-time",
            "--repeat", "3"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"running on 127.0.0.1:{server.port}" in out
    assert "y: float32[2, 8]" in out and "Execution time summary over 3 runs" in out
    with np.load(tmp_path / "out.npz") as got:
        np.testing.assert_array_equal(got["y"], xtvm.runtime.load(tiny_library).run(feeds)[0])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--rpc", "127.0.0.1:1"], "cannot connect"),
        (["--rpc", "nohost"], None),  # parsed as port 9090; connection refused or unresolved
        (["--rpc", "host:port"], "bad RPC address"),
    ],
)
def test_run_rpc_errors_are_one_line(tiny_library, capsys, argv, message):
    assert main(["run", str(tiny_library), *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    if message:
        assert message in err


def test_run_rpc_compiles_an_onnx_model_for_the_server(server, tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])
    nodes = [helper.make_node("Exp", ["x"], ["e"]), helper.make_node("Add", ["e", "x"], ["y"])]
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)]
    )
    onnx.save(model, tmp_path / "m.onnx")
    feed = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    np.savez(tmp_path / "in.npz", x=feed)
    argv = ["run", str(tmp_path / "m.onnx"), "--rpc", f"127.0.0.1:{server.port}",
            "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "out.npz")]  # fmt: skip
    assert main(argv) == 0
    assert "running on" in capsys.readouterr().out
    with np.load(tmp_path / "out.npz") as got:
        np.testing.assert_allclose(got["y"], np.exp(feed) + feed, rtol=1e-5)
    # per-kernel times on the server (the model is built with profiling for it)
    assert main([*argv, "--profile", "--repeat", "3"]) == 0
    out = capsys.readouterr().out
    assert "Profile over 3 runs" in out and "(outside kernels)" in out


def test_run_rpc_profile_needs_a_profiling_library(server, tiny_library, capsys):
    assert main(["run", str(tiny_library), "--rpc", f"127.0.0.1:{server.port}", "--profile"]) == 1
    assert "compiled without profiling" in capsys.readouterr().err


def test_server_refuses_a_public_address_without_a_key():
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", "rpc", "server", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: refusing to bind 0.0.0.0")


def test_tune_rpc_unreachable_server_is_one_line(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])  # fmt: skip
    onnx.save(helper.make_model(graph), tmp_path / "m.onnx")
    argv = [
        "tune",
        str(tmp_path / "m.onnx"),
        "-o",
        str(tmp_path / "r.json"),
        "--rpc",
        "127.0.0.1:1",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot connect to the RPC server at 127.0.0.1:1")
    assert not (tmp_path / "r.json").exists()
