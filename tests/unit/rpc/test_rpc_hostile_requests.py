"""Well-framed requests with bad fields (unknown commands, wrong types, shapes and dtypes
that do not match the payload or the model, absurd numbers): each gets a one-line typed
error reply, and the same session then still runs its model correctly."""

from __future__ import annotations

import numpy as np
import pytest
from rpc_helpers import GOOD, OK_ARRAYS, array_specs, exchange, frame_bytes, still_runs, two_inputs

import xtvm.runtime
from xtvm import errors
from xtvm.rpc.protocol import decode_arrays

X_BYTES = GOOD.tobytes()
TWO = X_BYTES * 2

BAD_REQUESTS: dict[str, tuple[dict, bytes]] = {
    "no-cmd": ({}, b""),
    "cmd-null": ({"cmd": None}, b""),
    "cmd-int": ({"cmd": 7}, b""),
    "cmd-list": ({"cmd": ["info"]}, b""),
    "cmd-uppercase": ({"cmd": "INFO"}, b""),
    "cmd-exec": ({"cmd": "exec", "code": "import os"}, b""),
    "cmd-eval": ({"cmd": "eval", "expr": "1+1"}, b""),
    "cmd-load-path": ({"cmd": "load", "path": "/lib/x86_64-linux-gnu/libc.so.6"}, b""),
    "cmd-shell": ({"cmd": "shell", "argv": ["sh", "-c", "id"]}, b""),
    "cmd-dunder": ({"cmd": "__init__"}, b""),
    "cmd-very-long": ({"cmd": "x" * 10000}, b""),
    "cmd-auth-again": ({"cmd": "auth", "protocol": 1}, b""),
    "upload-empty": ({"cmd": "upload", "name": "m.so"}, b""),
    "upload-name-int": ({"cmd": "upload", "name": 5}, b"\x7fELF"),
    "upload-name-list": ({"cmd": "upload", "name": ["a"]}, b"\x7fELF"),
    "upload-name-dict": ({"cmd": "upload", "name": {"path": "/etc"}}, b"\x7fELF"),
    "upload-name-too-long": ({"cmd": "upload", "name": "a" * 257}, b"\x7fELF"),
    "run-no-module": ({"cmd": "run", "arrays": OK_ARRAYS}, TWO),
    "run-module-string": ({"cmd": "run", "module": "1", "arrays": OK_ARRAYS}, TWO),
    "run-module-float": ({"cmd": "run", "module": 1.0, "arrays": OK_ARRAYS}, TWO),
    "run-module-bool": ({"cmd": "run", "module": True, "arrays": OK_ARRAYS}, TWO),
    "run-module-negative": ({"cmd": "run", "module": -1, "arrays": OK_ARRAYS}, TWO),
    "run-module-unknown": ({"cmd": "run", "module": 999, "arrays": OK_ARRAYS}, TWO),
    "run-module-huge": ({"cmd": "run", "module": 10**30, "arrays": OK_ARRAYS}, TWO),
    "run-arrays-dict": ({"cmd": "run", "module": 1, "arrays": {"x": 1}}, TWO),
    "run-arrays-string": ({"cmd": "run", "module": 1, "arrays": "float32"}, TWO),
    "run-arrays-of-ints": ({"cmd": "run", "module": 1, "arrays": [1, 2]}, TWO),
    "run-no-arrays": ({"cmd": "run", "module": 1}, b""),
    "run-too-many-arrays": (
        {"cmd": "run", "module": 1, "arrays": array_specs(*[("uint8", [0], None)] * 1100)},
        b"",
    ),
    "run-payload-short": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, TWO[:-1]),
    "run-payload-long": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, TWO + b"\0"),
    "run-payload-none": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, b""),
    "run-dtype-object": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("object", [2, 8], "x"))},
        X_BYTES,
    ),
    "run-dtype-pickle": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("O", [1], "x"))},
        b"\0" * 8,
    ),
    "run-dtype-struct": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("[('a','<i4')]", [1], "x"))},
        b"\0" * 4,
    ),
    "run-dtype-bigendian": (
        {"cmd": "run", "module": 1, "arrays": array_specs((">f4", [2, 8], "x"))},
        X_BYTES,
    ),
    "run-dtype-int": ({"cmd": "run", "module": 1, "arrays": [{"dtype": 5, "shape": [1]}]}, b""),
    "run-dtype-missing": ({"cmd": "run", "module": 1, "arrays": [{"shape": [16]}]}, X_BYTES),
    "run-shape-negative": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", [-2, -8], "x"))},
        X_BYTES,
    ),
    "run-shape-string": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", "2,8", "x"))},
        X_BYTES,
    ),
    "run-shape-floats": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", [2.0, 8.0], "x"))},
        X_BYTES,
    ),
    "run-shape-bools": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", [True, True], "x"))},
        X_BYTES,
    ),
    "run-shape-null": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", None, "x"))},
        X_BYTES,
    ),
    "run-shape-overflow": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", [2**61, 2**61], "x"))},
        X_BYTES,
    ),
    "run-shape-huge-ints": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", [10**40], "x"))},
        X_BYTES,
    ),
    "run-ndim-33": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("uint8", [1] * 33, "x"))},
        b"\0",
    ),
    "run-name-int": (
        {"cmd": "run", "module": 1, "arrays": array_specs(("float32", [2, 8], 7))},
        X_BYTES,
    ),
    "run-unknown-input": (
        {"cmd": "run", "module": 1, "arrays": array_specs(*[("float32", [2, 8], n) for n in "xz"])},
        TWO,
    ),
    "run-missing-input": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS[:1]}, X_BYTES),
    "run-duplicate-names": (
        {"cmd": "run", "module": 1, "arrays": array_specs(*[("float32", [2, 8], "x")] * 2)},
        TWO,
    ),
    "run-mixed-naming": (
        {
            "cmd": "run",
            "module": 1,
            "arrays": array_specs(("float32", [2, 8], "x"), ("float32", [2, 8], None)),
        },
        TWO,
    ),
    "run-wrong-dtype": (
        {"cmd": "run", "module": 1, "arrays": array_specs(*[("int32", [2, 8], n) for n in "xw"])},
        TWO,
    ),
    "run-wrong-shape": (
        {"cmd": "run", "module": 1, "arrays": array_specs(*[("float32", [4, 4], n) for n in "xw"])},
        TWO,
    ),
    "run-too-many-positional": (
        {"cmd": "run", "module": 1, "arrays": array_specs(*[("float32", [2, 8], None)] * 3)},
        TWO + X_BYTES,
    ),
    "run-threads-negative": (
        {"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "num_threads": -1},
        TWO,
    ),
    "run-threads-huge": (
        {"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "num_threads": 10**9},
        TWO,
    ),
    "run-timeout-zero": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "timeout": 0}, TWO),
    "run-timeout-negative": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "timeout": -5}, TWO),
    "run-timeout-string": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "timeout": "1"}, TWO),
    "run-timeout-nan": (
        {"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "timeout": float("nan")},
        TWO,
    ),
    "run-timeout-beyond-server": (
        {"cmd": "run", "module": 1, "arrays": OK_ARRAYS, "timeout": 1e9},
        TWO,
    ),
    "time-repeat-zero": ({"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "repeat": 0}, TWO),
    "time-repeat-negative": ({"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "repeat": -1}, TWO),
    "time-repeat-huge": ({"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "repeat": 10**12}, TWO),
    "time-number-string": ({"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "number": "10"}, TWO),
    "time-number-huge": ({"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "number": 10**12}, TWO),
    "time-warmup-float": ({"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "warmup": 1.5}, TWO),
    "time-min-ms-nan": (
        {"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "min_repeat_ms": float("nan")},
        TWO,
    ),
    "time-min-ms-inf": (
        {"cmd": "time", "module": 1, "arrays": OK_ARRAYS, "min_repeat_ms": float("inf")},
        TWO,
    ),
    "profile-without-counters": ({"cmd": "profile", "module": 1, "arrays": OK_ARRAYS}, TWO),
    "profile-repeat-zero": (
        {"cmd": "profile", "module": 1, "arrays": OK_ARRAYS, "repeat": 0},
        TWO,
    ),
    "free-unknown": ({"cmd": "free", "module": 12345}, b""),
    "free-string": ({"cmd": "free", "module": "all"}, b""),
}


@pytest.mark.parametrize("header,payload", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request(live, header, payload):
    reply = exchange(live, frame_bytes(header, payload))
    assert reply is not None, "the server hung up on a well-framed request"
    assert reply.header["status"] == "error"
    kind = getattr(errors, reply.header["error"], None)  # a class of xtvm.errors, by name
    assert isinstance(kind, type) and issubclass(kind, errors.XTVMError)
    assert isinstance(reply.header["message"], str) and "\n" not in reply.header["message"]
    assert not reply.payload
    still_runs(live)


def test_session_survives_bad_requests(live, tiny_library):
    """After the cases the shared session gives the local result bit for bit."""
    w = np.full_like(GOOD, 0.5)
    request = frame_bytes({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, two_inputs(w))
    reply = exchange(live, request)
    assert reply is not None and reply.header["status"] == "ok"
    _names, (got,) = decode_arrays(reply.header["arrays"], reply.payload)
    np.testing.assert_array_equal(got, xtvm.runtime.load(tiny_library).run([GOOD, w])[0])
