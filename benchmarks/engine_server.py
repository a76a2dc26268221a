"""Isolated measurement: each engine in its own long-lived process, with default pools.

In one process, engines must stop their idle thread pools from spinning or they steal the
cores of the engine measured next; on a 2-core machine that forced sleep (libgomp's PASSIVE
wait) costs every parallel region a futex wake-up. Here the parent (``measure_isolated``)
starts one child per engine (``python engine_server.py``), each with fixed thread counts but
the engine's default wait policy, and runs their blocks in turn with a pause in between so
the previous engine's spinners fall asleep before the next one runs.

The protocol is one JSON object per line: the parent writes a request to the child's stdin,
the child answers one line on its stdout (``{"ok": true, ...}`` or ``{"ok": false,
"error": ...}``). The parent saves the model (``.onnx``) and inputs (``.npy``) to a temp
dir; children load them (no pickle) and write their outputs there as ``.npy``.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    Measurement,
    calibrate,
    error_text,
    interleave,
    max_abs_err,
    ort_session,
    thread_env,
    time_block,
)

# ---------------------------------------------------------------- child side


def _numpy_fn(case: Sequence) -> Callable[[dict[str, np.ndarray]], object]:
    """Rebuild the case (the suites draw from seeded generators in a fixed order) for its
    numpy closure; the parent checks the result against onnxruntime's."""
    from run import iter_cases

    suite, name, quick = case
    for _, case_name, (_, _, _, fn, *_) in iter_cases([suite], quick):
        if case_name == name:
            return fn
    raise KeyError(f"no case {name} in suite {suite}")


def _setup(req: dict) -> tuple[Callable[[], object], dict]:
    """Build the engine for ``req`` and run it once; returns the call and the reply."""
    feed = {k: np.load(p, allow_pickle=False) for k, p in req["inputs"].items()}
    engine, threads, compile_s = req["engine"], req["threads"], 0.0
    if engine == "xtvm":
        import onnx

        import xtvm

        start = time.perf_counter()
        shapes = req["shape_dict"] or {k: v.shape for k, v in feed.items()}
        lib = xtvm.build(
            xtvm.from_onnx(onnx.load(req["model"]), shapes), tuning_records=req["records"]
        )
        compile_s = time.perf_counter() - start
        fn: Callable[[], object] = lambda: lib.run(feed)  # noqa: E731
    elif engine == "onnxruntime":
        sess = ort_session(Path(req["model"]).read_bytes(), threads, spinning=True)
        fn = lambda: sess.run(None, feed)  # noqa: E731
    else:
        numpy_fn = _numpy_fn(req["case"])
        fn = lambda: numpy_fn(feed)  # noqa: E731
    out = fn()
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    paths = []
    for i, arr in enumerate(outs):
        paths.append(str(Path(req["out_dir"]) / f"{engine}_{i}.npy"))
        np.save(paths[-1], np.asarray(arr), allow_pickle=False)
    return fn, {"ok": True, "compile_s": compile_s, "outputs": paths}


def serve() -> int:
    """Answer the parent's requests until ``quit`` or end of input."""
    reply_to = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the engines print goes to stderr, not into the protocol
    fn: Callable[[], object] | None = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "quit":
                return 0
            if req["op"] == "setup":
                fn, reply = _setup(req)
            elif req["op"] == "calibrate":
                reply = {"ok": True, "number": calibrate(fn, req["min_round_s"])}
            else:  # "run"
                reply = {"ok": True, "ms": time_block(fn, req["n"])}
        except Exception as exc:  # reported to the parent, which ends this case
            reply = {"ok": False, "error": error_text(exc)}
        reply_to.write(json.dumps(reply) + "\n")
        reply_to.flush()
    return 0


# ---------------------------------------------------------------- parent side


class Child:
    """One engine's server process; every request waits at most ``timeout_s``."""

    def __init__(self, env: dict[str, str], timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._buf = b""

    def ask(self, **req: object) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        fd, deadline = self.proc.stdout.fileno(), time.monotonic() + self.timeout_s
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"{req['op']} took over {self.timeout_s:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"engine process exited ({self.proc.wait()}) during {req['op']}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(reply["error"])
        return reply

    def close(self) -> None:
        """Kill the process (a hung engine does not get to answer ``quit``)."""
        self.proc.kill()
        self.proc.wait()


def _save_case(
    tmp: Path, model: object, inputs: dict[str, np.ndarray]
) -> tuple[str, dict[str, str]]:
    import onnx

    onnx.save_model(model, str(tmp / "model.onnx"))
    paths = {}
    for i, (k, v) in enumerate(inputs.items()):
        paths[k] = str(tmp / f"input_{i}.npy")
        np.save(paths[k], np.asarray(v), allow_pickle=False)
    return str(tmp / "model.onnx"), paths


def measure_isolated(
    case: tuple[str, str, bool],
    model: object,
    inputs: dict[str, np.ndarray],
    threads: int,
    flops: float = 0.0,
    has_numpy: bool = False,
    rounds: int = 15,
    min_round_s: float = 0.05,
    shape_dict: dict[str, Sequence[int]] | None = None,
    tuning_records: str | None = None,
    pause_s: float = 0.25,
    timeout_s: float = 900.0,
) -> Measurement:
    """``harness.measure`` with each engine in its own process (``case`` is
    ``(suite, name, quick)``, which the numpy process needs to rebuild its closure)."""
    m = Measurement(case[1], flops)
    engines = ["xtvm", "onnxruntime"] + (["numpy"] if has_numpy else [])
    children: dict[str, Child] = {}
    with tempfile.TemporaryDirectory(prefix="xtvm-bench-") as tmp:
        try:
            model_path, input_paths = _save_case(Path(tmp), model, inputs)
            outputs, number = {}, {}
            for engine in engines:  # one at a time: compile_s is not shared with a neighbour
                children[engine] = child = Child(thread_env(threads), timeout_s)
                reply = child.ask(
                    op="setup",
                    engine=engine,
                    threads=threads,
                    model=model_path,
                    inputs=input_paths,
                    shape_dict={k: list(v) for k, v in (shape_dict or {}).items()} or None,
                    records=tuning_records,
                    case=list(case),
                    out_dir=tmp,
                )
                outputs[engine] = [np.load(p, allow_pickle=False) for p in reply["outputs"]]
                m.compile_s += reply["compile_s"]
                number[engine] = child.ask(op="calibrate", min_round_s=min_round_s)["number"]
            want = outputs["onnxruntime"]
            m.max_abs_err = max_abs_err(outputs["xtvm"], want)
            if has_numpy:
                err, scale = max_abs_err(outputs["numpy"], want), float(np.max(np.abs(want[0])))
                if err > 1e-3 * (1.0 + scale):
                    raise RuntimeError(f"numpy differs from onnxruntime by {err:.3g}")
            blocks = {
                e: (lambda c=children[e], n=number[e]: c.ask(op="run", n=n)["ms"]) for e in engines
            }
            m.times_ms = interleave(blocks, rounds, pause_s)
        except Exception as exc:  # this case's row, not the end of the run
            m.error = error_text(exc)
            m.times_ms = {}
        finally:
            for child in children.values():
                child.close()
    return m


if __name__ == "__main__":
    sys.exit(serve())
