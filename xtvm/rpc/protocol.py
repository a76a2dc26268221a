"""The RPC wire format: length-prefixed frames of a JSON header and raw bytes.

A frame is ``b"XRP1"``, the header's length and the payload's length (little-endian u32
each), the header (a UTF-8 JSON object) and the payload (a library's bytes, or arrays'
raw bytes laid end to end as the header's ``arrays`` specs say). Nothing on the wire is
ever executed or unpickled: JSON and numpy's ``frombuffer`` with a whitelisted dtype and
a shape that must account for every payload byte.

Every read has a deadline: a peer has ``idle_timeout`` seconds to start a frame and
``frame_timeout`` seconds to finish it, so a stalled (slowloris) peer cannot hold a
session. Declared lengths are checked against :class:`Limits` before anything is
allocated. Only json, socket, struct and numpy are imported: the server runs on boards
with nothing but numpy.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xtvm.errors import InputError, RPCError

MAGIC = b"XRP1"
PREFIX = struct.Struct("<4sII")
PROTOCOL_VERSION = 1
MAX_ARRAYS = 1024
MAX_NDIM = 32
# dtypes allowed on the wire; bfloat16 travels as its 16-bit patterns
DTYPES = frozenset(
    [
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "bfloat16",
    ]
)


@dataclass(frozen=True)
class Limits:
    """Bounds on what a peer may send; the server's are configurable, these are safe."""

    max_header: int = 1 << 20  # bytes of JSON header
    max_payload: int = 256 << 20  # bytes of one upload or one request's arrays
    idle_timeout: float = 300.0  # seconds to wait for the first byte of a frame
    frame_timeout: float = 60.0  # seconds for the rest of a frame once it started


class PeerClosedError(RPCError):
    """The peer closed the connection (or died) before a whole frame arrived."""


class PeerTimeoutError(RPCError):
    """The peer did not send a whole frame within its deadline."""


@dataclass
class Frame:
    header: dict[str, Any]
    payload: bytearray


def _recv_exact(sock: socket.socket, view: memoryview, deadline: float) -> None:
    """Fill ``view`` from ``sock`` before ``deadline`` (time.monotonic), or RPCError."""
    got = 0
    while got < len(view):
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerTimeoutError("timed out reading from the peer")
        sock.settimeout(left)
        try:
            n = sock.recv_into(view[got:])
        except TimeoutError:
            raise PeerTimeoutError("timed out reading from the peer") from None
        except OSError as exc:
            raise PeerClosedError(f"connection error: {exc.strerror or exc}") from None
        if n == 0:
            raise PeerClosedError("the peer closed the connection")
        got += n


def read_frame(sock: socket.socket, limits: Limits, idle_timeout: float | None = None) -> Frame:
    """Read one frame; RPCError for a closed, stalled or malformed stream."""
    prefix = bytearray(PREFIX.size)
    view = memoryview(prefix)
    idle = limits.idle_timeout if idle_timeout is None else idle_timeout
    _recv_exact(sock, view[:1], time.monotonic() + idle)
    deadline = time.monotonic() + limits.frame_timeout
    _recv_exact(sock, view[1:], deadline)
    magic, header_len, payload_len = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise RPCError("not an xtvm RPC frame (bad magic)")
    if header_len == 0 or header_len > limits.max_header:
        raise RPCError(f"frame header of {header_len} bytes (limit {limits.max_header})")
    if payload_len > limits.max_payload:
        raise RPCError(f"frame payload of {payload_len} bytes (limit {limits.max_payload})")
    raw = bytearray(header_len)
    _recv_exact(sock, memoryview(raw), deadline)
    payload = bytearray(payload_len)
    if payload_len:
        _recv_exact(sock, memoryview(payload), deadline)
    return Frame(parse_header(bytes(raw)), payload)


