"""Half-precision casts and the float16/bfloat16 runtime boundary.

Casts must round to nearest even exactly as numpy (float16) and ml_dtypes (bfloat16) do,
subnormals, infinities and NaNs included; float64 -> float16 must not round twice.
"""

from __future__ import annotations

import functools

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from onnx import TensorProto, helper

import xtvm
from xtvm.runtime import dtypes

# overflow to inf and NaN casts are the point of these tests
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
N = 64
BF16 = np.dtype(ml_dtypes.bfloat16)
T = TensorProto


@functools.cache
def _cast(src: int, dst: int, n: int = N, opt_level: int = 3):
    g = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=dst)],
        "g",
        [helper.make_tensor_value_info("x", src, [n])],
        [helper.make_tensor_value_info("y", dst, [n])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    return xtvm.build(xtvm.from_onnx(m), opt_level=opt_level)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    """Bit-identical, except that any NaN matches any NaN."""
    assert got.dtype == want.dtype
    g, w = got.astype(np.float64), want.astype(np.float64)
    nan = np.isnan(w)
    np.testing.assert_array_equal(np.isnan(g), nan)
    bits = f"u{want.dtype.itemsize}"
    np.testing.assert_array_equal(got.view(bits)[~nan], want.view(bits)[~nan])


FLOAT32S = arrays(np.float32, N, elements=st.floats(width=32, allow_nan=True, allow_infinity=True))


@settings(max_examples=60, deadline=None)
@given(FLOAT32S)
def test_float_to_float16_rounds_like_numpy(x):
    _same(_cast(T.FLOAT, T.FLOAT16).run({"x": x})[0], x.astype(np.float16))


@settings(max_examples=60, deadline=None)
@given(FLOAT32S)
def test_float_to_bfloat16_rounds_like_ml_dtypes(x):
    _same(_cast(T.FLOAT, T.BFLOAT16).run({"x": x})[0], x.astype(BF16))


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, N, elements=st.floats(width=64, min_value=-7e4, max_value=7e4)))
def test_double_to_float16_rounds_like_numpy(x):
    _same(_cast(T.DOUBLE, T.FLOAT16).run({"x": x})[0], x.astype(np.float16))


def test_double_to_float16_does_not_round_twice():
    # float64 -> float32 would land on a float16 tie and then round to even
    x = np.resize([1 + 2**-11 + 2**-40, -(1 + 2**-11 + 2**-40), 3 * 2**-25 + 2**-60], N)
    got = _cast(T.DOUBLE, T.FLOAT16).run({"x": x})[0]
    _same(got, x.astype(np.float16))
    assert got[0] != x.astype(np.float32).astype(np.float16)[0]


def test_half_widening_is_exact():
    every = np.arange(2**16, dtype=np.uint16)
    lib = _cast(T.FLOAT16, T.FLOAT, 2**16)
    _same(lib.run({"x": every.view(np.float16)})[0], every.view(np.float16).astype(np.float32))
    lib = _cast(T.BFLOAT16, T.FLOAT, 2**16)
    _same(lib.run({"x": every.view(BF16)})[0], every.view(BF16).astype(np.float32))


@pytest.mark.parametrize(
    "src,dst,x",
    [
        (T.INT64, T.FLOAT16, np.arange(-70000, 70000, 2187)[:N]),
        (T.FLOAT16, T.INT32, (np.linspace(-3000, 3000, N)).astype(np.float16)),
        (T.FLOAT16, T.BFLOAT16, np.linspace(-1e4, 1e4, N).astype(np.float16)),
        (T.BFLOAT16, T.FLOAT16, np.geomspace(1e-9, 1e6, N).astype(BF16)),
        (T.FLOAT16, T.DOUBLE, np.linspace(-1, 1, N).astype(np.float16)),
    ],
)
def test_other_casts(src, dst, x):
    want = x.astype(helper.tensor_dtype_to_np_dtype(dst))
    _same(_cast(src, dst).run({"x": x})[0], want)


def test_unoptimized_build_casts_too():
    x = np.linspace(-70000, 70000, N).astype(np.float32)
    _same(_cast(T.FLOAT, T.FLOAT16, N, 0).run({"x": x})[0], x.astype(np.float16))


def test_bfloat16_boundary_takes_uint16_bits():
    lib = _cast(T.BFLOAT16, T.FLOAT)
    assert lib.input_info[0]["dtype"] == "bfloat16"
    x = np.linspace(-2, 2, N).astype(BF16)
    np.testing.assert_array_equal(lib.run({"x": x.view(np.uint16)})[0], x.astype(np.float32))
    with pytest.raises(xtvm.errors.InputError, match="bfloat16"):
        lib.run({"x": np.zeros(N, np.float32)})


def test_runtime_without_ml_dtypes_uses_uint16(monkeypatch):
    monkeypatch.setattr(dtypes, "_bfloat16", lambda: None)
    assert dtypes.storage_dtype("bfloat16") == np.uint16
    assert dtypes.storage_dtype("float16") == np.float16
    assert dtypes.dtype_name("bfloat16") == "bfloat16"


def test_exported_library_runs_half_types_without_the_compiler(tmp_path):
    """The deployed runtime (ctypes + numpy, ml_dtypes if present) passes half arrays."""
    import subprocess
    import sys

    lib = _cast(T.FLOAT16, T.BFLOAT16)
    path = tmp_path / "m.so"
    lib.export_library(str(path))
    code = (
        "import sys, numpy as np, xtvm.runtime as rt\n"
        f"m = rt.load({str(path)!r})\n"
        f"(y,) = m.run({{'x': np.full({N}, 3.14159, np.float16)}})\n"
        "assert m.output_info[0]['dtype'] == 'bfloat16', m.output_info\n"
        "assert y.dtype.name == 'bfloat16' and float(y[0]) == 3.140625, y\n"
        "assert not [k for k in sys.modules if k.startswith(('xdsl', 'llvmlite'))]\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_bfloat16_input_from_an_npz_file(tmp_path):
    """np.savez stores ml_dtypes arrays as raw 2-byte records (|V2): accepted as bfloat16."""
    x = np.linspace(-3, 3, N).astype(BF16)
    np.savez(tmp_path / "in.npz", x=x)
    loaded = np.load(tmp_path / "in.npz")["x"]
    assert loaded.dtype.kind == "V"
    got = _cast(T.BFLOAT16, T.FLOAT).run({"x": loaded})[0]
    np.testing.assert_array_equal(got, x.astype(np.float32))
