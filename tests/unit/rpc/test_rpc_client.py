"""The client facing something that is not a (well-behaved) xtvm RPC server: a typed
RPCError within its timeout, never a hang or an untyped exception."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from rpc_helpers import frame_bytes

from xtvm.errors import RPCError
from xtvm.rpc import auth, connect
from xtvm.rpc.protocol import MAGIC

HELLO = {"hello": "xtvm-rpc", "protocol": 1, "auth": "none", "nonce": "0" * 64}


def _fake_server(*answers: bytes):
    """A one-connection server that sends ``answers`` (one per client message) and waits."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            for i, data in enumerate(answers):
                if i:
                    conn.recv(1 << 16)  # the client's request
                conn.sendall(data)
            conn.settimeout(3)
            try:
                conn.recv(1 << 16)
            except OSError:
                pass
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return port


CASES = {
    "http": [b"HTTP/1.1 200 OK\r\n\r\n"],
    "silent": [b""],
    "huge-header": [struct.pack("<4sII", MAGIC, 0xFFFFFFFF, 0)],
    "not-a-hello": [frame_bytes({"hello": "ssh"})],
    "bad-nonce": [frame_bytes({**HELLO, "nonce": "xyz"})],
    "other-protocol": [frame_bytes({**HELLO, "protocol": 2})],
    "auth-reply-garbage": [frame_bytes(HELLO), b"\x00" * 12],
    "auth-refused": [frame_bytes(HELLO), frame_bytes({"status": "error", "error": 5})],
    "busy": [frame_bytes({"status": "error", "error": "RPCError", "message": "server busy"})],
    "closes-after-hello": [frame_bytes(HELLO)[:10]],
}


@pytest.mark.parametrize("answers", CASES.values(), ids=CASES.keys())
def test_client_against_bad_servers(answers):
    port = _fake_server(*answers)
    with pytest.raises(RPCError):
        connect("127.0.0.1", port, timeout=1.0)


def test_fake_server_cannot_pass_for_a_keyed_one():
    """Without the key a server cannot make the proof the client checks."""
    hello = {**HELLO, "auth": "hmac-sha256", "nonce": auth.new_nonce()}
    port = _fake_server(frame_bytes(hello), frame_bytes({"status": "ok", "mac": "0" * 64}))
    with pytest.raises(RPCError, match="could not prove"):
        connect("127.0.0.1", port, key=b"secret", timeout=2.0)


BAD_REPLIES = {
    "upload-without-module": {"status": "ok"},
    "upload-module-string": {"status": "ok", "module": "1", "inputs": [], "outputs": []},
    "upload-bad-shape": {
        "status": "ok",
        "module": 1,
        "inputs": [{"name": "x", "shape": [-1], "dtype": "float32"}],
        "outputs": [],
    },
}


@pytest.mark.parametrize("reply", BAD_REPLIES.values(), ids=BAD_REPLIES.keys())
def test_malformed_upload_replies(reply):
    port = _fake_server(frame_bytes(HELLO), frame_bytes({"status": "ok"}), frame_bytes(reply))
    sess = connect("127.0.0.1", port, timeout=2.0)
    with pytest.raises(RPCError):
        sess.upload(b"\x7fELF", name="m.so")
    sess.sock.close()