def parse_header(raw: bytes) -> dict[str, Any]:
    """The JSON object of a frame header, or RPCError."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RPCError("frame header is not UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise RPCError("frame header is not a JSON object")
    return header


def write_frame(
    sock: socket.socket,
    header: dict[str, Any],
    payload: Sequence[Any] | bytes = b"",
    timeout: float = 60.0,
) -> None:
    """Send one frame within ``timeout`` seconds (a peer that stops reading cannot stall
    the sender); ``payload`` is bytes or a list of buffers sent back to back."""
    parts = [payload] if isinstance(payload, (bytes, bytearray, memoryview)) else list(payload)
    views = [memoryview(p).cast("B") for p in parts]
    size = sum(v.nbytes for v in views)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    data = PREFIX.pack(MAGIC, len(head), size) + head
    try:
        sock.settimeout(timeout)
        if size <= 1 << 16:  # one segment: no Nagle/delayed-ACK stall on small frames
            sock.sendall(data + b"".join(views))
            return
        sock.sendall(data)
        for v in views:
            sock.sendall(v)
    except TimeoutError:
        raise PeerTimeoutError("timed out writing to the peer") from None
    except OSError as exc:
        raise PeerClosedError(f"connection error: {exc.strerror or exc}") from None


# -- arrays ----------------------------------------------------------------------------------


def _wire_dtype(name: str) -> np.dtype:
    from xtvm.runtime.dtypes import storage_dtype

    return storage_dtype(name).newbyteorder("<")


def encode_arrays(
    arrays: Sequence[Any], names: Sequence[str | None] | None = None
) -> tuple[list[dict[str, Any]], list[memoryview]]:
    """Specs (name, dtype, shape) and little-endian C-contiguous buffers of ``arrays``."""
    specs, bufs = [], []
    for k, value in enumerate(arrays):
        arr = np.asarray(value)
        name = arr.dtype.name
        if name not in DTYPES:
            raise InputError(f"array {k}: dtype {name} cannot be sent (allowed: {sorted(DTYPES)})")
        arr = np.asarray(arr, dtype=_wire_dtype(name), order="C")  # keeps 0-d arrays 0-d
        spec: dict[str, Any] = {"dtype": name, "shape": [int(d) for d in arr.shape]}
        if names is not None and names[k] is not None:
            spec["name"] = str(names[k])
        specs.append(spec)
        bufs.append(memoryview(arr.reshape(-1).view(np.uint8)))
    return specs, bufs


def _shape(spec: dict[str, Any], k: int) -> tuple[int, ...]:
    shape = spec.get("shape")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM:
        raise RPCError(f"array {k}: shape must be a list of at most {MAX_NDIM} ints")
    if not all(type(d) is int and 0 <= d < 1 << 62 for d in shape):
        raise RPCError(f"array {k}: shape must hold non-negative ints")
    return tuple(shape)


def decode_arrays(specs: Any, payload: bytearray) -> tuple[list[str | None], list[np.ndarray]]:
    """(names, arrays) described by ``specs`` over ``payload``; every byte must be used."""
    if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise RPCError(f"'arrays' must be a list of at most {MAX_ARRAYS} array specs")
    names: list[str | None] = []
    arrays = []
    offset = 0
    for k, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise RPCError(f"array {k}: spec must be an object")
        name, dtype = spec.get("name"), spec.get("dtype")
        if name is not None and (not isinstance(name, str) or len(name) > 4096):
            raise RPCError(f"array {k}: name must be a string")
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise RPCError(f"array {k}: dtype must be one of {sorted(DTYPES)}")
        shape = _shape(spec, k)
        wire = _wire_dtype(dtype)
        count = math.prod(shape)
        nbytes = count * wire.itemsize
        if offset + nbytes > len(payload):
            raise RPCError(
                f"array {k}: {dtype}{list(shape)} needs {nbytes} bytes, "
                f"the payload has {len(payload) - offset} left"
            )
        arr = np.frombuffer(payload, dtype=wire, count=count, offset=offset).reshape(shape)
        if sys.byteorder != "little":
            arr = arr.astype(wire.newbyteorder("="))
        names.append(name)
        arrays.append(arr)
        offset += nbytes
    if offset != len(payload):
        raise RPCError(f"the payload has {len(payload) - offset} bytes no array spec accounts for")
    return names, arrays


# -- replies ---------------------------------------------------------------------------------


def error_header(kind: str, message: str) -> dict[str, Any]:
    """A reply saying the request failed; ``kind`` names an xtvm.errors class."""
    line = " ".join(str(message).split())[:500] or kind
    return {"status": "error", "error": kind, "message": line}


def raise_for_error(header: dict[str, Any]) -> None:
    """Raise the typed error a reply carries (InputError, ModelError, else RPCError)."""
    if header.get("status") == "ok":
        return
    from xtvm import errors

    kind, message = header.get("error"), header.get("message")
    text = message if isinstance(message, str) and message else "the server refused the request"
    cls = getattr(errors, kind, None) if isinstance(kind, str) and kind.isalpha() else None
    # a class of xtvm.errors whose constructor takes the message alone
    if not (
        isinstance(cls, type)
        and issubclass(cls, errors.XTVMError)
        and cls is not errors.XTVMError
        and cls.__init__ is Exception.__init__
    ):
        cls = RPCError
    line = " ".join(text.split())[:500]
    raise cls(f"remote: {line}")


def get_int(
    header: dict[str, Any], key: str, low: int, high: int, default: int | None = None
) -> int:
    """``header[key]`` as an int in [low, high], or RPCError naming the field."""
    value = header.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise RPCError(f"'{key}' must be an int in [{low}, {high}]")
    return value


def get_number(header: dict[str, Any], key: str, low: float, high: float, default: float) -> float:
    """``header[key]`` as a finite number in [low, high], or RPCError naming the field."""
    value = header.get(key, default)
    if type(value) not in (int, float) or not low <= value <= high:
        raise RPCError(f"'{key}' must be a number in [{low}, {high}]")
    return float(value)
