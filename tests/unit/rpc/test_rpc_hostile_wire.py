"""Malformed frames, wrong keys and stalled peers: each ends in an error reply or a closed
connection within the limits (never a hang or a crash of the server), and the server still
serves a correct request after each."""

from __future__ import annotations

import contextlib
import socket
import struct
import time

import pytest
from rpc_config import KEY
from rpc_helpers import closed_after, exchange, frame_bytes, open_raw, open_session

from xtvm.rpc import auth, connect
from xtvm.rpc.protocol import MAGIC, PROTOCOL_VERSION


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
