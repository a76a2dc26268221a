"""Shared by the C API and bundle tests: small models, building examples/c_api/run_model.c,
reproducing its generated inputs and reading the outputs it writes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from xtvm.backends.llvm.toolchain import c_compiler
from xtvm.runtime import c_runtime_dir, c_runtime_sources

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "c_api" / "run_model.c"
MASK64 = (1 << 64) - 1


def require_cc() -> str:
    """The system C compiler, or skip the test saying what to install."""
    cc = c_compiler()
    if cc is None:
        pytest.skip("no C compiler: install gcc (Debian: apt-get install gcc) or set $CC")
    return cc


def compile_c(cmd: list[str]) -> None:
    """Run a C compile/link command; fail the test with the compiler's message."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-3000:]}"


def build_example(out: Path, flags: list[str], libs: list[str]) -> Path:
    """run_model.c built with ``flags`` (defines, include folders) and linked with ``libs``."""
    cc = require_cc()
    compile_c(
        [cc, "-std=c99", "-O2", "-Wall", "-Werror", *flags, str(EXAMPLE), *libs, "-o", str(out)]
    )
    return out


def build_dynamic_example(out: Path) -> Path:
    """run_model.c with the C runtime's sources, for shared libraries (dlopen)."""
    return build_example(out, [f"-I{c_runtime_dir()}"], [*c_runtime_sources(), "-ldl"])


def run_example(exe: Path, args: list[str], ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def conv_model() -> onnx.ModelProto:
    """y = Relu(Conv(x)) flattened @ W + b + s: two inputs, conv, relu and matmul."""
    rng = np.random.default_rng(7)
    inits = {
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "m": rng.standard_normal((256, 10)).astype(np.float32) / 16,
        "b": rng.standard_normal((10,)).astype(np.float32),
        "shape": np.array([1, 256], np.int64),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "m"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["a"]),
        helper.make_node("Add", ["a", "s"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_relu_matmul",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 10]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def nonzero_model() -> onnx.ModelProto:
    """NonZero(x > 0): an int64 [2, n] output whose length n depends on the data (axis 1)."""
    graph = helper.make_graph(
        [
            helper.make_node("Greater", ["x", "zero"], ["g"]),
            helper.make_node("NonZero", ["g"], ["nz"]),
        ],
        "nonzero",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5])],
        [helper.make_tensor_value_info("nz", TensorProto.INT64, [2, None])],
        [numpy_helper.from_array(np.array(0, np.float32), "zero")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def example_inputs(infos: list[dict[str, Any]]) -> list[np.ndarray]:
    """The inputs run_model.c generates when given no files (its fill_input)."""
    out = []
    for index, info in enumerate(infos):
        x = index + 1
        bits = []
        for _ in range(int(np.prod(info["shape"], dtype=np.int64))):
            x = (x * 6364136223846793005 + 1442695040888963407) & MASK64
            bits.append(x >> 40)
        r = np.array(bits, np.uint32).reshape(info["shape"])
        if info["dtype"] == "float32":
            out.append(r.astype(np.float32) / np.float32(8388608.0) - np.float32(1.0))
        else:
            assert info["dtype"] in ("int64", "int32"), info
            out.append((r % 10).astype(info["dtype"]))
    return out


def write_inputs(folder: Path, arrays: list[np.ndarray]) -> list[str]:
    """Raw files of ``arrays`` as ``-i FILE`` arguments."""
    args = []
    for k, arr in enumerate(arrays):
        path = folder / f"input{k}.bin"
        np.ascontiguousarray(arr).tofile(path)
        args += ["-i", str(path)]
    return args


def read_outputs(folder: Path, expected: list[np.ndarray]) -> list[np.ndarray]:
    """The raw outputs run_model.c wrote, shaped like ``expected`` (the reference)."""
    got = []
    for k, want in enumerate(expected):
        data = np.fromfile(folder / f"output{k}.bin", dtype=want.dtype)
        assert data.size == want.size, f"output {k}: {data.size} values, want {want.size}"
        got.append(data.reshape(want.shape))
    return got


def printed_shapes(stdout: str) -> list[list[int]]:
    """The real shapes on run_model.c's "output K 'name' dtype [d0,d1]" lines."""
    shapes = []
    for line in stdout.splitlines():
        inside = line.split("[", 1)[1].split("]", 1)[0]
        shapes.append([int(d) for d in inside.split(",")] if inside else [])
    return shapes
