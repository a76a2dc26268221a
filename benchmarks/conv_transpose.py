"""Transposed convolutions with and without ``relay-decompose-conv-transpose``, against
onnxruntime.

    python benchmarks/conv_transpose.py [--case standalone|dbnet] [--threads 1] [--rounds 7]
                                        [--profile]

``standalone``: one ConvTranspose 64 -> 64, kernel 2, stride 2, with bias, on a
1x64x160x160 input (a 320x320 output). ``dbnet``: the zoo's DBNet-like model at its real
size (1x3x320x320). "before" builds with the ``O3`` pipeline minus the decomposition (the
direct ``conv2d_transpose`` compute), "after" with ``O3``. Rounds alternate between the
engines; the table shows the median and fastest round. ``--profile`` also prints each
build's per-kernel time table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import onnx
from onnx import helper

PASS = "relay-decompose-conv-transpose"


def standalone() -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    from xtvm.testing.onnx_check import float_model

    rng = np.random.default_rng(0)
    c = 64
    inits = {
        "w": (rng.standard_normal((c, c, 2, 2)) * 0.1).astype(np.float32),
        "b": rng.standard_normal(c).astype(np.float32),
    }
    node = helper.make_node(
        "ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=[2, 2], strides=[2, 2]
    )
    model = float_model([node], {"x": (1, c, 160, 160)}, ["y"], 17, inits)
    return model, {"x": rng.standard_normal((1, c, 160, 160)).astype(np.float32)}


def dbnet() -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    from xtvm.testing import model_zoo

    return model_zoo.make_model("dbnet_like", "real"), model_zoo.random_inputs("dbnet_like", "real")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", choices=["standalone", "dbnet"], default="standalone")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import onnxruntime as ort

    import xtvm
    from xtvm.passes.registry import PIPELINES

    model, feeds = standalone() if args.case == "standalone" else dbnet()
    shapes = {k: v.shape for k, v in feeds.items()}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    want = sess.run(None, feeds)
    assert PASS in PIPELINES["O3"], "the O3 pipeline no longer runs the decomposition"
    pipelines = {"before": PIPELINES["O3"].replace(f"{PASS},", ""), "after": PIPELINES["O3"]}
    engines: dict[str, Callable[[], object]] = {}
    for label, spec in pipelines.items():
        start = time.perf_counter()
        lib = xtvm.build(
            xtvm.from_onnx(model, shapes),
            pipeline=spec,
            num_threads=args.threads,
            profile=args.profile,
        )
        err = max(float(np.abs(g - w).max()) for g, w in zip(lib.run(feeds), want))
        print(f"xtvm {label}: built in {time.perf_counter() - start:.1f} s, max abs err {err:.2e}")
        if args.profile:
            print(lib.profile(feeds, repeat=3))
        engines[f"xtvm {label}"] = lambda lib=lib: lib.run(feeds)
    engines["onnxruntime"] = lambda: sess.run(None, feeds)
    times: dict[str, list[float]] = {k: [] for k in engines}
    for fn in engines.values():
        fn()
    for _ in range(args.rounds):
        for key, fn in engines.items():
            t0 = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - t0) * 1000.0)
    print(f"\n{args.case}, {args.threads} thread(s), {args.rounds} rounds")
    print(f"{'engine':<14} {'median ms':>10} {'min ms':>10}")
    for key, ts in times.items():
        print(f"{key:<14} {statistics.median(ts):10.2f} {min(ts):10.2f}")


if __name__ == "__main__":
    main()
