"""Runtime Module: input checking, output allocation, workspace, benchmark, hooks.

The entry point here is a Python ctypes callback following the xtvm_main ABI, so these
tests need neither LLVM nor a C compiler.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys

import numpy as np
import pytest

from xtvm.errors import InputError, XTVMError
from xtvm.runtime import Module, aligned_empty
from xtvm.runtime.module import ENTRY_TYPE

META = {
    "inputs": [
        {"name": "a", "shape": [2, 3], "dtype": "float32"},
        {"name": "b", "shape": [3], "dtype": "float32"},
    ],
    "outputs": [
        {"name": "sum", "shape": [2, 3], "dtype": "float32"},
        {"name": "ptrs", "shape": [4], "dtype": "int64"},
    ],
    "workspace_bytes": 100,
}


def _view(addr: int, shape: tuple[int, ...], ctype) -> np.ndarray:
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctype * count).from_address(addr)).reshape(shape)


class Fake:
    """A Python xtvm_main: sum = a + b (broadcast); ptrs = [ws, a, b, sum] addresses."""

    def __init__(self, status: int = 0):
        self.status = status
        self.entry = ENTRY_TYPE(self.main)

    def main(self, args: int, ws: int) -> int:
        ptrs = ctypes.cast(args, ctypes.POINTER(ctypes.c_void_p))
        a = _view(ptrs[0], (2, 3), ctypes.c_float)
        b = _view(ptrs[1], (3,), ctypes.c_float)
        _view(ptrs[2], (2, 3), ctypes.c_float)[...] = a + b
        _view(ptrs[3], (4,), ctypes.c_int64)[...] = [ws, ptrs[0], ptrs[1], ptrs[2]]
        return self.status


@pytest.fixture
def fake() -> Fake:
    return Fake()


@pytest.fixture
def mod(fake: Fake) -> Module:
    return Module(fake.entry, META, keepalive=fake)


A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.array([10, 20, 30], dtype=np.float32)


def test_run_dict_list_and_call(mod: Module):
    expected = A + B
    s, p = mod.run({"b": B, "a": A})
    np.testing.assert_array_equal(s, expected)
    np.testing.assert_array_equal(mod.run([A, B])[0], expected)
    s2, _ = mod(A, b=B)
    np.testing.assert_array_equal(s2, expected)
    # inputs are passed in place (no copy), the outputs and the workspace 64-byte aligned
    assert list(p[1:3]) == [A.ctypes.data, B.ctypes.data]
    assert p[0] % 64 == 0 and p[3] % 64 == 0


def test_single_output_call_returns_array():
    entry = ENTRY_TYPE(lambda args, ws: 0)
    meta = dict(META, outputs=META["outputs"][:1])
    m = Module(entry, meta, keepalive=entry)
    out = m(A, B)
    assert isinstance(out, np.ndarray) and out.shape == (2, 3)


def test_workspace_stable_and_aligned(mod: Module):
    first = mod(A, B)[1][0]
    second = mod(A, B)[1][0]
    assert first == second == mod.workspace_address
    assert first % 64 == 0


def test_outputs_fresh_per_call(mod: Module):
    s1, _ = mod(A, B)
    s2, _ = mod(A, B)
    assert s1.ctypes.data != s2.ctypes.data


def test_non_contiguous_inputs_are_copied(mod: Module):
    a = np.asfortranarray(A)
    b = np.array([10, 0, 20, 0, 30, 0], dtype=np.float32)[::2]
    s, _ = mod(a, b)
    np.testing.assert_array_equal(s, A + B)


def test_python_lists_take_the_declared_dtype(mod: Module):
    s, _ = mod(A.tolist(), [10, 20, 30])
    np.testing.assert_array_equal(s, A + B)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"a": A, "b": B, "c": B}, "unknown input 'c'"),
        ({"a": A}, "missing input 'b'"),
        ([A], "missing input 'b'"),
        ([A, B, B], "too many inputs"),
        ([A, B[:2]], r"input 'b': expected shape \[3\], got \[2\]"),
        ([A.astype(np.float64), B], "input 'a': expected float32, got float64"),
        ([A, object()], "input 'b'"),
        ([A, ["x", "y", "z"]], "input 'b'"),
        ("ab", "inputs must be"),
    ],
)
def test_input_errors(mod: Module, inputs, message):
    with pytest.raises(InputError, match=message) as err:
        mod.run(inputs)
    assert "\n" not in str(err.value)


def test_call_position_and_name_conflict(mod: Module):
    with pytest.raises(InputError, match="both by position and by name"):
        mod(A, a=A)


def test_nonzero_status_raises():
    fake = Fake(status=3)
    m = Module(fake.entry, META, keepalive=fake)
    with pytest.raises(XTVMError, match="status 3"):
        m(A, B)


def test_info_benchmark_repr(mod: Module):
    assert [i["name"] for i in mod.input_info] == ["a", "b"]
    assert mod.output_info[1] == {"name": "ptrs", "shape": (4,), "dtype": "int64"}
    stats = mod.benchmark([A, B], repeat=3, number=2)
    assert stats["min_ms"] <= stats["median_ms"] and stats["mean_ms"] > 0
    assert "a: float32[2, 3]" in repr(mod)


def test_export_hook(mod: Module, tmp_path):
    with pytest.raises(XTVMError, match="already exported"):
        mod.export_library(str(tmp_path / "x.so"))
    seen: list[str] = []
    mod._exporter = seen.append
    mod.export_library(str(tmp_path / "x.so"))
    assert seen == [str(tmp_path / "x.so")]


def test_metadata_as_json_string_and_int_entry(fake: Fake):
    import json

    addr = ctypes.cast(fake.entry, ctypes.c_void_p).value
    m = Module(addr, json.dumps(META), keepalive=fake)
    np.testing.assert_array_equal(m(A, B)[0], A + B)


def test_aligned_empty():
    for n in (1, 3, 17, 1000):
        arr = aligned_empty((n,), np.float32)
        assert arr.ctypes.data % 64 == 0 and arr.shape == (n,) and arr.flags.c_contiguous


def test_runtime_imports_no_compiler():
    code = (
        "import sys, xtvm.runtime; "
        "bad = [m for m in ('xdsl', 'llvmlite', 'xtvm.backends') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
