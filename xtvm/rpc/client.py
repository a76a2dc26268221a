"""The RPC client: upload a library to a server, run it, time it.

    sess = xtvm.rpc.connect("board.local", 9090, key=b"...")   # or $XTVM_RPC_KEY
    mod = sess.upload("model.so")
    outs = mod.run({"x": x})
    t = mod.benchmark({"x": x}, repeat=50)                       # milliseconds, as Module's
    sess.close()

The client checks what it reads as the server does (bounded sizes, deadlines) and maps
error replies to xtvm's typed errors (``InputError``, ``ModelError``, else ``RPCError``).
Only the standard library and numpy: importing it loads no compiler.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from xtvm.errors import InputError, RPCError
from xtvm.rpc import auth
from xtvm.rpc.protocol import (
    PROTOCOL_VERSION,
    Frame,
    Limits,
    PeerClosedError,
    decode_arrays,
    encode_arrays,
    raise_for_error,
    read_frame,
    write_frame,
)
from xtvm.runtime.dtypes import storage_dtype
from xtvm.runtime.profile import ProfileReport, ProfileRow

DEFAULT_PORT = 9090


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6; ``HOST`` alone means port 9090)."""
    host, sep, port = text.rpartition(":")
    if not sep or (host.count(":") and not host.startswith("[")):
        host, port = text, str(DEFAULT_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"bad RPC address {text!r}: expected HOST:PORT")
    return host, int(port)


