"""The per-session child process: loads uploaded libraries and runs them.

``python -m xtvm.rpc.session FD`` serves one client session for the RPC server over the
socket ``FD`` (one end of a socketpair). Loaded models run here, not in the server, so a
model that crashes (SIGSEGV, abort) or hangs takes down only this process: the server
sees it die or kills it at the request's deadline, tells the client, and keeps serving.

The server has already checked every request's shape (see :mod:`xtvm.rpc.server`); this
side checks again what it relies on. Only ``xtvm.runtime`` is imported (ctypes + numpy):
a board needs nothing else.
"""

from __future__ import annotations

import socket
import sys
import time
from typing import Any

import numpy as np

from xtvm.errors import InputError, RPCError, XTVMError
from xtvm.rpc.protocol import (
    Limits,
    decode_arrays,
    encode_arrays,
    error_header,
    get_int,
    get_number,
    read_frame,
    write_frame,
)
from xtvm.runtime.module import timing_summary

# the parent is trusted and already bounded the request: no limits of its own here
_PARENT_LIMITS = Limits(max_header=64 << 20, max_payload=1 << 40, frame_timeout=3600.0)
MAX_MODULES = 64  # loaded at once in one session
MAX_REPEAT = 10_000
MAX_NUMBER = 1_000_000


class Session:
    """The modules loaded in this session, by the ids handed to the client."""

    def __init__(self, max_modules: int = MAX_MODULES):
        self.modules: dict[int, Any] = {}
        self.max_modules = max_modules
        self._next = 1

    def handle(self, header: dict[str, Any], payload: bytearray) -> tuple[dict[str, Any], Any]:
        cmd = header.get("cmd")
        if cmd == "load":
            return self.load(header), b""
        if cmd == "free":
            self.modules.pop(self._module_id(header), None)
            return {"status": "ok"}, b""
        if cmd == "run":
            return self.run(header, payload)
        if cmd == "time":
            return self.time(header, payload), b""
        if cmd == "profile":
            return self.profile(header, payload), b""
        raise RPCError(f"unknown session command {cmd!r}")

    def load(self, header: dict[str, Any]) -> dict[str, Any]:
        from xtvm.runtime import load

        path = header.get("path")
        if not isinstance(path, str):
            raise RPCError("'path' must be a string")
        if len(self.modules) >= self.max_modules:
            raise RPCError(f"{self.max_modules} modules are loaded: free one first")
        mod = load(path)
        mod_id = self._next
        self._next += 1
        self.modules[mod_id] = mod
        return {
            "status": "ok",
            "module": mod_id,
            "inputs": [_info(i) for i in mod.input_info],
            "outputs": [_info(o) for o in mod.output_info],
            "profiling": mod.profiling,
            "workspace_bytes": mod.workspace_bytes,
        }

    def _module_id(self, header: dict[str, Any]) -> int:
        mod_id = header.get("module")
        if type(mod_id) is not int or mod_id not in self.modules:
            raise RPCError(f"no module {mod_id!r} is loaded in this session")
        return mod_id

    def _inputs(self, header: dict[str, Any], payload: bytearray) -> tuple[Any, Any]:
        mod = self.modules[self._module_id(header)]
        names, arrays = decode_arrays(header.get("arrays", []), payload)
        if any(n is not None for n in names):
            if any(n is None for n in names) or len(set(names)) != len(names):
                raise InputError("inputs must all be named, each once, or none")
            return mod, dict(zip(names, arrays))
        return mod, arrays

    def run(self, header: dict[str, Any], payload: bytearray) -> tuple[dict[str, Any], Any]:
        mod, inputs = self._inputs(header, payload)
        num_threads = header.get("num_threads")
        if num_threads is not None:
            mod.num_threads = get_int(header, "num_threads", 0, 1024)
        outs = mod.run(inputs)
        specs, bufs = encode_arrays(outs, [o["name"] for o in mod.output_info])
        return {"status": "ok", "arrays": specs}, bufs

    def time(self, header: dict[str, Any], payload: bytearray) -> dict[str, Any]:
        """Rounds of calls, as Module.benchmark; ``number`` 0 picks the calls per round so
        one lasts ``min_repeat_ms``; ``kernel`` reads the module's own profile counters
        (the entry's time without Python's call overhead) when it has them."""
        mod, inputs = self._inputs(header, payload)
        if header.get("num_threads") is not None:
            mod.num_threads = get_int(header, "num_threads", 0, 1024)
        repeat = get_int(header, "repeat", 1, MAX_REPEAT, 10)
        number = get_int(header, "number", 0, MAX_NUMBER, 1)
        warmup = get_int(header, "warmup", 0, MAX_REPEAT, 1)
        min_ms = get_number(header, "min_repeat_ms", 0.0, 60_000.0, 0.0)
        kernel = header.get("kernel", False) is True and mod.profiling
        arrays = mod._bind(inputs)  # bound once: time the model, not the argument checks
        for _ in range(warmup):
            mod._invoke(arrays)
        if number == 0:
            t0 = time.perf_counter()
            mod._invoke(arrays)
            once = max(time.perf_counter() - t0, 1e-7)
            number = min(MAX_NUMBER, max(1, int(min_ms / 1e3 / once)))
        costs = []
        for _ in range(repeat):
            if kernel:
                report = mod.profile(arrays, repeat=number, warmup=0)
                costs.append(report.total_ms / max(report.runs, 1))
                continue
            t0 = time.perf_counter()
            for _ in range(number):
                mod._invoke(arrays)
            costs.append((time.perf_counter() - t0) * 1e3 / number)
        return {
            "status": "ok",
            "costs_ms": costs,
            **timing_summary(costs, repeat, number),
            "kernel": kernel,
        }

    def profile(self, header: dict[str, Any], payload: bytearray) -> dict[str, Any]:
        """Module.profile's report: each kernel's calls and time over ``repeat`` runs."""
        mod, inputs = self._inputs(header, payload)
        repeat = get_int(header, "repeat", 1, MAX_REPEAT, 10)
        warmup = get_int(header, "warmup", 0, MAX_REPEAT, 1)
        report = mod.profile(inputs, repeat=repeat, warmup=warmup)
        return {
            "status": "ok",
            "rows": [[r.name, r.calls, r.total_ms, r.mean_us, r.percent] for r in report.rows],
            "runs": report.runs,
            "total_ms": report.total_ms,
            "wall_ms": report.wall_ms,
        }


