"""The C runtime's metadata parser and checks: malformed or hostile metadata is refused with
an error (never a crash), valid metadata is described exactly as the Python runtime sees it."""

from __future__ import annotations

import ctypes
import json
import random
import tarfile
from typing import Any

import pytest
from c_api_types import ENTRY, Bundle

from xtvm.runtime.cpu_features import host_features

OK, INVALID, NOT_FOUND, NOT_XTVM, BAD_METADATA, UNSUPPORTED_CPU, RUN_FAILED = 0, 1, 2, 3, 4, 5, 7

VALID = {
    "inputs": [{"name": "x", "dtype": "float32", "shape": [2, 3]}],
    "outputs": [
        {"name": "y", "dtype": "float32", "shape": [2, 4]},
        {"name": "xtvm.count:1:y", "dtype": "int64", "shape": []},
        {"name": "z", "dtype": "int64", "shape": [5]},
    ],
    "workspace_bytes": 128,
    "xtvm_version": "0.1",
}


def _noop(args: Any, ws: Any) -> int:
    return 0


class Attached:
    """A handle from xtvm_model_attach plus the ctypes objects it points into."""

    def __init__(self, lib: ctypes.CDLL, metadata: bytes, entry=_noop, threads=None, abi=1):
        self.lib = lib
        self.entry = ENTRY(entry)
        self.text = ctypes.create_string_buffer(metadata)
        self.threads = threads
        self.bundle = Bundle(abi, b"t", self.entry, ctypes.cast(self.text, ctypes.c_char_p), 0)
        if threads is not None:
            self.bundle.num_threads = ctypes.pointer(threads)
        self.handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(256)
        self.rc = lib.xtvm_model_attach(
            ctypes.byref(self.bundle), ctypes.byref(self.handle), err, 256
        )
        self.err = err.value.decode()

    def __enter__(self) -> Attached:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.lib.xtvm_model_free(self.handle)

    @property
    def error(self) -> str:
        return self.lib.xtvm_model_error(self.handle).decode()


def _attach(lib: ctypes.CDLL, meta: Any, **kw: Any) -> Attached:
    text = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return Attached(lib, text, **kw)


MALFORMED = [
    b"",
    b" ",
    b"{",
    b"[]",
    b"null",
    b'{"inputs": [], "outputs": []',
    b'{"inputs": [], "outputs": []}}',
    b'{"inputs": [], "outputs": [],}',
    b'{"inputs": [] "outputs": []}',
    b'{inputs: [], "outputs": []}',
    b"{'inputs': [], 'outputs': []}",
    b'{"inputs": [], "inputs": [], "outputs": []}',
    b'{"inputs": []}',
    b'{"outputs": []}',
    b'{"inputs": {}, "outputs": []}',
    b'{"inputs": [1], "outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float32"}], "outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float99", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": 7, "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float32", "shape": [-1]}], "outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float32", "shape": [1.5]}], "outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float32", "shape": ["3"]}], "outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float32", "shape": [99999999999999999999]}], '
    b'"outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float64", "shape": [4294967296, 4294967296]}], '
    b'"outputs": []}',
    b'{"inputs": [{"name": "x", "dtype": "float32", "shape": [' + b"1," * 40 + b"1]}], "
    b'"outputs": []}',
    b'{"inputs": [], "outputs": [], "workspace_bytes": -5}',
    b'{"inputs": [], "outputs": [], "workspace_bytes": "big"}',
    b'{"inputs": [], "outputs": [], "workspace_bytes": 1e3}',
    b'{"inputs": [], "outputs": [], "target": "x86_64"}',
    b'{"inputs": [], "outputs": [], "target": {"features": 3}}',
    b'{"inputs": [], "outputs": [{"name": "xtvm.count:0:nope", "dtype": "int64", "shape": []}]}',
    b'{"inputs": [], "outputs": [{"name": "y", "dtype": "float32", "shape": [3]}, '
    b'{"name": "xtvm.count:1:y", "dtype": "int64", "shape": []}]}',
    b'{"inputs": [], "outputs": [{"name": "y", "dtype": "float32", "shape": [3]}, '
    b'{"name": "xtvm.count:0:y", "dtype": "float32", "shape": []}]}',
    b'{"inputs": [], "outputs": [{"name": "y", "dtype": "float32", "shape": [3]}, '
    b'{"name": "xtvm.count:x:y", "dtype": "int64", "shape": []}]}',
    b'{"inputs": [{"name": "\\ud800", "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": "\\u0000", "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": "\\q", "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": "\xff", "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": "\xc0\xaf", "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [{"name": "a\nb", "dtype": "float32", "shape": []}], "outputs": []}',
    b'{"inputs": [], "outputs": [], "x": 01}',
    b'{"inputs": [], "outputs": [], "x": -}',
    b'{"inputs": [], "outputs": [], "x": 1.}',
    b'{"inputs": [], "outputs": [], "x": tru}',
    b'{"inputs": [], "outputs": [], "x": "unterminated}',
    b"[" * 100 + b"]" * 100,
    b'{"a":' * 40 + b"1" + b"}" * 40,
]


