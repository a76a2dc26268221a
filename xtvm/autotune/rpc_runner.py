"""Measure tuning candidates on an RPC server (``xtvm tune --rpc HOST:PORT``).

:class:`RPCRunExecutor` is the executor a :class:`~xtvm.autotune.measure.Runner` submits
its runs to: instead of loading each library in a local worker it uploads it to an
``xtvm rpc server`` and runs, checks and times it there, as
:func:`~xtvm.autotune.measure.run_candidate` does locally (same random inputs, same output
check against the default schedule, the module's own kernel counters as the clock). The
search, the builder and the records stay as they are; only where the candidate runs
changes. A failure (a refused library, a crash or hang in the server's session, a lost
connection) becomes the candidate's error record, and the next candidate reconnects.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from xtvm.autotune.measure import (
    MeasureOptions,
    MeasureResult,
    random_inputs,
    run_candidate,
    save_and_check_outputs,
)
from xtvm.errors import XTVMError

# candidates loaded into one server session before it is replaced: a session's process
# keeps every library it loaded mapped, as a local runner's worker does
RECYCLE_AFTER = 64


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:300]


class RPCRunExecutor(cf.Executor):
    """Runs ``run_candidate`` jobs on an RPC server, one at a time, in the caller's thread.

    Pass it as ``run_executor`` to ``tune``/``tune_tasks``; ``shutdown`` closes the
    session. Other callables are refused: only candidate runs go to the server."""

    def __init__(self, address: str, key: bytes | str | None = None, timeout: float = 120.0):
        from xtvm.rpc import connect, parse_address

        self.host, self.port = parse_address(address)
        self._connect = lambda: connect(self.host, self.port, key=key, timeout=timeout)
        self.session = self._connect()  # fail now, not at the first candidate
        self._loaded = 0

    def info(self) -> dict[str, Any]:
        """The server's machine (for the builder's target: ``xtvm.rpc.target_for``)."""
        return self.live_session().info()

    def live_session(self) -> Any:
        """The session, reconnected when the server ended it (its idle timeout may pass
        while the builder compiles) and renewed every RECYCLE_AFTER candidates."""
        if self.session is None or self._loaded >= RECYCLE_AFTER or not self.session.alive():
            if self.session is not None:
                self.session.close()
            self.session = self._connect()
            self._loaded = 0
        return self.session

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        if fn is not run_candidate:
            raise TypeError("RPCRunExecutor only runs xtvm.autotune.measure.run_candidate")
        future: cf.Future = cf.Future()
        future.set_result(self.run_candidate(*args, **kwargs))
        return future

    def run_candidate(
        self,
        lib_path: str,
        reference: str | None,
        options: MeasureOptions,
        save_reference: str | None,
    ) -> MeasureResult:
        """Upload, check and time one library on the server; never raises."""
        start = time.perf_counter()
        try:
            session = self.live_session()
            self._loaded += 1
            limit = options.timeout + options.repeat * options.min_repeat_ms / 1e3 * 4
            mod = session.upload(lib_path, name=os.path.basename(lib_path), timeout=limit)
            try:
                inputs = random_inputs(mod.input_info, options.seed)
                outs = mod.run(inputs, num_threads=options.num_threads, timeout=limit)
                wrong = save_and_check_outputs(outs, options, reference, save_reference)
                if wrong is not None:
                    return MeasureResult(error=wrong, run_seconds=time.perf_counter() - start)
                timing = mod.benchmark(
                    inputs,
                    repeat=options.repeat,
                    number=0,  # the server picks it so a round lasts min_repeat_ms
                    warmup=0,
                    kernel=True,
                    min_repeat_ms=options.min_repeat_ms,
                    num_threads=options.num_threads,
                    timeout=limit,
                )
            finally:
                with contextlib.suppress(XTVMError):  # gone already if the session crashed
                    mod.free()
            costs = [float(c) / 1e3 for c in timing["costs_ms"]]
            return MeasureResult(costs=costs, run_seconds=time.perf_counter() - start)
        except Exception as exc:  # any failure is the candidate's, recorded as its error
            if self.session is not None and self.session.sock.fileno() < 0:
                self.session = None  # the connection broke: reconnect for the next one
            return MeasureResult(
                error=f"run: {_first_line(exc)}", run_seconds=time.perf_counter() - start
            )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
