"""Interleaved latency measurement of xtvm against onnxruntime and numpy.

Every engine runs the same inputs; rounds alternate between engines (xtvm, onnxruntime,
numpy, xtvm, ...) so that frequency changes and background load hit all of them alike.
Thread counts are fixed for every engine before anything is imported (see ``run.py``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx


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


def _ort_session(model: onnx.ModelProto, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # idle workers sleep instead of spinning: engines alternate in one process, and a
    # spinning pool would take the cores of the engine measured next (it does not make
    # onnxruntime slower when measured alone on this machine)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )


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
    against onnxruntime, then time all engines."""
    import xtvm

    m = Measurement(name, flops)
    sess = _ort_session(model, threads)
    feed = dict(inputs)
    start = time.perf_counter()
    try:
        lib = xtvm.build(
            xtvm.from_onnx(model, shape_dict or {k: v.shape for k, v in feed.items()}),
            tuning_records=tuning_records,
        )
    except Exception as exc:  # report, keep benchmarking the rest
        m.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return m
    m.compile_s = time.perf_counter() - start
    try:
        got = lib.run(feed)
        want = sess.run(None, feed)
        m.max_abs_err = max(
            float(np.max(np.abs(g - w))) if g.size else 0.0 for g, w in zip(got, want)
        )
    except Exception as exc:  # a run or comparison failure is this case's row, not the end
        m.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return m

    engines: dict[str, Callable[[], object]] = {
        "xtvm": lambda: lib.run(feed),
        "onnxruntime": lambda: sess.run(None, feed),
    }
    if numpy_fn is not None:
        engines["numpy"] = lambda: numpy_fn(feed)
    # calibrate: enough calls per round that one round lasts at least ``min_round_s``
    number: dict[str, int] = {}
    for key, fn in engines.items():
        fn()
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        number[key] = max(1, int(min_round_s / one))
        m.times_ms[key] = []
    order = list(engines)
    for r in range(rounds):
        # rotate who goes first, so no engine always follows the same neighbour
        for key in order[r % len(order) :] + order[: r % len(order)]:
            fn = engines[key]
            n = number[key]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            m.times_ms[key].append((time.perf_counter() - t0) * 1000.0 / n)
    return m


def geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v == v and v > 0]
    return float(np.exp(np.mean(np.log(vals)))) if vals else float("nan")
