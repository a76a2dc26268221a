"""The RPC server: run uploaded libraries for remote clients, safely enough to leave up.

One thread per connection (at most ``max_sessions``; more are told the server is busy),
each with a child process of its own (:mod:`xtvm.rpc.child`) that loads and runs the
models, so a crash or a hang costs only that session's modules. The thread speaks the
protocol (:mod:`xtvm.rpc.protocol`): it authenticates the client (:mod:`xtvm.rpc.auth`),
checks every request's fields and sizes, writes uploads under generated names into a
private directory, and forwards only well-formed requests to the child.

Uploading a library is running code on this machine: that is what the server is for. The
key is what keeps it to the clients that hold it, so binding anything but loopback
requires one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from xtvm.errors import InputError, RPCError, XTVMError
from xtvm.rpc import auth
from xtvm.rpc.child import SessionProcess
from xtvm.rpc.machine import describe_machine
from xtvm.rpc.protocol import (
    PROTOCOL_VERSION,
    Frame,
    Limits,
    decode_arrays,
    error_header,
    get_int,
    get_number,
    read_frame,
    write_frame,
)
from xtvm.rpc.session import MAX_MODULES

log = logging.getLogger("xtvm.rpc")
MAX_LABEL = 256
MIN_KEY_BYTES = 16  # guessing it at a few tries per second must be hopeless
TAR_MAGIC_OFFSET = 257  # "ustar" in a tar header: the upload is a .tar package


@dataclass(frozen=True)
class ServerConfig:
    """Where the server listens and what it allows; the defaults are the safe ones."""

    host: str = "127.0.0.1"
    port: int = 9090
    key: bytes | None = None
    limits: Limits = field(default_factory=Limits)
    max_sessions: int = 4
    request_timeout: float = 60.0  # seconds a load/run/time may take before its kill
    handshake_timeout: float = 10.0  # seconds to say hello and authenticate
    max_handshakes: int = 16  # connections authenticating at once (beyond: closed)
    session_memory_mb: int = 0  # address-space cap of each session's process (0: none)
    auth_failure_delay: float = 0.5  # seconds before refusing a wrong key (slows guessing)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RPCServer:
    """Listens on ``config.host:config.port``; ``serve_forever`` or ``start`` (a thread)."""

    def __init__(self, config: ServerConfig):
        if not is_loopback(config.host) and not config.key:
            raise InputError(
                f"refusing to bind {config.host}: anyone who can reach it could run code "
                f"here; set a key (${auth.KEY_ENV} or --key) or bind 127.0.0.1"
            )
        if config.key is not None and len(config.key) < MIN_KEY_BYTES:
            raise InputError(
                f"the key must have at least {MIN_KEY_BYTES} bytes (make one with: "
                "python -c 'import secrets; print(secrets.token_hex(16))')"
            )
        if config.max_sessions < 1:
            raise InputError("max_sessions must be >= 1")
        self.config = config
        try:
            family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
            self._listener = socket.create_server(
                (config.host, config.port), family=family, backlog=16
            )
        except (OSError, OverflowError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise RPCError(f"cannot listen on {config.host}:{config.port}: {why}") from None
        self.host, self.port = self._listener.getsockname()[:2]
        self.root = tempfile.mkdtemp(prefix="xtvm-rpc-")  # 0700: ours alone
        self.machine = describe_machine()
        self._slots = threading.BoundedSemaphore(config.max_sessions)
        self._handshakes = threading.BoundedSemaphore(config.max_handshakes)
        self._closed = threading.Event()
        self._sessions: set[ServerSession] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Accept connections until :meth:`close`."""
        while not self._closed.is_set():
            try:
                conn, peer = self._listener.accept()
            except OSError:
                if self._closed.is_set():
                    return
                time.sleep(0.05)  # EMFILE and friends: do not spin
                continue
            threading.Thread(
                target=self._serve_connection,
                args=(conn, f"{peer[0]}:{peer[1]}"),
                name=f"xtvm-rpc {peer}",
                daemon=True,
            ).start()

    def start(self) -> RPCServer:
        """Serve in a background thread (tests, notebooks); returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="xtvm-rpc", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, end every session and remove the upload directory."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sessions = list(self._sessions)
        for s in sessions:
            s.abort()
        if self._thread is not None:
            self._thread.join(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RPCServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve_connection(self, conn: socket.socket, peer: str) -> None:
        """Handshake (at most ``max_handshakes`` at once, so unauthenticated peers cannot
        hold the session slots), then a session if a slot is free."""
        try:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self._handshakes.acquire(blocking=False):
                return
            try:
                welcome = handshake(conn, self.config)
            finally:
                self._handshakes.release()
            if welcome is None:
                log.warning("%s: refused (authentication)", peer)
                return
            if not self._slots.acquire(blocking=False):
                msg = f"server busy: {self.config.max_sessions} sessions are open; try later"
                write_frame(conn, error_header("RPCError", msg), timeout=2.0)
                log.warning("%s: refused (busy)", peer)
                return
            try:
                write_frame(conn, welcome)
                log.info("%s: session started", peer)
                self._run_session(conn)
                log.info("%s: session ended", peer)
            finally:
                self._slots.release()
        except XTVMError as exc:  # the client vanished, stalled or failed to authenticate
            log.info("%s: connection ended: %s", peer, exc)
        finally:
            conn.close()

    def _run_session(self, conn: socket.socket) -> None:
        session = ServerSession(self, conn)
        with self._lock:
            self._sessions.add(session)
        try:
            session.serve()
        finally:
            with self._lock:
                self._sessions.discard(session)
            session.cleanup()


def handshake(conn: socket.socket, config: ServerConfig) -> dict[str, Any] | None:
    """Say hello and check the client's proof of the key; the reply that admits it, or
    None once it was refused (and told why)."""
    key = config.key
    nonce = auth.new_nonce()
    hello = {
        "hello": "xtvm-rpc",
        "protocol": PROTOCOL_VERSION,
        "auth": "hmac-sha256" if key else "none",
        "nonce": nonce,
    }
    write_frame(conn, hello, timeout=config.handshake_timeout)
    limits = Limits(max_header=4096, max_payload=0, frame_timeout=config.handshake_timeout)
    head = read_frame(conn, limits, idle_timeout=config.handshake_timeout).header
    if head.get("cmd") != "auth" or head.get("protocol") != PROTOCOL_VERSION:
        why = f"expected an 'auth' request of protocol {PROTOCOL_VERSION}"
        write_frame(conn, error_header("RPCError", why), timeout=config.handshake_timeout)
        return None
    if key is None:
        return {"status": "ok", "mac": None}
    client_nonce = head.get("nonce")
    if not auth.is_nonce(client_nonce) or not auth.same(
        auth.client_proof(key, nonce), head.get("mac")
    ):
        time.sleep(config.auth_failure_delay)
        refusal = error_header("RPCError", "authentication failed: wrong key")
        write_frame(conn, refusal, timeout=config.handshake_timeout)
        return None
    return {"status": "ok", "mac": auth.server_proof(key, client_nonce, nonce)}


class ServerSession:
    """One authenticated connection: requests until close, a bad frame or a timeout."""

    def __init__(self, server: RPCServer, conn: socket.socket):
        self.server = server
        self.config = server.config
        self.conn = conn
        self._dir: str | None = None  # made on the first upload
        self.child: SessionProcess | None = None
        self.modules: dict[int, int] = {}  # the client's module id -> the child's
        self.lost: set[int] = set()  # ids whose child crashed or was killed
        self._next_id = 1
        self._uploads = 0

    @property
    def dir(self) -> str:
        """This session's private folder (uploads, the child's working directory)."""
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="session-", dir=self.server.root)
        return self._dir

    def serve(self) -> None:
        try:
            while True:
                try:
                    frame = read_frame(self.conn, self.config.limits)
                except RPCError as exc:
                    # the stream cannot be trusted past a bad frame: say why, then hang up
                    with contextlib.suppress(XTVMError, OSError):
                        write_frame(self.conn, error_header("RPCError", str(exc)), timeout=2.0)
                    return
                if frame.header.get("cmd") == "close":
                    write_frame(self.conn, {"status": "ok"})
                    return
                try:
                    reply, payload = self._dispatch(frame)
                except XTVMError as exc:
                    reply, payload = error_header(type(exc).__name__, str(exc)), b""
                except OSError as exc:  # e.g. the upload directory is full
                    reply, payload = error_header("RPCError", f"server: {exc}"), b""
                write_frame(self.conn, reply, payload)
        except XTVMError:
            return  # the client vanished or stopped reading: nothing to tell it

    # -- requests ----------------------------------------------------------------------------

    def _dispatch(self, frame: Frame) -> tuple[dict[str, Any], Any]:
        head, payload = frame.header, frame.payload
        cmd = head.get("cmd")
        if cmd == "info":
            return {"status": "ok", "info": self._info()}, b""
        if cmd == "upload":
            return self._upload(head, payload), b""
        if cmd in ("run", "time", "profile", "free"):
            return self._forward(cmd, head, payload)
        shown = cmd if isinstance(cmd, str) and len(cmd) < 40 else type(cmd).__name__
        raise RPCError(
            f"unknown command {shown!r} (expected info, upload, run, time, profile, free, close)"
        )

    def _info(self) -> dict[str, Any]:
        lim = self.config.limits
        return {
            **self.server.machine,
            "limits": {
                "max_payload": lim.max_payload,
                "max_header": lim.max_header,
                "request_timeout": self.config.request_timeout,
                "max_modules": MAX_MODULES,
            },
        }

    def _timeout(self, head: dict[str, Any]) -> float:
        """The request's own limit if it asks for a shorter one than the server's."""
        top = self.config.request_timeout
        return get_number(head, "timeout", 0.001, top, top)

    def _upload(self, head: dict[str, Any], payload: bytearray) -> dict[str, Any]:
        label = head.get("name", "")
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            raise RPCError(f"'name' must be a string of at most {MAX_LABEL} characters")
        if not payload:
            raise InputError("the upload is empty")
        self._uploads += 1
        is_tar = payload[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] == b"ustar"
        # the client's name is a label only: the file is named here, in our directory
        path = os.path.join(
            self.dir, f"upload{self._uploads}-{secrets.token_hex(8)}{'.tar' if is_tar else '.so'}"
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            reply = self._call({"cmd": "load", "path": path}, b"", self._timeout(head)).header
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)  # loaded (mapped) or refused: the file is not needed
        if reply.get("status") != "ok":
            # the message names our file: show the client its own label instead
            if isinstance(reply.get("message"), str):
                reply["message"] = reply["message"].replace(path, label or "the upload")
            return _relay_error(reply)
        child_id = reply.get("module")
        mod_id = self._next_id
        self._next_id += 1
        self.modules[mod_id] = child_id  # type: ignore[assignment]
        return {**reply, "module": mod_id}

    def _forward(self, cmd: str, head: dict[str, Any], payload: bytearray) -> tuple[Any, Any]:
        mod_id = head.get("module")
        if type(mod_id) is not int or mod_id not in self.modules:
            if mod_id in self.lost:
                raise RPCError(
                    f"module {mod_id} was unloaded when the session's process crashed or "
                    "timed out: upload it again"
                )
            raise RPCError(f"no module {mod_id!r} was uploaded in this session")
        request: dict[str, Any] = {"cmd": cmd, "module": self.modules[mod_id]}
        if cmd == "free":
            self.modules.pop(mod_id)
            reply = self._call(request, b"", self._timeout(head))
            return reply.header, b""
        decode_arrays(head.get("arrays", []), payload)  # checked here, before the child
        request["arrays"] = head.get("arrays", [])
        if "num_threads" in head:
            request["num_threads"] = get_int(head, "num_threads", 0, 1024)
        if cmd in ("time", "profile"):
            for k, hi in (("repeat", 10_000), ("number", 1_000_000), ("warmup", 10_000)):
                if k in head:
                    request[k] = get_int(head, k, 0, hi)
            if "min_repeat_ms" in head:
                request["min_repeat_ms"] = get_number(head, "min_repeat_ms", 0.0, 60_000.0, 0.0)
            request["kernel"] = head.get("kernel") is True
        reply = self._call(request, payload, self._timeout(head))
        if reply.header.get("status") != "ok":
            return _relay_error(reply.header), b""
        return reply.header, reply.payload

    def _call(self, request: dict[str, Any], payload: Any, timeout: float) -> Frame:
        """Send to the child (started on first use); a crash or timeout loses its modules."""
        if self.child is None:
            self.child = SessionProcess(
                self.dir, self.config.limits.max_payload, self.config.session_memory_mb
            )
        try:
            return self.child.call(request, payload, timeout)
        except RPCError as exc:
            log.warning("session process lost: %s", exc)
            self.child = None
            self.lost.update(self.modules)
            self.modules.clear()
            raise

    def abort(self) -> None:
        """Server shutdown: end the connection and the child now."""
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
        if self.child is not None:
            self.child.kill()

    def cleanup(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _relay_error(reply: dict[str, Any]) -> dict[str, Any]:
    """The child's error reply, re-made from its fields only (an error class name and a
    line; the client maps the name to an xtvm.errors class or RPCError)."""
    kind = reply.get("error")
    message = reply.get("message")
    ok_kind = isinstance(kind, str) and kind.isalpha() and len(kind) <= 40
    return error_header(
        kind if ok_kind else "RPCError",  # type: ignore[arg-type]
        message if isinstance(message, str) else "the request failed",
    )
