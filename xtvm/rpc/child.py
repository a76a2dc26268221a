"""The server's handle on one session's child process (``python -m xtvm.rpc.session``).

A fresh interpreter (not a fork of the threaded server: forking a process with threads,
OpenMP pools or locks held can deadlock the child). Requests go over a socketpair in the
protocol's frames; a request that outlives its deadline kills the child, and a child
that dies mid-request (a model's SIGSEGV or abort) is reported with its signal. Either
way the caller gets an RPCError and the next request starts a new child.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

from xtvm.errors import RPCError
from xtvm.rpc.auth import KEY_ENV
from xtvm.rpc.protocol import (
    Frame,
    Limits,
    PeerClosedError,
    PeerTimeoutError,
    read_frame,
    write_frame,
)

# the package's parent folder, so the child imports this xtvm even when not installed
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


STARTUP_TIMEOUT = 60.0


class SessionCrashedError(RPCError):
    """The session's process died or was killed; its loaded modules are gone."""


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class SessionProcess:
    """A running ``xtvm.rpc.session`` child serving requests one at a time."""

    def __init__(self, workdir: str, max_reply: int, memory_mb: int = 0):
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env.pop(KEY_ENV, None)  # the models it runs have no business with the key
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
        )
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "xtvm.rpc.session", str(theirs.fileno()), str(memory_mb)],
                pass_fds=[theirs.fileno()],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            raise RPCError(f"cannot start a session process: {exc.strerror or exc}") from None
        finally:
            theirs.close()
        self.sock = ours
        self._limits = Limits(max_header=16 << 20, max_payload=max_reply)
        # wait for the interpreter and numpy to load, so that start-up (seconds on a busy
        # board) does not count against the first request's time limit
        try:
            ready = read_frame(self.sock, self._limits, idle_timeout=STARTUP_TIMEOUT).header
        except RPCError:
            ready = {}
        if ready.get("status") != "ready":
            code = self._wait(0.5)
            self.kill()
            raise SessionCrashedError(
                f"the session's process did not start ({_describe_exit(code)})"
            )

    def call(self, header: dict[str, Any], payload: Any, timeout: float) -> Frame:
        """Send one request and wait up to ``timeout`` s for its reply; on a crash or
        timeout the child is gone and SessionCrashedError says why."""
        what = str(header.get("cmd"))
        try:
            write_frame(self.sock, header, payload, timeout=timeout)
            limits = Limits(
                max_header=self._limits.max_header,
                max_payload=self._limits.max_payload,
                frame_timeout=timeout,
            )
            return read_frame(self.sock, limits, idle_timeout=timeout)
        except PeerTimeoutError:
            self.kill()
            raise SessionCrashedError(
                f"'{what}' ran past the server's limit of {timeout:g} s: the session's process "
                "was killed and its modules unloaded"
            ) from None
        except PeerClosedError:
            code = self._wait(2.0)
            self.kill()
            raise SessionCrashedError(
                f"the session's process died during '{what}' ({_describe_exit(code)}): "
                "its modules are unloaded; the server keeps serving"
            ) from None
        except RPCError as exc:  # a malformed reply: treat the child as broken
            self.kill()
            raise SessionCrashedError(
                f"the session's process answered '{what}' badly: {exc}"
            ) from None

    def _wait(self, seconds: float) -> int | None:
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Stop the child now (idempotent)."""
        try:
            self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._wait(5.0)

    def close(self) -> None:
        """End the child: closing its socket makes it exit; kill it if it does not."""
        try:
            self.sock.close()
        finally:
            if self._wait(2.0) is None:
                self.proc.kill()
                self._wait(5.0)
