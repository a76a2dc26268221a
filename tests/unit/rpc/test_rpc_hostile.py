"""More than a hundred malformed or hostile requests: each gets an error reply or a closed
connection (never a hang, a crash of the server or a file outside its directory), and a
correct request still succeeds after them."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import KEY, SIGNATURE
from rpc_helpers import closed_after, exchange, frame_bytes, open_raw, open_session

import xtvm.runtime
from xtvm.rpc import auth, connect
from xtvm.rpc.protocol import MAGIC, PROTOCOL_VERSION, decode_arrays

GOOD = np.arange(16, dtype=np.float32).reshape(2, 8)


def _serves(port: int) -> None:
    """The server still answers a fresh, correct request."""
    with connect("127.0.0.1", port, timeout=10) as sess:
        assert sess.info()["triple"]


# -- before authentication: anything but a correct 'auth' frame ends the connection ----------

PRE_AUTH = {
    "nothing-then-close": b"",
    "http-get": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "tls-hello": bytes.fromhex("16030100a5010000a10303") + b"\0" * 64,
    "bad-magic": struct.pack("<4sII", b"XRP9", 2, 0) + b"{}",
    "truncated-prefix": MAGIC + b"\x01",
    "zero-header": struct.pack("<4sII", MAGIC, 0, 0),
    "huge-header-length": struct.pack("<4sII", MAGIC, 0xFFFFFFFF, 0),
    "huge-payload-length": struct.pack("<4sII", MAGIC, 2, 0xFFFFFFFF) + b"{}",
    "payload-in-auth": frame_bytes({"cmd": "auth", "protocol": 1}, b"x" * 10),
    "header-not-json": frame_bytes(None, raw_header=b"{cmd: auth}"),
    "header-not-utf8": frame_bytes(None, raw_header=b'{"cmd": "\xff\xfe"}'),
    "header-is-list": frame_bytes(["auth"]),
    "header-is-string": frame_bytes("auth"),
    "header-is-number": frame_bytes(1e308),
    "deep-json": frame_bytes(None, raw_header=b"[" * 4000),
    "cmd-before-auth": frame_bytes({"cmd": "info"}),
    "upload-before-auth": frame_bytes({"cmd": "upload", "name": "m.so"}, b"\x7fELF"),
    "auth-wrong-protocol": frame_bytes({"cmd": "auth", "protocol": 99}),
    "auth-protocol-as-string": frame_bytes({"cmd": "auth", "protocol": "1"}),
    "auth-no-protocol": frame_bytes({"cmd": "auth"}),
}


@pytest.mark.parametrize("data", PRE_AUTH.values(), ids=PRE_AUTH.keys())
def test_before_auth(server, data):
    sock, _hello = open_raw(server.port)
    with sock:
        with contextlib.suppress(OSError):
            if data:
                sock.sendall(data)
            else:
                sock.shutdown(socket.SHUT_WR)
        assert closed_after(sock)
    _serves(server.port)


# -- a server with a key: wrong proofs are refused ------------------------------------------


def _auth_cases(nonce: str) -> dict[str, dict]:
    good_nonce = auth.new_nonce()
    right = auth.client_proof(KEY, nonce)
    return {
        "no-mac": {"nonce": good_nonce},
        "wrong-mac": {"mac": auth.client_proof(b"guess", nonce), "nonce": good_nonce},
        "mac-of-other-nonce": {"mac": auth.client_proof(KEY, "0" * 64), "nonce": good_nonce},
        "mac-int": {"mac": 12345, "nonce": good_nonce},
        "mac-list": {"mac": [right], "nonce": good_nonce},
        "mac-null": {"mac": None, "nonce": good_nonce},
        "mac-unicode": {"mac": "\u00e9" * 64, "nonce": good_nonce},
        "mac-truncated": {"mac": right[:10], "nonce": good_nonce},
        "mac-uppercase": {"mac": right.upper(), "nonce": good_nonce},
        "right-mac-no-nonce": {"mac": right},
        "right-mac-short-nonce": {"mac": right, "nonce": "ab"},
        "right-mac-nonce-not-hex": {"mac": right, "nonce": "z" * 64},
        "the-key-itself": {"mac": KEY.decode(), "nonce": good_nonce},
    }


AUTH_CASES = list(_auth_cases("0" * 64))


@pytest.mark.parametrize("case", AUTH_CASES)
def test_wrong_key(keyed_server, case):
    sock, hello = open_raw(keyed_server.port)
    with sock:
        fields = _auth_cases(hello["nonce"])[case]
        reply = exchange(sock, frame_bytes({"cmd": "auth", "protocol": PROTOCOL_VERSION, **fields}))
        assert reply is not None and reply.header["status"] == "error"
        assert "authentication failed" in reply.header["message"]
        assert closed_after(sock)
    with connect("127.0.0.1", keyed_server.port, key=KEY) as sess:
        assert sess.info()


def test_replayed_proof(keyed_server):
    """A proof seen on one connection is worthless on the next (a new nonce each time)."""
    sock, hello = open_raw(keyed_server.port)
    proof = auth.client_proof(KEY, hello["nonce"])
    sock.close()
    sock, _ = open_raw(keyed_server.port)
    with sock:
        request = {"cmd": "auth", "protocol": 1, "mac": proof, "nonce": auth.new_nonce()}
        reply = exchange(sock, frame_bytes(request))
        assert reply is not None and reply.header["status"] == "error"


# -- after authentication: malformed frames end the connection with an error -----------------

BAD_FRAMES = {
    "bad-magic": struct.pack("<4sII", b"HTTP", 2, 0) + b"{}",
    "zero-header": struct.pack("<4sII", MAGIC, 0, 0),
    "header-over-limit": struct.pack("<4sII", MAGIC, (1 << 16) + 1, 0),
    "header-4gib": struct.pack("<4sII", MAGIC, 0xFFFFFFFF, 0),
    "payload-over-limit": struct.pack("<4sII", MAGIC, 2, (8 << 20) + 1) + b"{}",
    "payload-4gib": struct.pack("<4sII", MAGIC, 2, 0xFFFFFFFF) + b"{}",
    "header-not-json": frame_bytes(None, raw_header=b"\x00\x01\x02"),
    "header-not-utf8": frame_bytes(None, raw_header=b"\xc3\x28"),
    "header-is-list": frame_bytes([{"cmd": "info"}]),
    "header-is-null": frame_bytes(None),
    "deep-json": frame_bytes(None, raw_header=b"[" * 60000),
    "truncated-header-then-close": struct.pack("<4sII", MAGIC, 100, 0) + b'{"cmd"',
    "truncated-payload-then-close": struct.pack("<4sII", MAGIC, 2, 1000) + b"{}" + b"x" * 10,
}


@pytest.mark.parametrize("data", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_bad_frame(server, data):
    sock = open_session(server.port)
    with sock:
        with contextlib.suppress(OSError):  # the server may hang up before we finish
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        assert closed_after(sock)
    _serves(server.port)


STALLS = {
    "silent-before-auth": (False, [b""]),
    "prefix-then-silence": (True, [MAGIC[:3]]),
    "header-then-silence": (True, [struct.pack("<4sII", MAGIC, 1000, 0) + b'{"cmd": "in']),
    "byte-by-byte": (True, [bytes([b]) for b in frame_bytes({"cmd": "info", "pad": "x" * 40})]),
}


@pytest.mark.parametrize("authed,chunks", STALLS.values(), ids=STALLS.keys())
def test_slowloris(server, authed, chunks):
    """A frame must arrive whole within the frame timeout (1 s here), however it trickles."""
    sock = open_session(server.port) if authed else open_raw(server.port)[0]
    start = time.monotonic()
    with sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(0.1)
        except OSError:
            pass  # the server already hung up: what we wanted
        assert closed_after(sock, 5.0)
    assert time.monotonic() - start < 6.0
    _serves(server.port)


# -- well-framed requests with bad fields: an error reply, and the session goes on -----------


@pytest.fixture(scope="module")
def live(server, tiny_library):
    """One session with the tiny model uploaded (its id is 1), shared by the cases."""
    sock = open_session(server.port)
    reply = exchange(
        sock, frame_bytes({"cmd": "upload", "name": "tiny"}, tiny_library.read_bytes())
    )
    assert reply is not None and reply.header["status"] == "ok" and reply.header["module"] == 1
    yield sock
    sock.close()


def _arrays(*specs: tuple[str, list, str | None]) -> list[dict]:
    out = []
    for dtype, shape, name in specs:
        spec: dict = {"dtype": dtype, "shape": shape}
        if name is not None:
            spec["name"] = name
        out.append(spec)
    return out


X_BYTES = GOOD.tobytes()
TWO = X_BYTES * 2
OK_ARRAYS = _arrays(("float32", [2, 8], "x"), ("float32", [2, 8], "w"))
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
        {"cmd": "run", "module": 1, "arrays": _arrays(*[("uint8", [0], None)] * 1100)},
        b"",
    ),
    "run-payload-short": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, TWO[:-1]),
    "run-payload-long": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, TWO + b"\0"),
    "run-payload-none": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, b""),
    "run-dtype-object": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("object", [2, 8], "x"))},
        X_BYTES,
    ),
    "run-dtype-pickle": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("O", [1], "x"))},
        b"\0" * 8,
    ),
    "run-dtype-struct": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("[('a','<i4')]", [1], "x"))},
        b"\0" * 4,
    ),
    "run-dtype-bigendian": (
        {"cmd": "run", "module": 1, "arrays": _arrays((">f4", [2, 8], "x"))},
        X_BYTES,
    ),
    "run-dtype-int": ({"cmd": "run", "module": 1, "arrays": [{"dtype": 5, "shape": [1]}]}, b""),
    "run-dtype-missing": ({"cmd": "run", "module": 1, "arrays": [{"shape": [16]}]}, X_BYTES),
    "run-shape-negative": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", [-2, -8], "x"))},
        X_BYTES,
    ),
    "run-shape-string": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", "2,8", "x"))},
        X_BYTES,
    ),
    "run-shape-floats": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", [2.0, 8.0], "x"))},
        X_BYTES,
    ),
    "run-shape-bools": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", [True, True], "x"))},
        X_BYTES,
    ),
    "run-shape-null": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", None, "x"))},
        X_BYTES,
    ),
    "run-shape-overflow": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", [2**61, 2**61], "x"))},
        X_BYTES,
    ),
    "run-shape-huge-ints": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", [10**40], "x"))},
        X_BYTES,
    ),
    "run-ndim-33": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("uint8", [1] * 33, "x"))},
        b"\0",
    ),
    "run-name-int": (
        {"cmd": "run", "module": 1, "arrays": _arrays(("float32", [2, 8], 7))},
        X_BYTES,
    ),
    "run-unknown-input": (
        {"cmd": "run", "module": 1, "arrays": _arrays(*[("float32", [2, 8], n) for n in "xz"])},
        TWO,
    ),
    "run-missing-input": ({"cmd": "run", "module": 1, "arrays": OK_ARRAYS[:1]}, X_BYTES),
    "run-duplicate-names": (
        {"cmd": "run", "module": 1, "arrays": _arrays(*[("float32", [2, 8], "x")] * 2)},
        TWO,
    ),
    "run-mixed-naming": (
        {
            "cmd": "run",
            "module": 1,
            "arrays": _arrays(("float32", [2, 8], "x"), ("float32", [2, 8], None)),
        },
        TWO,
    ),
    "run-wrong-dtype": (
        {"cmd": "run", "module": 1, "arrays": _arrays(*[("int32", [2, 8], n) for n in "xw"])},
        TWO,
    ),
    "run-wrong-shape": (
        {"cmd": "run", "module": 1, "arrays": _arrays(*[("float32", [4, 4], n) for n in "xw"])},
        TWO,
    ),
    "run-too-many-positional": (
        {"cmd": "run", "module": 1, "arrays": _arrays(*[("float32", [2, 8], None)] * 3)},
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
    "free-unknown": ({"cmd": "free", "module": 12345}, b""),
    "free-string": ({"cmd": "free", "module": "all"}, b""),
}


@pytest.mark.parametrize("header,payload", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request(live, header, payload):
    reply = exchange(live, frame_bytes(header, payload))
    assert reply is not None, "the server hung up on a well-framed request"
    assert reply.header["status"] == "error"
    assert reply.header["error"] in ("RPCError", "InputError", "ModelError")
    assert isinstance(reply.header["message"], str) and "\n" not in reply.header["message"]
    assert not reply.payload
    _still_runs(live)


def _payload(w: np.ndarray) -> bytes:
    return GOOD.tobytes() + w.tobytes()


def _still_runs(live) -> None:
    """The shared session still runs its model correctly (numpy's answer)."""
    w = np.full_like(GOOD, 0.5)
    request = {"cmd": "run", "module": 1, "arrays": OK_ARRAYS}
    reply = exchange(live, frame_bytes(request, _payload(w)))
    assert reply is not None and reply.header["status"] == "ok", reply and reply.header
    got = np.frombuffer(bytes(reply.payload), np.float32).reshape(2, 8)
    np.testing.assert_allclose(got, np.maximum(GOOD, 0) + GOOD * w, rtol=1e-6)


def test_session_survives_bad_requests(live, tiny_library):
    """After the cases the shared session gives the local result bit for bit."""
    w = np.full_like(GOOD, 0.5)
    request = frame_bytes({"cmd": "run", "module": 1, "arrays": OK_ARRAYS}, _payload(w))
    reply = exchange(live, request)
    assert reply is not None and reply.header["status"] == "ok"
    _names, (got,) = decode_arrays(reply.header["arrays"], reply.payload)
    np.testing.assert_array_equal(got, xtvm.runtime.load(tiny_library).run([GOOD, w])[0])


# -- garbage libraries and hostile names ------------------------------------------------------


def _tar_like() -> bytes:
    block = bytearray(1024)
    block[:9] = b"model.so\0"
    block[257:263] = b"ustar\0"
    return bytes(block)


def _tar(name: str, data: bytes = b"x", link: str | None = None) -> bytes:
    """A tar archive of one member (a file, or a symlink to ``link``)."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


GARBAGE = {
    "tar-traversal": _tar("../../../../tmp/xtvm-rpc-pwned", b"owned"),
    "tar-absolute": _tar("/tmp/xtvm-rpc-pwned", b"owned"),
    "tar-symlink": _tar("model.so", link="/lib/x86_64-linux-gnu/libc.so.6"),
    "tar-metadata-only": _tar("metadata.json", json.dumps(SIGNATURE).encode()),
    "random-bytes": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    "elf-magic-only": b"\x7fELF",
    "elf-header-zeros": b"\x7fELF\x02\x01\x01" + b"\0" * 1000,
    "text": b"hello, world\n",
    "shell-script": b"#!/bin/sh\ntouch /tmp/xtvm-rpc-pwned\n",
    "pickle": pickle.dumps({"__reduce__": "os.system"}),
    "zip": b"PK\x03\x04" + b"\0" * 100,
    "tar-like": _tar_like(),
    "json": json.dumps(SIGNATURE).encode(),
}


@pytest.mark.parametrize("data", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_library(live, data):
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": "model.so"}, data))
    assert reply is not None and reply.header["status"] == "error"
    assert reply.header["error"] in ("ModelError", "RPCError")
    assert not os.path.exists("/tmp/xtvm-rpc-pwned")
    _still_runs(live)


BAD_METADATA = {
    "not-json": "{inputs: [",
    "a-list": "[1, 2, 3]",
    "no-outputs": json.dumps({"inputs": []}),
    "inputs-a-string": json.dumps({"inputs": "x", "outputs": []}),
    "entry-without-name": json.dumps({"inputs": [{"shape": [4]}], "outputs": []}),
    "dtype-object": json.dumps(
        {**SIGNATURE, "inputs": [{"name": "x", "shape": [4], "dtype": "object"}]}
    ),
    "dtype-unknown": json.dumps(
        {**SIGNATURE, "outputs": [{"name": "y", "shape": [4], "dtype": "float99"}]}
    ),
    "shape-negative": json.dumps(
        {**SIGNATURE, "outputs": [{"name": "y", "shape": [-4], "dtype": "float32"}]}
    ),
    "shape-petabytes": json.dumps(
        {**SIGNATURE, "outputs": [{"name": "y", "shape": [1 << 50], "dtype": "float32"}]}
    ),
    "workspace-petabytes": json.dumps({**SIGNATURE, "workspace_bytes": 1 << 52}),
    "workspace-string": json.dumps({**SIGNATURE, "workspace_bytes": "lots"}),
    "empty": "",
}


@pytest.mark.parametrize("meta", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_library_with_bad_metadata(live, c_library, meta):
    lib = c_library(f"meta_{abs(hash(meta))}", "", metadata=meta)
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": "m.so"}, lib.read_bytes()))
    assert reply is not None
    if reply.header["status"] == "ok":  # refused only when run: then it must say so
        mod = reply.header["module"]
        x = _arrays(("float32", [4], "x"))  # the input the signature declares
        run = exchange(live, frame_bytes({"cmd": "run", "module": mod, "arrays": x}, b"\0" * 16))
        assert run is not None and run.header["status"] == "error"
        exchange(live, frame_bytes({"cmd": "free", "module": mod}))
    else:
        assert reply.header["error"] in ("ModelError", "RPCError", "InputError")


def test_not_an_xtvm_library(live):
    libm = Path("/lib/x86_64-linux-gnu/libm.so.6")
    if not libm.exists():
        pytest.skip("no libm at the Debian x86_64 path")
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": "libm"}, libm.read_bytes()))
    assert reply is not None and reply.header["status"] == "error"
    assert "not an xtvm library" in reply.header["message"]


TRAVERSAL_NAMES = [
    "../../../../tmp/xtvm-rpc-evil.so",
    "/tmp/xtvm-rpc-evil.so",
    "..",
    "a/../../b.so",
    "nul\x00byte.so",
    "~root/.bashrc",
    "\u202eos.so",
    "",
]


@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_names_are_labels_only(server, live, tiny_library, name):
    before = set(os.listdir(os.path.dirname(server.root)))
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": name}, tiny_library.read_bytes()))
    assert reply is not None and reply.header["status"] == "ok"
    exchange(live, frame_bytes({"cmd": "free", "module": reply.header["module"]}))
    assert not os.path.exists("/tmp/xtvm-rpc-evil.so")
    assert set(os.listdir(os.path.dirname(server.root))) - before <= set()
    # the upload itself is gone: only session folders remain in the server's directory
    for _dirpath, _dirs, files in os.walk(server.root):
        assert not files


def test_private_upload_directory(server):
    assert os.stat(server.root).st_mode & 0o777 == 0o700


def test_correct_request_after_all(server, tiny_library):
    feeds = {"x": GOOD, "w": GOOD[::-1].copy()}
    with connect("127.0.0.1", server.port) as sess:
        (out,) = sess.upload(tiny_library).run(feeds)
    np.testing.assert_array_equal(out, xtvm.runtime.load(tiny_library).run(feeds)[0])


def test_library_for_another_cpu_is_refused_before_it_runs(server, tmp_path):
    """An aarch64 library uploaded to this (x86_64) server: a typed refusal, no crash."""
    import platform
    import shutil
    import subprocess

    from xtvm.errors import IncompatibleLibraryError

    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None or platform.machine() == "aarch64":
        pytest.skip("needs an x86_64 host with aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu)")
    src = tmp_path / "arm.c"
    meta = json.dumps({**SIGNATURE, "target": {"triple": "aarch64-linux-gnu", "cpu": "generic"}})
    src.write_text(
        f"const char xtvm_metadata[] = {json.dumps(meta)};\n"
        "int xtvm_main(void **a, void *w) { return 0; }\n"
    )
    lib = tmp_path / "arm.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    with connect("127.0.0.1", server.port) as sess:
        with pytest.raises(IncompatibleLibraryError, match="aarch64"):
            sess.upload(lib)
        assert sess.info()["machine"]  # the same session goes on
