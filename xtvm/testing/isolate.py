"""Run functions in forked worker processes, so a segfault, abort or hang in one task is
recorded as that task's outcome instead of taking the whole run down.

Each task gets a fresh process forked from the parent (which has already imported the
compiler, so a fork costs milliseconds, not the seconds an import would), its own process
group (so a timeout also ends anything it started), and a pipe for its result. At most
``jobs`` run at once.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# How a task ended, besides returning a value.
CRASH = "crash"
TIMEOUT = "timeout"


@dataclass
class Outcome:
    """What happened to one task: ``value`` when it returned, else ``status`` says why not."""

    key: Any
    value: Any = None
    status: str | None = None  # None (returned), CRASH or TIMEOUT
    message: str = ""
    seconds: float = 0.0


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exception(exc: BaseException) -> str:
    """``Type at file.py:line: first line of the message`` (the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}{where}" + (f": {lines[0]}" if lines else "")


def _child(func: Callable[..., Any], args: tuple[Any, ...], conn: Any, dump: Any) -> None:
    """Body of a worker: run ``func``, send ("ok", value) or ("exc", text), then exit.

    A fatal signal makes faulthandler write the Python stack to ``dump``, so the parent can
    say where it happened.
    """
    os.setpgrp()
    faulthandler.enable(file=dump, all_threads=False)
    # libgomp's thread pool does not survive fork: if the parent ever ran a parallel region,
    # a parallel region with threads in the child can hang. Modules built here run on one.
    os.environ["XTVM_NUM_THREADS"] = "1"
    try:
        message: tuple[str, Any] = ("ok", func(*args))
    except BaseException as exc:  # everything, SystemExit included, becomes a report
        message = ("exc", describe_exception(exc))
    try:
        conn.send(message)
    except Exception as exc:  # an unpicklable value is the task's fault, not ours
        conn.send(("exc", f"result could not be sent back: {type(exc).__name__}: {exc}"))
    conn.close()
    os._exit(0)


@dataclass
class _Running:
    key: Any
    process: Any
    conn: Any
    start: float
    dump: Any
    reply: tuple[str, Any] | None = None


_FRAME = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def _crash_site(dump: Any) -> str:
    """Where a fatal signal hit: the innermost Python frame and, if another, the innermost
    frame in xtvm outside this harness (faulthandler lists the most recent call first)."""
    dump.seek(0)
    frames = _FRAME.findall(dump.read().decode("utf-8", "replace"))
    if not frames:
        return ""

    def show(frame: tuple[str, str, str]) -> str:
        path, line, func = frame
        parts = path.split(os.sep)
        short = os.sep.join(parts[parts.index("xtvm") :]) if "xtvm" in parts else parts[-1]
        return f"{short}:{line} ({func})"

    site = f" in {show(frames[0])}"
    harness = os.path.dirname(os.path.abspath(__file__))
    ours = next(
        (f for f in frames if f"{os.sep}xtvm{os.sep}" in f[0] and not f[0].startswith(harness)),
        None,
    )
    if ours is not None and ours != frames[0]:
        site += f" via {show(ours)}"
    return site


def _kill(proc: Any) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker's own group: it and its children
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.join()


def _finish(run: _Running, timed_out: bool) -> Outcome:
    seconds = time.perf_counter() - run.start
    if timed_out:
        _kill(run.process)
        run.conn.close()
        run.dump.close()
        message = f"timed out after {seconds:.0f} s"
        return Outcome(run.key, status=TIMEOUT, message=message, seconds=seconds)
    run.process.join()
    run.conn.close()
    site = _crash_site(run.dump) if run.reply is None else ""
    run.dump.close()
    if run.reply is None:
        code = run.process.exitcode
        if code is not None and code < 0:
            message = f"worker killed by {_signal_name(-code)}{site}"
        else:
            message = f"worker exited with status {code} without a result"
        return Outcome(run.key, status=CRASH, message=message, seconds=seconds)
    kind, payload = run.reply
    if kind == "ok":
        return Outcome(run.key, value=payload, seconds=seconds)
    return Outcome(run.key, status=CRASH, message=f"uncaught {payload}", seconds=seconds)


def run_isolated(
    tasks: Iterable[tuple[Any, Callable[..., Any], tuple[Any, ...]]],
    jobs: int = 2,
    timeout: float = 60.0,
) -> Iterator[Outcome]:
    """Run each ``(key, func, args)`` in its own forked process; yield outcomes as they end.

    ``func`` need not be picklable (it is inherited through fork); its return value must be.
    A task that raises is a CRASH with the exception's type, location and first line.
    """
    ctx = multiprocessing.get_context("fork")
    pending = iter(tasks)
    running: list[_Running] = []
    exhausted = False
    while running or not exhausted:
        while not exhausted and len(running) < max(1, jobs):
            try:
                key, func, args = next(pending)
            except StopIteration:
                exhausted = True
                break
            parent_conn, child_conn = ctx.Pipe(duplex=False)
            dump = tempfile.TemporaryFile()
            proc = ctx.Process(target=_child, args=(func, args, child_conn, dump), daemon=True)
            proc.start()
            child_conn.close()
            running.append(_Running(key, proc, parent_conn, time.perf_counter(), dump))
        if not running:
            break
        now = time.perf_counter()
        wait_for = max(0.0, min(r.start + timeout - now for r in running))
        handles = [r.conn for r in running if r.reply is None] + [
            r.process.sentinel for r in running
        ]
        ready = set(multiprocessing.connection.wait(handles, timeout=wait_for))
        still: list[_Running] = []
        for run in running:
            if run.reply is None and run.conn in ready:
                try:
                    run.reply = run.conn.recv()
                except (EOFError, OSError):
                    run.reply = None
                    ready.add(run.process.sentinel)
            if run.process.sentinel in ready or run.reply is not None:
                yield _finish(run, timed_out=False)
            elif time.perf_counter() - run.start >= timeout:
                yield _finish(run, timed_out=True)
            else:
                still.append(run)
        running = still
