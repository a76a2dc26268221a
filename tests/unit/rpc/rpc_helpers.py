"""Raw-socket helpers for the RPC tests: speak the protocol by hand, or break it."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

import numpy as np

from xtvm.rpc import auth
from xtvm.rpc.protocol import MAGIC, PROTOCOL_VERSION, Frame, Limits, read_frame

READ = Limits(max_header=1 << 20, max_payload=64 << 20, idle_timeout=10.0, frame_timeout=10.0)


def frame_bytes(header: Any, payload: bytes = b"", raw_header: bytes | None = None) -> bytes:
    head = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<4sII", MAGIC, len(head), len(payload)) + head + payload


def open_raw(port: int) -> tuple[socket.socket, dict[str, Any]]:
    """A connection whose hello was read (nothing sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    hello = read_frame(sock, READ).header
    return sock, hello


def open_session(port: int, key: bytes | None = None) -> socket.socket:
    """A connection past the handshake."""
    sock, hello = open_raw(port)
    request: dict[str, Any] = {"cmd": "auth", "protocol": PROTOCOL_VERSION}
    if key is not None:
        request["nonce"] = auth.new_nonce()
        request["mac"] = auth.client_proof(key, hello["nonce"])
    sock.sendall(frame_bytes(request))
    reply = read_frame(sock, READ).header
    assert reply["status"] == "ok", reply
    return sock


def exchange(sock: socket.socket, data: bytes) -> Frame | None:
    """Send ``data``; the reply frame, or None if the server hung up without one."""
    try:
        sock.sendall(data)
        return read_frame(sock, READ)
    except (OSError, Exception):  # noqa: BLE001 - a closed or reset connection is an answer
        return None


def closed_after(sock: socket.socket, seconds: float = 10.0) -> bool:
    """Whether the server closes the connection within ``seconds`` (draining any reply)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


# the tiny model's inputs (x and w: float32[2, 8]) for the shared session of the hostile tests
GOOD = np.arange(16, dtype=np.float32).reshape(2, 8)


def array_specs(*specs: tuple[str, list, str | None]) -> list[dict]:
    out = []
    for dtype, shape, name in specs:
        spec: dict = {"dtype": dtype, "shape": shape}
        if name is not None:
            spec["name"] = name
        out.append(spec)
    return out


OK_ARRAYS = array_specs(("float32", [2, 8], "x"), ("float32", [2, 8], "w"))


def two_inputs(w: np.ndarray) -> bytes:
    """The payload of x = GOOD and ``w``."""
    return GOOD.tobytes() + w.tobytes()


def still_runs(live: socket.socket) -> None:
    """The shared session still runs its model (module 1) correctly: numpy's answer."""
    w = np.full_like(GOOD, 0.5)
    request = {"cmd": "run", "module": 1, "arrays": OK_ARRAYS}
    reply = exchange(live, frame_bytes(request, two_inputs(w)))
    assert reply is not None and reply.header["status"] == "ok", reply and reply.header
    got = np.frombuffer(bytes(reply.payload), np.float32).reshape(2, 8)
    np.testing.assert_allclose(got, np.maximum(GOOD, 0) + GOOD * w, rtol=1e-6)