def _info(info: dict[str, Any]) -> dict[str, Any]:
    out = {"name": info["name"], "shape": [int(d) for d in info["shape"]], "dtype": info["dtype"]}
    if "dynamic_axis" in info:
        out["dynamic_axis"] = int(info["dynamic_axis"])
    return out


def serve(sock: socket.socket) -> None:
    """Answer the parent's requests until it closes the socket."""
    session = Session()
    write_frame(sock, {"status": "ready"})
    while True:
        try:
            frame = read_frame(sock, _PARENT_LIMITS, idle_timeout=1e9)
        except RPCError:
            return  # the parent went away
        try:
            reply, out = session.handle(frame.header, frame.payload)
        except XTVMError as exc:
            reply, out = error_header(type(exc).__name__, str(exc)), b""
        except Exception as exc:  # a malformed library's metadata, a failed allocation...
            reply, out = error_header("RPCError", f"{type(exc).__name__}: {exc}"), b""
        write_frame(sock, reply, out)


def _limit_memory(megabytes: int) -> None:
    """Cap this process's address space, so a model that allocates without bound fails
    here (MemoryError, or a crash the server reports) instead of starving the machine."""
    import resource

    limit = megabytes << 20
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or not all(a.isdigit() for a in argv):
        print(
            "usage: python -m xtvm.rpc.session FD [MEMORY_MB] (started by the RPC server)",
            file=sys.stderr,
        )
        return 2
    sock = socket.socket(fileno=int(argv[0]))
    if len(argv) == 2 and int(argv[1]) > 0:
        _limit_memory(int(argv[1]))
    np.seterr(all="ignore")  # a model's inf/nan are its outputs, not warnings here
    try:
        serve(sock)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
