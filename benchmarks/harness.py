"""Interleaved latency measurement of xtvm against onnxruntime and numpy.

Every engine runs the same inputs; rounds alternate between engines (xtvm, onnxruntime,
numpy, xtvm, ...) so that frequency changes and background load hit all of them alike.
Thread counts are fixed for every engine before anything is imported (see ``run.py``).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XTVM_NUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """This environment with every engine's pool size fixed to ``threads`` (set before the
    engines are imported: their pools read it once)."""
    return {**os.environ, **{var: str(threads) for var in THREAD_VARS}}


@dataclass
class Measurement:
    name: str
    flops: float  # floating-point operations of one run (0 when not meaningful)
    times_ms: dict[str, list[float]] = field(default_factory=dict)
    compile_s: float = 0.0
    max_abs_err: float = 0.0
    error: str = ""

    def median(self, engine: str) -> float:
        return (
            statistics.median(self.times_ms[engine]) if self.times_ms.get(engine) else float("nan")
        )

    def gflops(self, engine: str) -> float:
        m = self.median(engine)
        return self.flops / (m * 1e6) if self.flops and m == m else float("nan")


def error_text(exc: BaseException) -> str:
    """One line naming the exception: a failing case becomes a row, not the end of the run."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def ort_session(model: onnx.ModelProto | bytes, threads: int, spinning: bool = False):
    """An onnxruntime CPU session with ``threads`` intra-op threads. ``spinning=False`` makes
    idle workers sleep: in-process mode alternates engines in one process, where a spinning
    pool takes the cores of the engine measured next (it does not make onnxruntime slower
    when measured alone on this machine). Isolated mode keeps onnxruntime's default (spin)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])


def max_abs_err(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> float:
    return max(
        (float(np.max(np.abs(g - w))) if np.size(g) else 0.0 for g, w in zip(got, want)),
        default=0.0,
    )


def calibrate(fn: Callable[[], object], min_round_s: float) -> int:
    """Calls per block so that one block lasts at least ``min_round_s`` (after a warm-up)."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return max(1, int(min_round_s / one))


def time_block(fn: Callable[[], object], n: int) -> float:
    """Milliseconds per call over ``n`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) * 1000.0 / n


def interleave(
    blocks: dict[str, Callable[[], float]], rounds: int, pause_s: float = 0.0
) -> dict[str, list[float]]:
    """Run each engine's block once per round, rotating who goes first so that no engine
    always follows the same neighbour; ``pause_s`` before each block lets the previous
    engine's spinning workers go to sleep (isolated mode)."""
    times: dict[str, list[float]] = {key: [] for key in blocks}
    order = list(blocks)
    for r in range(rounds):
        for key in order[r % len(order) :] + order[: r % len(order)]:
            if pause_s:
                time.sleep(pause_s)
            times[key].append(blocks[key]())
    return times


def measure(
    name: str,
    model: onnx.ModelProto,
    inputs: dict[str, np.ndarray],
    threads: int,
    flops: float = 0.0,
    numpy_fn: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
    rounds: int = 15,
    min_round_s: float = 0.05,
    shape_dict: dict[str, Sequence[int]] | None = None,
    tuning_records: str | None = None,
) -> Measurement:
    """Compile ``model`` with xtvm (applying ``tuning_records`` when given), check it
    against onnxruntime, then time all engines in this process."""
    import xtvm

    m = Measurement(name, flops)
    sess = ort_session(model, threads)
    feed = dict(inputs)
    start = time.perf_counter()
    try:
        lib = xtvm.build(
            xtvm.from_onnx(model, shape_dict or {k: v.shape for k, v in feed.items()}),
            tuning_records=tuning_records,
        )
        m.compile_s = time.perf_counter() - start
        m.max_abs_err = max_abs_err(lib.run(feed), sess.run(None, feed))
    except Exception as exc:  # a compile, run or comparison failure is this case's row
        m.error = error_text(exc)
        return m

    engines: dict[str, Callable[[], object]] = {
        "xtvm": lambda: lib.run(feed),
        "onnxruntime": lambda: sess.run(None, feed),
    }
    if numpy_fn is not None:
        engines["numpy"] = lambda: numpy_fn(feed)
    number = {key: calibrate(fn, min_round_s) for key, fn in engines.items()}
    blocks = {key: (lambda fn=fn, n=number[key]: time_block(fn, n)) for key, fn in engines.items()}
    m.times_ms = interleave(blocks, rounds)
    return m


def geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v == v and v > 0]
    return float(np.exp(np.mean(np.log(vals)))) if vals else float("nan")
