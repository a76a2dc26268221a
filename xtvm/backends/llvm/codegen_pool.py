"""Compile parts of a module in worker processes, and link their objects back into one.

llvmlite serializes every LLVM call behind one lock, so threads cannot share LLVM's work;
processes can. A worker (``python -m xtvm.backends.llvm.codegen_worker``) reads requests on
its stdin and answers on its stdout: length-prefixed frames holding a JSON header (the
target string) and IR text, answered by a status byte and the object bytes or an error
line. No pickle, so nothing a worker sends can run code here. Workers live as long as the
process and serve every build in it; each is started the first time a build needs it (or
earlier through :func:`prewarm`, so that its start-up overlaps the passes before code
generation), and one that dies is replaced by compiling its part in this process.

The objects of the parts are joined with a relocatable link (``cc -r``), so the rest of
the backend (the JIT, the object cache, ``export_library``) still sees one object.
"""

from __future__ import annotations

import atexit
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from xtvm.backends.llvm.toolchain import (
    Toolchain,
    find_toolchain,
    link_hint,
    require_toolchain,
    run_linker,
)
from xtvm.errors import CompileError

if TYPE_CHECKING:
    from xtvm.backends.llvm.target import Target

_LENGTH = struct.Struct(">Q")
MAX_FRAME = 1 << 34
"""The largest frame either side accepts (16 GiB): a bound, not an expected size."""


def codegen_jobs() -> int:
    """How many processes generate code for one build: ``XTVM_CODEGEN_JOBS`` when set (1
    turns parallel code generation off), else the cores this process may use, at most 4."""
    raw = os.environ.get("XTVM_CODEGEN_JOBS", "").strip()
    if raw:
        try:
            jobs = int(raw)
        except ValueError:
            raise CompileError(
                f"XTVM_CODEGEN_JOBS must be a positive integer, got {raw!r}"
            ) from None
        if jobs < 1:
            raise CompileError(f"XTVM_CODEGEN_JOBS must be a positive integer, got {raw!r}")
        return jobs
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def write_frame(stream, payload: bytes) -> None:  # noqa: ANN001 (a binary stream)
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)


def read_frame(stream) -> bytes | None:  # noqa: ANN001
    """One frame, or None at a clean end of the stream; ValueError if it is cut or too big."""
    head = stream.read(_LENGTH.size)
    if not head:
        return None
    if len(head) != _LENGTH.size:
        raise ValueError("truncated frame header")
    (size,) = _LENGTH.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is over the limit")
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("truncated frame")
    return data


class _Worker:
    """One worker process; requests to it are answered in order."""

    def __init__(self) -> None:
        env = {**os.environ, "XTVM_CODEGEN_JOBS": "1", "PYTHONUNBUFFERED": "1"}
        # the worker imports this very xtvm, even when it is not installed but on sys.path
        root = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "xtvm.backends.llvm.codegen_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, target: str, text: str) -> None:
        assert self.proc.stdin is not None
        write_frame(self.proc.stdin, json.dumps({"target": target}).encode())
        write_frame(self.proc.stdin, text.encode())
        self.proc.stdin.flush()

    def receive(self) -> bytes:
        """The object for the last request; CompileError for an error in the IR,
        OSError/ValueError when the worker died (the caller compiles the part itself)."""
        assert self.proc.stdout is not None
        status = self.proc.stdout.read(1)
        payload = read_frame(self.proc.stdout)
        if not status or payload is None:
            raise OSError("the code generation worker exited")
        if status == b"\x00":
            return payload
        raise CompileError(payload.decode("utf-8", "replace"))

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class CodegenPool:
    """Worker processes for parallel code generation (see the module docstring)."""

    def __init__(self) -> None:
        self.workers: list[_Worker] = []
        self.lock = threading.Lock()

    def ensure(self, count: int) -> None:
        """Have ``count`` live workers, starting the missing ones (they start in the
        background; a request waits for the worker's imports)."""
        self.workers = [w for w in self.workers if w.alive()]
        while len(self.workers) < count:
            self.workers.append(_Worker())

    def compile(self, texts: list[str], target: str, local: Callable[[str], bytes]) -> list[bytes]:
        """Objects for ``texts``: ``texts[0]`` compiled here by ``local`` while workers
        compile the others; a part whose worker fails is compiled here too. Each request
        goes out from its own thread: a worker still importing reads nothing yet, and a
        blocked pipe must not hold up the part compiled here."""
        with self.lock:
            self.ensure(len(texts) - 1)
            results: list[bytes | BaseException | None] = [None] * len(texts)

            def remote(index: int, worker: _Worker) -> None:
                try:
                    worker.send(target, texts[index])
                    results[index] = worker.receive()
                except (OSError, ValueError):
                    worker.close()  # died: compiled here below
                except CompileError as exc:
                    results[index] = exc

            threads = [
                threading.Thread(target=remote, args=(i, w), daemon=True)
                for i, w in zip(range(1, len(texts)), self.workers)
            ]
            for thread in threads:
                thread.start()
            try:
                objects = [local(texts[0])]
            finally:
                for thread in threads:
                    thread.join()
            for index in range(1, len(texts)):
                result = results[index]
                if isinstance(result, BaseException):
                    raise result
                objects.append(result if result is not None else local(texts[index]))
            return objects

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers = []


_POOL: CodegenPool | None = None


def pool() -> CodegenPool:
    """The process's pool (workers are a per-process resource, like the LLVM state)."""
    global _POOL
    if _POOL is None:
        _POOL = CodegenPool()
        atexit.register(_POOL.close)
    return _POOL


def _forget_after_fork() -> None:
    """A forked child must not talk to its parent's workers (two writers on one pipe would
    interleave frames) nor close them: it starts its own pool when it needs one."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def prewarm(jobs: int, target: Target | None = None) -> None:
    """Start the workers a build with ``jobs`` parts will use, so their start-up overlaps
    the passes before code generation."""
    if jobs > 1 and relocatable_linker(target) is not None:
        with pool().lock:
            pool().ensure(jobs - 1)


def relocatable_linker(target: Target | None = None) -> Toolchain | None:
    """The C compiler that joins ``target``'s objects with ``-r`` (the host's for the host,
    the cross compiler for a foreign target); None when there is none."""
    return find_toolchain(target)


def link_relocatable(objects: list[bytes], target: Target | None = None) -> bytes:
    """One relocatable object holding ``objects`` (``cc -r``)."""
    toolchain = require_toolchain(target, "join the parts of a parallel build")
    with tempfile.TemporaryDirectory(prefix="xtvm-parts-") as tmp:
        paths = []
        for i, data in enumerate(objects):
            paths.append(os.path.join(tmp, f"part{i}.o"))
            with open(paths[-1], "wb") as f:
                f.write(data)
        out = os.path.join(tmp, "joined.o")
        cmd = toolchain.command("-r", "-nostdlib", "-o", out, *paths)
        run_linker(cmd, "joining the compiled parts", link_hint(toolchain, target))
        with open(out, "rb") as f:
            return f.read()
