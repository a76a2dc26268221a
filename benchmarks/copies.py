"""Data-movement operators (concat, slice, resize, transpose, pad): xtvm against onnxruntime
and numpy, one thread.

    OMP_NUM_THREADS=1 XTVM_NUM_THREADS=1 python benchmarks/copies.py [--rounds 15] [--filter s]

Every case is a one-node ONNX model at a size taken from a real network (rotary-embedding
halves, YOLO's Focus slices and upsampling, DBNet's bilinear upsampling, BERT's head
transposes, NCHW<->NHWC conversions, conv padding). Rounds alternate between the engines,
rotating who goes first; medians are reported. "xtvm kernels" calls the compiled entry
point directly with bound buffers (the generated code without the runtime's Python argument
checks, which cost tens of microseconds per call); the ratios compare it with onnxruntime
and numpy (a numpy expression producing the same contiguous array). ``vec`` says whether
the kernel's tir has vector stores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reductions import _raw_entry, _round_runner  # noqa: E402

RNG = np.random.default_rng(0)
Case = tuple[str, onnx.ModelProto, dict[str, np.ndarray], Callable[[dict], np.ndarray]]


def _model(
    node: onnx.NodeProto, inputs: dict[str, tuple[int, ...]], inits: dict | None = None
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(s)) for k, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _i64(*v: int) -> np.ndarray:
    return np.array(v, np.int64)


def _concat(name: str, shapes: list[tuple[int, ...]], axis: int) -> Case:
    names = [f"x{k}" for k in range(len(shapes))]
    node = helper.make_node("Concat", names, ["y"], axis=axis)
    feeds = {n: _x(*s) for n, s in zip(names, shapes)}
    return (
        name,
        _model(node, dict(zip(names, shapes))),
        feeds,
        lambda f: np.concatenate([f[n] for n in names], axis),
    )


def _slice(name: str, shape, starts, ends, axes, steps) -> Case:
    node = helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])
    inits = {"s": _i64(*starts), "e": _i64(*ends), "a": _i64(*axes), "t": _i64(*steps)}
    index = [slice(None)] * len(shape)
    for s, e, a, t in zip(starts, ends, axes, steps):
        index[a] = slice(s, e, t)
    sl = tuple(index)
    return (
        name,
        _model(node, {"x": shape}, inits),
        {"x": _x(*shape)},
        lambda f: np.ascontiguousarray(f["x"][sl]),
    )


def _linear_taps(n: int, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """half_pixel linear taps along one dim: (low index, high index, high weight)."""
    c = np.clip((np.arange(n * scale, dtype=np.float32) + 0.5) / scale - 0.5, 0, n - 1)
    lo = np.floor(c).astype(np.int64)
    return lo, np.minimum(lo + 1, n - 1), (c - lo).astype(np.float32)


def _resize_linear_np(x: np.ndarray, scale: int) -> np.ndarray:
    h0, h1, wh = _linear_taps(x.shape[2], scale)
    w0, w1, ww = _linear_taps(x.shape[3], scale)
    rows = x[:, :, h0] * (1 - wh)[:, None] + x[:, :, h1] * wh[:, None]
    return rows[..., w0] * (1 - ww) + rows[..., w1] * ww


def _resize(name: str, shape, scale: int, mode: str, coord: str, nearest: str) -> Case:
    node = helper.make_node(
        "Resize",
        ["x", "", "sc"],
        ["y"],
        mode=mode,
        coordinate_transformation_mode=coord,
        nearest_mode=nearest,
    )
    sc = np.array([1, 1, scale, scale], np.float32)
    if mode == "nearest":

        def ref(f: dict) -> np.ndarray:
            return np.repeat(np.repeat(f["x"], scale, axis=2), scale, axis=3)
    else:

        def ref(f: dict) -> np.ndarray:
            return _resize_linear_np(f["x"], scale)

    return name, _model(node, {"x": shape}, {"sc": sc}), {"x": _x(*shape)}, ref


def _transpose(name: str, shape, perm) -> Case:
    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    return (
        name,
        _model(node, {"x": shape}),
        {"x": _x(*shape)},
        lambda f: np.ascontiguousarray(f["x"].transpose(perm)),
    )


def _pad(name: str, shape, pads, mode: str) -> Case:
    node = helper.make_node("Pad", ["x", "p"], ["y"], mode=mode)
    r = len(shape)
    width = [(pads[d], pads[r + d]) for d in range(r)]
    np_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}[mode]
    return (
        name,
        _model(node, {"x": shape}, {"p": _i64(*pads)}),
        {"x": _x(*shape)},
        lambda f: np.pad(f["x"], width, mode=np_mode),
    )


def copy_cases() -> Iterator[Case]:
    yield _concat("concat last [1,12,128,32]x2", [(1, 12, 128, 32)] * 2, -1)
    yield _concat("concat last [64,384]+[64,128]", [(64, 384), (64, 128)], -1)
    yield _concat("concat last odd [64,50,13]+[64,50,7]", [(64, 50, 13), (64, 50, 7)], -1)
    yield _concat("concat channels [1,128,40,40]x2", [(1, 128, 40, 40)] * 2, 1)
    yield _slice(
        "slice [1,64,80,80] [1:63,3:77]", (1, 64, 80, 80), (1, 3), (63, 77), (1, 3), (1, 1)
    )
    yield _slice(
        "slice ::2,1::2 [1,3,640,640] (Focus)", (1, 3, 640, 640), (0, 1), (640, 640), (2, 3), (2, 2)
    )
    yield _slice("slice rows ::2 [1,32,160,160]", (1, 32, 160, 160), (0,), (160,), (2,), (2,))
    yield _resize(
        "resize nearest 2x [1,128,40,40]", (1, 128, 40, 40), 2, "nearest", "asymmetric", "floor"
    )
    yield _resize(
        "resize nearest 2x half_pixel [1,64,80,80]",
        (1, 64, 80, 80),
        2,
        "nearest",
        "half_pixel",
        "round_prefer_floor",
    )
    yield _resize(
        "resize linear 2x [1,64,80,80]", (1, 64, 80, 80), 2, "linear", "half_pixel", "floor"
    )
    yield _transpose("transpose 0213 [1,128,12,64]", (1, 128, 12, 64), (0, 2, 1, 3))
    yield _transpose("transpose 0132 [1,12,197,64]", (1, 12, 197, 64), (0, 1, 3, 2))
    yield _transpose("transpose NCHW->NHWC [1,64,56,56]", (1, 64, 56, 56), (0, 2, 3, 1))
    yield _transpose("transpose NCHW->NHWC [1,3,224,224]", (1, 3, 224, 224), (0, 2, 3, 1))
    yield _transpose("transpose NHWC->NCHW [1,224,224,3]", (1, 224, 224, 3), (0, 3, 1, 2))
    yield _pad("pad constant 1 [1,32,80,80]", (1, 32, 80, 80), (0, 0, 1, 1, 0, 0, 1, 1), "constant")
    yield _pad("pad reflect 2 [1,32,80,80]", (1, 32, 80, 80), (0, 0, 2, 2, 0, 0, 2, 2), "reflect")


def measure(case: Case, rounds: int) -> dict:
    """Compile, check against numpy and onnxruntime, then interleave timing rounds."""
    import onnxruntime as ort

    import xtvm

    name, model, feeds, numpy_fn = case
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(
        model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    lib = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()}))
    (got,) = lib.run(feeds)
    (want,) = sess.run(None, feeds)
    ref = numpy_fn(feeds)
    err = max(float(np.max(np.abs(got - want))), float(np.max(np.abs(got - ref))))
    engines = {
        "xtvm": lambda: lib.run(feeds),
        "xtvm kernels": _raw_entry(lib, feeds),
        "onnxruntime": lambda: sess.run(None, feeds),
        "numpy": lambda: numpy_fn(feeds),
    }
    runners = {k: _round_runner(fn) for k, fn in engines.items()}
    samples: dict[str, list[float]] = {k: [] for k in engines}
    order = list(engines)
    for r in range(rounds):
        for key in order[r % len(order) :] + order[: r % len(order)]:
            samples[key].append(runners[key]()[0])
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "name": name,
        "median_ms": med,
        "max_abs_err": err,
        "vectorized": "vector.store" in lib.get_source("tir"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--filter", default="", help="only cases whose name contains this")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    if os.environ.get("XTVM_NUM_THREADS", "1") != "1" or os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 XTVM_NUM_THREADS=1 (one thread per engine)")
    print(
        "| case | vec | xtvm ms | xtvm kernels ms | onnxruntime ms | numpy ms "
        "| kernels/ORT | kernels/numpy | xtvm/ORT | max abs err |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for case in copy_cases():
        if args.filter not in case[0]:
            continue
        row = measure(case, args.rounds)
        rows.append(row)
        m = row["median_ms"]
        x, k, o, n = m["xtvm"], m["xtvm kernels"], m["onnxruntime"], m["numpy"]
        print(
            f"| {row['name']} | {'yes' if row['vectorized'] else 'no'} | {x:.4f} | {k:.4f} "
            f"| {o:.4f} | {n:.4f} | {k / o:.2f} | {k / n:.2f} | {x / o:.2f} "
            f"| {row['max_abs_err']:.1e} |",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