class RemoteModule:
    """A library loaded in the server's session: ``run`` and ``benchmark`` as Module's."""

    def __init__(self, session: RPCSession, reply: dict[str, Any], label: str):
        self.session = session
        mod_id, inputs, outputs = reply.get("module"), reply.get("inputs"), reply.get("outputs")
        if type(mod_id) is not int or not isinstance(inputs, list) or not isinstance(outputs, list):
            raise RPCError(f"{session.address} answered the upload badly")
        self.id = mod_id
        self.label = label
        self.input_info = [_info(i) for i in inputs]
        self.output_info = [_info(o) for o in outputs]
        self.profiling = reply.get("profiling") is True
        workspace = reply.get("workspace_bytes", 0)
        self.workspace_bytes = workspace if type(workspace) is int else 0

    def _request(self, inputs: Mapping[str, Any] | Sequence[Any]) -> tuple[dict, list]:
        if isinstance(inputs, Mapping):
            names: list[str | None] | None = [str(k) for k in inputs]
            values = list(inputs.values())
        elif isinstance(inputs, (list, tuple)):
            names, values = None, list(inputs)
        else:
            raise InputError(
                f"inputs must be a dict name->array or a list, got {type(inputs).__name__}"
            )
        declared = [i["dtype"] for i in self.input_info]
        by_name = {i["name"]: i["dtype"] for i in self.input_info}
        for k, value in enumerate(values):
            if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
                continue
            # Python numbers and lists carry no dtype: take the declared one, as Module does
            if names:
                dtype = by_name.get(names[k] or "")
            else:
                dtype = declared[k] if k < len(declared) else None
            if dtype is not None:
                try:
                    values[k] = np.asarray(value, dtype=storage_dtype(dtype))
                except (TypeError, ValueError) as exc:
                    raise InputError(f"input {k}: not {dtype} values: {exc}") from None
        specs, bufs = encode_arrays(values, names)
        return {"module": self.id, "arrays": specs}, bufs

    def run(
        self,
        inputs: Mapping[str, Any] | Sequence[Any],
        num_threads: int | None = None,
        timeout: float | None = None,
    ) -> list[np.ndarray]:
        """Run once on the server; the outputs come back as numpy arrays."""
        head, bufs = self._request(inputs)
        if num_threads is not None:
            head["num_threads"] = num_threads
        reply = self.session.request({"cmd": "run", **head}, bufs, timeout)
        _names, outs = decode_arrays(reply.header.get("arrays"), reply.payload)
        return outs

    def benchmark(
        self,
        inputs: Mapping[str, Any] | Sequence[Any],
        repeat: int = 10,
        number: int = 1,
        warmup: int = 1,
        kernel: bool = False,
        min_repeat_ms: float = 0.0,
        num_threads: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Time ``repeat`` rounds of ``number`` calls on the server (ms per call, as
        ``Module.benchmark``; ``costs_ms`` lists the rounds). ``number=0`` lets the
        server choose so a round lasts ``min_repeat_ms``; ``kernel`` times the entry by
        the module's own counters when it was built with profiling."""
        if repeat < 1 or number < 0:
            raise InputError("benchmark needs repeat >= 1 and number >= 0")
        head, bufs = self._request(inputs)
        head.update(repeat=repeat, number=number, warmup=warmup, kernel=kernel)
        head["min_repeat_ms"] = float(min_repeat_ms)
        if num_threads is not None:
            head["num_threads"] = num_threads
        timing = dict(self.session.request({"cmd": "time", **head}, bufs, timeout).header)
        costs = timing.get("costs_ms")
        keys = ("median_ms", "mean_ms", "min_ms", "max_ms", "std_ms")
        if (
            not isinstance(costs, list)
            or not costs
            or not all(type(v) in (int, float) for v in [*costs, *(timing.get(k) for k in keys)])
        ):
            raise RPCError(f"{self.session.address} sent malformed timings")
        return timing

    def profile(
        self,
        inputs: Mapping[str, Any] | Sequence[Any],
        repeat: int = 10,
        warmup: int = 1,
        timeout: float | None = None,
    ) -> ProfileReport:
        """Each kernel's time over ``repeat`` runs on the server, as ``Module.profile``
        (the library must be built with profiling: ``xtvm compile --profile``)."""
        head, bufs = self._request(inputs)
        head.update(repeat=repeat, warmup=warmup)
        reply = self.session.request({"cmd": "profile", **head}, bufs, timeout).header
        try:
            rows = [
                ProfileRow(str(n), int(c), float(t), float(m), float(p))
                for n, c, t, m, p in reply["rows"]
            ]
            return ProfileReport(
                rows, int(reply["runs"]), float(reply["total_ms"]), float(reply["wall_ms"])
            )
        except (KeyError, TypeError, ValueError):
            raise RPCError(f"{self.session.address} sent a malformed profile") from None

    def free(self) -> None:
        """Unload it on the server."""
        self.session.request({"cmd": "free", "module": self.id})

    def __repr__(self) -> str:
        return f"<xtvm.rpc.RemoteModule {self.label!r} #{self.id} on {self.session.address}>"


class RPCSession:
    """A connection to an RPC server, authenticated; requests go one at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        key: bytes | str | None = None,
        timeout: float = 120.0,
        limits: Limits | None = None,
    ):
        self.address = f"{host}:{port}"
        self.timeout = timeout
        self.limits = limits or Limits(idle_timeout=timeout, frame_timeout=timeout)
        if isinstance(key, str):
            key = key.encode("utf-8")
        try:
            self.sock = socket.create_connection((host, port), timeout=min(timeout, 30.0))
        except OSError as exc:
            raise RPCError(
                f"cannot connect to the RPC server at {self.address}: {exc.strerror or exc}"
            ) from None
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._handshake(key)
        except BaseException:
            self.sock.close()
            raise
        self._info: dict[str, Any] | None = None

    def _handshake(self, key: bytes | None) -> None:
        hello = read_frame(self.sock, self.limits).header
        if "status" in hello:
            raise_for_error(hello)  # e.g. the server is busy
        if hello.get("hello") != "xtvm-rpc" or not auth.is_nonce(hello.get("nonce")):
            raise RPCError(f"{self.address} is not an xtvm RPC server")
        if hello.get("protocol") != PROTOCOL_VERSION:
            raise RPCError(
                f"{self.address} speaks RPC protocol {hello.get('protocol')!r}, "
                f"this client {PROTOCOL_VERSION}: use the same xtvm version on both sides"
            )
        needs_key = hello.get("auth") == "hmac-sha256"
        if needs_key and not key:
            raise RPCError(
                f"the server at {self.address} requires a key: "
                f"set ${auth.KEY_ENV} (or connect(..., key=...))"
            )
        if key and not needs_key:
            raise RPCError(
                f"the server at {self.address} has no key, so it cannot prove who it is: "
                "connect without a key, or start the server with one"
            )
        nonce = auth.new_nonce()
        request = {"cmd": "auth", "protocol": PROTOCOL_VERSION, "nonce": nonce}
        if key:
            request["mac"] = auth.client_proof(key, hello["nonce"])
        write_frame(self.sock, request, timeout=self.timeout)
        reply = read_frame(self.sock, self.limits).header
        raise_for_error(reply)
        if key and not auth.same(auth.server_proof(key, nonce, hello["nonce"]), reply.get("mac")):
            raise RPCError(f"the server at {self.address} could not prove it holds the key")

    def request(
        self, header: dict[str, Any], payload: Any = b"", timeout: float | None = None
    ) -> Frame:
        """Send one request and return its reply frame (typed error on an error reply).
        ``timeout``: seconds the server may spend on it (at most its own limit) before it
        kills the session's process. A broken or stalled connection closes the session."""
        if not self.alive():
            self.sock.close()
            raise PeerClosedError(
                f"the server at {self.address} ended the session (idle past its limit?)"
            )
        if timeout is not None:
            self.info()
            top = self._server_limit() or float(timeout)
            header = {**header, "timeout": max(0.001, min(float(timeout), top))}
        # wait as long as the server may work on a request (it kills what runs longer)
        wait = max(self.timeout, self._server_limit() + 10.0)
        try:
            write_frame(self.sock, header, payload, timeout=self.timeout)
            frame = read_frame(self.sock, self.limits, idle_timeout=wait)
        except RPCError:
            self.sock.close()  # the stream is out of step: nothing more can be said on it
            raise
        raise_for_error(frame.header)
        return frame

    def _server_limit(self) -> float:
        """The server's time limit per request as its info said (0 when not known)."""
        limits = (self._info or {}).get("limits")
        value = limits.get("request_timeout") if isinstance(limits, dict) else None
        if type(value) in (int, float) and 0 < value <= 86400:
            return float(value)
        return 0.0

    def alive(self) -> bool:
        """Whether the connection is open and the server has said nothing unasked (between
        requests it only speaks to end the session, e.g. after its idle timeout)."""
        if self.sock.fileno() < 0:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def info(self) -> dict[str, Any]:
        """The server's machine: ``triple``, ``features`` (LLVM -mattr), ``cpus``, limits..."""
        if self._info is None:
            info = self.request({"cmd": "info"}).header.get("info")
            if not isinstance(info, dict):
                raise RPCError(f"{self.address} sent no machine description")
            self._info = info
        return dict(self._info)

    def upload(
        self,
        library: str | os.PathLike[str] | bytes,
        name: str | None = None,
        timeout: float | None = None,
    ) -> RemoteModule:
        """Send a library (a path or its bytes) and load it in the session."""
        if isinstance(library, (bytes, bytearray, memoryview)):
            data, label = bytes(library), name or "library"
        else:
            path = os.fspath(library)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise InputError(f"cannot read '{path}': {exc.strerror or exc}") from None
            label = name or os.path.basename(path)
        label = label[:256]
        reply = self.request({"cmd": "upload", "name": label}, data, timeout)
        return RemoteModule(self, reply.header, label)

    def close(self) -> None:
        """End the session (the server unloads its modules and deletes its uploads)."""
        if self.sock.fileno() < 0:
            return
        try:
            with contextlib.suppress(RPCError, OSError):
                write_frame(self.sock, {"cmd": "close"}, timeout=2.0)
                read_frame(self.sock, Limits(idle_timeout=2.0, frame_timeout=2.0))
        finally:
            self.sock.close()

    def __enter__(self) -> RPCSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _info(info: Any) -> dict[str, Any]:
    """One input's or output's description from the server, checked."""
    shape = info.get("shape") if isinstance(info, dict) else None
    if (
        not isinstance(shape, list)
        or not all(type(d) is int and d >= 0 for d in shape)
        or not isinstance(info.get("name"), str)
        or not isinstance(info.get("dtype"), str)
    ):
        raise RPCError("the server described a module's signature badly")
    return {"name": info["name"], "shape": tuple(shape), "dtype": info["dtype"]}


def connect(
    host: str, port: int = DEFAULT_PORT, key: bytes | str | None = None, timeout: float = 120.0
) -> RPCSession:
    """Open an authenticated session; ``key`` defaults to ``$XTVM_RPC_KEY``."""
    return RPCSession(host, port, key if key is not None else auth.key_from_env(), timeout)


def target_for(info: Mapping[str, Any]) -> str:
    """The target string to compile for the server described by ``info`` (from
    :meth:`RPCSession.info`): this machine's own target when the server is the same kind
    of CPU (same architecture and features), else its triple and features."""
    from xtvm.backends.llvm.target import Target
    from xtvm.runtime.cpu_features import host_features

    triple = str(info.get("triple", ""))
    features = str(info.get("features", ""))
    host = Target.host()
    arch = triple.split("-", 1)[0]
    if arch == host.arch:
        ours = ",".join(f"+{f}" for f in sorted(host_features(arch) or ()))
        if ours == features or not info.get("features_known", True):
            return str(host)
        # LLVM's spelling of our triple; a generic CPU, so that only the server's
        # features are used (our CPU's name would imply ours)
        return f"llvm -mtriple={host.triple} -mcpu=generic" + (
            f" -mattr={features}" if features else ""
        )
    text = f"llvm -mtriple={triple}"
    return f"{text} -mattr={features}" if features else text
