"""Reduction-heavy kernels and a BERT-style encoder: xtvm against onnxruntime, one thread.

    OMP_NUM_THREADS=1 XTVM_NUM_THREADS=1 python benchmarks/reductions.py [--bert] [--json out.json]

Cases: softmax over the last axis of [12, 128, 128] (BERT-base attention scores at sequence
128), layer normalization over the last axis of [128, 768] (BERT-base hidden states),
ReduceMean over the last axis of [128, 768], a transpose of [768, 768], and with ``--bert``
the zoo's ``bert_like`` model at its real size (BERT-base, sequence 128).

Both engines run on the calling thread (one thread), so besides wall time the table gives
that thread's CPU time, which load from other processes on a shared machine barely moves.
Rounds alternate between engines; medians are reported. "xtvm kernels" calls the compiled
entry point directly with bound buffers: the time of the generated code without the
runtime's Python argument checks (which cost tens of microseconds per call).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)


def _model(
    nodes: list[onnx.NodeProto], shape: tuple[int, ...], inits: dict[str, np.ndarray], opset: int
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def reduction_cases(bert: bool) -> Iterator[tuple[str, onnx.ModelProto, dict, dict | None]]:
    """(name, model, feeds, shape_dict) per case."""
    s = (12, 128, 128)
    yield (
        "softmax [12,128,128] axis -1",
        _model([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], s, {}, 13),
        {"x": _x(*s)},
        None,
    )
    ln = (128, 768)
    inits = {"s": _x(768), "b": _x(768)}
    yield (
        "layer norm [128,768] axis -1",
        _model(
            [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1)], ln, inits, 17
        ),
        {"x": _x(*ln)},
        None,
    )
    yield (
        "ReduceMean [128,768] axis -1",
        _model(
            [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)],
            ln,
            {"axes": np.array([-1], np.int64)},
            18,
        ),
        {"x": _x(*ln)},
        None,
    )
    t = (768, 768)
    yield (
        "transpose [768,768]",
        _model([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])], t, {}, 13),
        {"x": _x(*t)},
        None,
    )
    if bert:
        from xtvm.testing import model_zoo

        fam = model_zoo.FAMILIES["bert_like"]
        yield (
            "bert_like (real: BERT-base, seq 128)",
            model_zoo.make_model("bert_like", "real"),
            model_zoo.random_inputs("bert_like", "real"),
            fam.shape_dict("real"),
        )


def _round_runner(
    fn: Callable[[], object], min_round_s: float = 0.05
) -> Callable[[], tuple[float, float]]:
    """A function running one round of ``fn`` (as many calls as fill ``min_round_s``) and
    returning (wall ms, thread CPU ms) per call."""
    fn()
    t0 = time.perf_counter()
    fn()
    number = max(1, int(min_round_s / max(time.perf_counter() - t0, 1e-7)))

    def one_round() -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(number):
            fn()
        return (
            (time.perf_counter() - w0) * 1e3 / number,
            (time.thread_time() - c0) * 1e3 / number,
        )

    return one_round


def _raw_entry(lib, feeds: dict[str, np.ndarray]) -> Callable[[], object]:
    """The compiled entry point with buffers bound once (no per-call checks); outputs are
    64-byte aligned, as the runtime guarantees kernels."""
    from xtvm.runtime.module import aligned_empty

    mod = lib.module
    arrays = mod._bind(feeds)
    outs = [aligned_empty(o["shape"], o["dtype"]) for o in mod._outputs]
    keep = arrays + outs
    slots = (ctypes.c_void_p * len(keep))(*[arr.ctypes.data for arr in keep])  # our own
    args = ctypes.cast(slots, ctypes.c_void_p)
    workspace = mod._workspace.ctypes.data

    def call() -> object:
        return mod._entry(args, workspace), keep, slots

    return call


def measure(name: str, model: onnx.ModelProto, feeds: dict, shapes: dict | None, rounds: int):
    """Compile, check against onnxruntime, then interleave timing rounds of every engine."""
    import onnxruntime as ort

    import xtvm

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(
        model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    t0 = time.perf_counter()
    lib = xtvm.build(xtvm.from_onnx(model, shapes or {k: v.shape for k, v in feeds.items()}))
    compile_s = time.perf_counter() - t0
    err = max(float(np.max(np.abs(g - w))) for g, w in zip(lib.run(feeds), sess.run(None, feeds)))
    engines = {
        "xtvm": lambda: lib.run(feeds),
        "xtvm kernels": _raw_entry(lib, feeds),
        "onnxruntime": lambda: sess.run(None, feeds),
    }
    runners = {k: _round_runner(fn) for k, fn in engines.items()}
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in engines}
    for _ in range(rounds):
        for key, run in runners.items():
            samples[key].append(run())
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in samples.items()
    }
    return med, err, compile_s


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--bert", action="store_true", help="also the BERT-style encoder")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    if os.environ.get("XTVM_NUM_THREADS", "1") != "1":
        print("note: set OMP_NUM_THREADS=1 XTVM_NUM_THREADS=1 (one thread per engine)")
    rows = []
    print(
        "| case | xtvm ms (CPU) | xtvm kernels ms (CPU) | onnxruntime ms (CPU) | xtvm/ORT (CPU) "
        "| xtvm ms (wall) | onnxruntime ms (wall) | max abs err | compile s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, model, feeds, shapes in reduction_cases(args.bert):
        med, err, compile_s = measure(name, model, feeds, shapes, args.rounds)
        (xw, xc), (_, kc), (ow, oc) = med["xtvm"], med["xtvm kernels"], med["onnxruntime"]
        rows.append({"name": name, "median_ms": med, "max_abs_err": err, "compile_s": compile_s})
        print(
            f"| {name} | {xc:.3f} | {kc:.3f} | {oc:.3f} | {xc / oc:.2f} | {xw:.3f} | {ow:.3f} "
            f"| {err:.1e} | {compile_s:.1f} |",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