@pytest.mark.parametrize("text", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_metadata_is_refused(c_runtime: ctypes.CDLL, text: bytes) -> None:
    with _attach(c_runtime, text) as m:
        assert m.rc == BAD_METADATA, m.err
        assert m.err.startswith("corrupt xtvm_metadata: ") and "\n" not in m.err
        assert not m.handle


def test_mutated_metadata_never_crashes(c_runtime: ctypes.CDLL) -> None:
    """Truncations and byte flips of valid metadata: refused or accepted, never a crash."""
    text = json.dumps(VALID).encode()
    rng = random.Random(0)
    outcomes = set()
    for k in range(400):
        data = bytearray(text)
        if k % 2:
            data = data[: rng.randrange(1, len(data))]
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        with _attach(c_runtime, bytes(data).replace(b"\0", b" ")) as m:
            assert m.rc in (OK, BAD_METADATA), m.err
            outcomes.add(m.rc)
    assert outcomes == {OK, BAD_METADATA}


def test_valid_metadata_is_described(c_runtime: ctypes.CDLL) -> None:
    lib = c_runtime
    with _attach(lib, VALID) as m:
        assert m.rc == OK, m.err
        assert lib.xtvm_model_num_inputs(m.handle) == 1
        assert lib.xtvm_model_num_outputs(m.handle) == 2  # the count output is hidden
        assert lib.xtvm_model_workspace_bytes(m.handle) == 128
        x = lib.xtvm_model_input_info(m.handle, 0).contents
        assert (x.name, x.dtype, x.dtype_bytes, x.ndim, x.nbytes) == (b"x", b"float32", 4, 2, 24)
        assert [x.shape[i] for i in range(2)] == [2, 3] and x.dynamic_axis == -1
        y = lib.xtvm_model_output_info(m.handle, 0).contents
        assert (y.name, y.dynamic_axis, y.nbytes) == (b"y", 1, 32)
        z = lib.xtvm_model_output_info(m.handle, 1).contents
        assert (z.name, z.dtype, z.nbytes) == (b"z", b"int64", 40)
        assert not lib.xtvm_model_output_info(m.handle, 2)
        assert not lib.xtvm_model_input_info(m.handle, -1)
        assert lib.xtvm_model_find_output(m.handle, b"z") == 1
        assert lib.xtvm_model_find_output(m.handle, b"xtvm.count:1:y") == -1
        assert lib.xtvm_model_find_input(m.handle, b"nope") == -1


def test_escapes_and_unicode_names(c_runtime: ctypes.CDLL) -> None:
    meta = {"inputs": [{"name": 'a"\\/\u00e9\U0001f600', "dtype": "bool", "shape": []}]}
    meta["outputs"] = []
    with _attach(c_runtime, json.dumps(meta, ensure_ascii=True).encode()) as m:
        assert m.rc == OK, m.err
        info = c_runtime.xtvm_model_input_info(m.handle, 0).contents
        assert info.name.decode() == meta["inputs"][0]["name"] and info.nbytes == 1


def test_bundle_abi_version_is_checked(c_runtime: ctypes.CDLL) -> None:
    with _attach(c_runtime, VALID, abi=99) as m:
        assert m.rc == NOT_XTVM and "ABI version 99" in m.err


def test_run_checks_buffers_and_compacts_dynamic_outputs(c_runtime: ctypes.CDLL) -> None:
    """A stand-in entry writes y = [[0..3], [4..7]] with a real length of 3 along axis 1:
    the runtime reports shape [2, 3] and compacts the rows to [[0, 1, 2], [4, 5, 6]]."""
    lib = c_runtime
    seen: list[float] = []

    def entry(args: Any, ws: Any) -> int:
        x = ctypes.cast(args[0], ctypes.POINTER(ctypes.c_float))
        seen.append(x[5])
        y = ctypes.cast(args[1], ctypes.POINTER(ctypes.c_float))
        for k in range(8):
            y[k] = float(k)
        ctypes.cast(args[2], ctypes.POINTER(ctypes.c_int64))[0] = 3
        z = ctypes.cast(args[3], ctypes.POINTER(ctypes.c_int64))
        for k in range(5):
            z[k] = 10 + k
        assert ws % 64 == 0
        return 0

    with _attach(lib, VALID, entry=entry) as m:
        h = m.handle
        assert lib.xtvm_model_run(h) == INVALID and "input 'x' is not set" in m.error
        x = (ctypes.c_float * 6)(*range(6))
        assert lib.xtvm_model_set_input(h, 0, x, 20) == INVALID and "expected 24 bytes" in m.error
        assert lib.xtvm_model_set_input(h, 1, x, 24) == INVALID and "out of range" in m.error
        assert lib.xtvm_model_set_input(h, 0, None, 24) == INVALID
        assert lib.xtvm_model_set_input(h, 0, x, 24) == OK
        small = (ctypes.c_int64 * 4)()
        assert lib.xtvm_model_set_output(h, 1, small, 32) == INVALID
        z = (ctypes.c_int64 * 5)()
        assert lib.xtvm_model_set_output(h, 1, z, 40) == OK
        assert not lib.xtvm_model_output_data(h, 0)  # before a run
        assert lib.xtvm_model_run(h) == OK, m.error
        assert seen == [5.0]
        shape = (ctypes.c_int64 * 2)()
        assert lib.xtvm_model_output_shape(h, 0, shape, 1) == -1  # too small
        assert lib.xtvm_model_output_shape(h, 0, shape, 2) == 2 and list(shape) == [2, 3]
        assert lib.xtvm_model_output_nbytes(h, 0) == 24
        y = ctypes.cast(lib.xtvm_model_output_data(h, 0), ctypes.POINTER(ctypes.c_float))
        assert [y[k] for k in range(6)] == [0, 1, 2, 4, 5, 6]
        assert lib.xtvm_model_output_data(h, 1) == ctypes.addressof(z)
        assert list(z) == [10, 11, 12, 13, 14]


@pytest.mark.parametrize("count", [-1, 5])
def test_count_outside_the_bound_is_an_error(c_runtime: ctypes.CDLL, count: int) -> None:
    def entry(args: Any, ws: Any) -> int:
        ctypes.cast(args[2], ctypes.POINTER(ctypes.c_int64))[0] = count
        return 0

    with _attach(c_runtime, VALID, entry=entry) as m:
        x = (ctypes.c_float * 6)()
        assert c_runtime.xtvm_model_set_input(m.handle, 0, x, 24) == OK
        assert c_runtime.xtvm_model_run(m.handle) == RUN_FAILED
        assert f"real length {count} outside [0, 4]" in m.error


def test_model_status_becomes_an_error(c_runtime: ctypes.CDLL) -> None:
    meta = {"inputs": [], "outputs": []}
    with _attach(c_runtime, meta, entry=lambda a, w: 2) as m:
        assert c_runtime.xtvm_model_run(m.handle) == RUN_FAILED and "If branch" in m.error
    with _attach(c_runtime, meta, entry=lambda a, w: 9) as m:
        assert c_runtime.xtvm_model_run(m.handle) == RUN_FAILED and "status 9" in m.error


def test_thread_count_is_the_librarys(c_runtime: ctypes.CDLL, monkeypatch) -> None:
    threads = ctypes.c_int32(0)
    monkeypatch.setenv("XTVM_NUM_THREADS", "3")
    with _attach(c_runtime, VALID, threads=threads) as m:
        assert threads.value == 3 and c_runtime.xtvm_model_num_threads(m.handle) == 3
        assert c_runtime.xtvm_model_set_num_threads(m.handle, 2) == OK and threads.value == 2
        assert c_runtime.xtvm_model_set_num_threads(m.handle, -1) == INVALID
    monkeypatch.setenv("XTVM_NUM_THREADS", "two")
    threads.value = 0
    with _attach(c_runtime, VALID, threads=threads) as m:
        assert m.rc == INVALID and "XTVM_NUM_THREADS" in m.err


def _target(triple: str, features: str) -> dict[str, Any]:
    return {**VALID, "target": {"triple": triple, "cpu": "test", "features": features}}


def test_foreign_architecture_is_refused(c_runtime: ctypes.CDLL) -> None:
    import platform

    if platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("architecture names checked on x86_64 and aarch64 hosts")
    other = "riscv64-unknown-linux-gnu"
    with _attach(c_runtime, _target(other, "+v")) as m:
        assert m.rc == UNSUPPORTED_CPU and "built for riscv64" in m.err


@pytest.mark.skipif(
    __import__("platform").machine() != "x86_64", reason="CPU features are checked on x86"
)
def test_missing_x86_features_are_refused(c_runtime: ctypes.CDLL) -> None:
    have = host_features("x86_64") or frozenset()
    rare = [f for f in ("avx5124fmaps", "avx512vp2intersect", "avx512fp16") if f not in have]
    if not rare:
        pytest.skip("this CPU has every rare feature the test could ask for")
    with _attach(c_runtime, _target("x86_64-unknown-linux-gnu", f"+sse2,+{rare[0]},-avx")) as m:
        assert m.rc == UNSUPPORTED_CPU and rare[0] in m.err and "lacks" in m.err
    usable = ",".join(f"+{f}" for f in ("sse2", "sse4.2", "avx2") if f in have or f == "sse2")
    with _attach(c_runtime, _target("x86_64-unknown-linux-gnu", usable + ",+madeup")) as m:
        assert m.rc == OK, m.err


def test_open_errors(c_runtime: ctypes.CDLL, tmp_path) -> None:
    lib = c_runtime

    def open_(path: str) -> tuple[int, str]:
        handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(256)
        rc = lib.xtvm_model_open(path.encode(), ctypes.byref(handle), err, 256)
        assert not handle
        return rc, err.value.decode()

    rc, err = open_(str(tmp_path / "missing.so"))
    assert rc == NOT_FOUND and "missing.so" in err
    (tmp_path / "text.so").write_text("not a library")
    rc, err = open_(str(tmp_path / "text.so"))
    assert rc == NOT_XTVM and "cannot load" in err
    with tarfile.open(tmp_path / "model.tar", "w") as tar:
        tar.add(tmp_path / "text.so", arcname="mod.so")
    rc, err = open_(str(tmp_path / "model.tar"))
    assert rc == NOT_XTVM and "is a package (tar)" in err
    rc, err = open_(lib._name)  # a real library, but not a model
    assert rc == NOT_XTVM and "not an xtvm library" in err
    assert lib.xtvm_status_string(UNSUPPORTED_CPU) == b"unsupported CPU"


@pytest.mark.skipif(
    __import__("platform").machine() != "x86_64", reason="CPU features are checked on x86"
)
def test_cpu_name_implies_features(c_runtime: ctypes.CDLL) -> None:
    """-mcpu=skylake-avx512 with no feature list needs AVX-512 unless "-avx512f" (or a
    feature it extends) turns it off."""
    have = host_features("x86_64") or frozenset()
    if "avx512f" in have:
        pytest.skip("this CPU has AVX-512")
    meta = {**VALID, "target": {"triple": "x86_64-pc-linux-gnu", "cpu": "skylake-avx512"}}
    with _attach(c_runtime, meta) as m:
        assert m.rc == UNSUPPORTED_CPU and "avx512f" in m.err and "skylake-avx512" in m.err
    for off in ("-avx512f", "-avx2", "-avx"):
        meta["target"]["features"] = off
        with _attach(c_runtime, meta) as m:
            assert "avx512" not in m.err, (off, m.err)
