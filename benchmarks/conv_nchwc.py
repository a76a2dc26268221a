"""Blocked-layout convolution kernels (``conv2d_nchwc`` + its x86 schedule) against
onnxruntime on the ResNet-18 convolution layers, or on grouped ResNeXt-style ones.

    python benchmarks/conv_nchwc.py [--threads 1,2] [--layers layer1_3x3,...] [--block 0]
                                    [--epilogue] [--rounds 15] [--clock wall|cpu]
                                    [--suite resnet18|grouped] [--nchw]

Each layer is one ``te.kernel`` built by hand (data ``NCHW{cb}c``, weights
``OIHW{cb}i{ob}o``, result ``NCHW{ob}c``; layout transforms are not timed), given the
default x86 schedule and compiled with the te-to-llvm part of the ``O3`` pipeline.
onnxruntime runs the same convolution in NCHW (with ``--epilogue``: conv + bias + relu in
both). Rounds alternate between the engines so that background load hits both alike; the
table shows the fastest round (the least disturbed one) and the median. ``--block 0`` picks
the channel block as TVM does: the largest divisor of the channel count not above the
vector lanes of this machine (for a grouped layer: of its channels per group).
``--nchw`` adds the same convolution as an NCHW kernel (``conv2d_nchw`` with the default
x86 schedule): what a convolution that ``relay-alter-layout`` leaves in NCHW runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, f32

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernels import RESNET18_CONVS  # noqa: E402

RNG = np.random.default_rng(0)

# (name, channels in, channels out, size, kernel, stride, groups): 3x3 grouped convolutions
# of ResNeXt-50 32x4d (4, 8 and 16 channels per group), a strided one, and 8 wide groups.
GROUPED_CONVS = [
    ("rx_s1_g32", 128, 128, 56, 3, 1, 32),
    ("rx_s2_g32", 256, 256, 28, 3, 1, 32),
    ("rx_s2_g32s2", 256, 256, 56, 3, 2, 32),
    ("rx_s3_g32", 512, 512, 14, 3, 1, 32),
    ("g8_256", 256, 256, 28, 3, 1, 8),
    ("g4_64_1x1", 64, 64, 28, 1, 1, 4),
]


def lowering_pipeline() -> str:
    """The te-to-llvm part of the ``O3`` pipeline (what a compiled model's kernels get)."""
    from xtvm.passes.registry import PIPELINES

    spec = PIPELINES["O3"]
    return spec[spec.index("convert-te-to-tir") :]


def build_conv(
    c: int,
    k_out: int,
    size: int,
    k: int,
    stride: int,
    cb: int,
    ob: int,
    epilogue: bool,
    threads: int,
    groups: int = 1,
    nchw: bool = False,
):
    """``main(x, w[, b]) -> y``: one blocked convolution kernel (``nchw``: an NCHW one;
    ``cb`` and ``ob`` are then ignored), compiled."""
    import xtvm
    from xtvm.dialects.te import CallOp
    from xtvm.topi import KernelBuilder, nn
    from xtvm.topi.x86 import apply_default_schedule

    kb = KernelBuilder("conv")
    pad = k // 2
    if nchw:
        phs = [
            kb.placeholder((1, c, size, size), f32, "x"),
            kb.placeholder((k_out, c // groups, k, k), f32, "w"),
        ]
        if epilogue:
            phs.append(kb.placeholder((1, k_out, 1, 1), f32, "b"))
        y = nn.conv2d_nchw(phs[0], phs[1], (stride, stride), (pad,) * 4, groups=groups)
    else:
        phs = [
            kb.placeholder((1, c // cb, size, size, cb), f32, "x"),
            kb.placeholder((k_out // ob, c // groups // cb, k, k, cb, ob), f32, "w"),
        ]
        if epilogue:
            phs.append(kb.placeholder((1, k_out // ob, 1, 1, ob), f32, "b"))
        y = nn.conv2d_nchwc(phs[0], phs[1], (stride, stride), (pad,) * 4, groups=groups)
    if epilogue:
        y = nn.relu(nn.add(y, phs[2]))
    kb.output(y)
    kernel = kb.finish()
    apply_default_schedule(kernel)
    types = [p.type for p in phs]
    f = func.FuncOp("main", (types, [y.type]))
    call = CallOp(kernel.sym_name.data, f.args, [y.type])
    f.body.block.add_ops([call, func.ReturnOp(call.res[0])])
    return xtvm.build(ModuleOp([kernel, f]), pipeline=lowering_pipeline(), num_threads=threads)


def onnx_conv(
    w: np.ndarray, b: np.ndarray | None, size: int, stride: int, groups: int = 1
) -> onnx.ModelProto:
    k_out, cpg, k, _ = w.shape
    c = cpg * groups
    pad = k // 2
    out = (size + 2 * pad - k) // stride + 1
    inits = [numpy_helper.from_array(w, "w")]
    conv_in = ["x", "w"]
    nodes = []
    if b is not None:
        inits.append(numpy_helper.from_array(b, "b"))
        conv_in.append("b")
    attrs = {"strides": [stride] * 2, "pads": [pad] * 4, "kernel_shape": [k, k], "group": groups}
    nodes.append(helper.make_node("Conv", conv_in, ["c" if b is not None else "y"], **attrs))
    if b is not None:
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
    g = helper.make_graph(
        nodes,
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k_out, out, out])],
        initializer=inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def interleaved(
    engines: dict[str, Callable[[], object]], rounds: int, clock: Callable[[], float]
) -> dict[str, list[float]]:
    """Milliseconds per call of each engine, one round of each in turn."""
    number, times = {}, {}
    for key, fn in engines.items():
        fn()
        t0 = time.perf_counter()
        fn()
        number[key] = max(1, int(0.05 / max(time.perf_counter() - t0, 1e-7)))
        times[key] = []
    for _ in range(rounds):
        for key, fn in engines.items():
            t0 = clock()
            for _ in range(number[key]):
                fn()
            times[key].append((clock() - t0) * 1e3 / number[key])
    return times


def bench_layer(
    layer,
    threads: int,
    block: int,
    epilogue: bool,
    rounds: int,
    clock: Callable[[], float],
    nchw: bool = False,
) -> dict:
    import onnxruntime as ort

    from xtvm.backends.llvm.target import Target
    from xtvm.dialects.relay.layout_spec import transform_array
    from xtvm.passes.relay.alter_layout_rules import channel_block

    name, c, k_out, size, k, stride, *rest = layer
    groups = rest[0] if rest else 1
    cpg, opg = c // groups, k_out // groups
    lanes = Target.host().vector_lanes(32)
    cb = block if block and cpg % block == 0 else channel_block(cpg, lanes)
    ob = block if block and opg % block == 0 else channel_block(opg, lanes)
    x = RNG.standard_normal((1, c, size, size)).astype(np.float32)
    w = (RNG.standard_normal((k_out, cpg, k, k)) * np.sqrt(2.0 / (cpg * k * k))).astype(np.float32)
    b = RNG.standard_normal(k_out).astype(np.float32) if epilogue else None
    lib = build_conv(c, k_out, size, k, stride, cb, ob, epilogue, threads, groups)
    args = [transform_array(x, "NCHW", f"NCHW{cb}c"), transform_array(w, "OIHW", f"OIHW{cb}i{ob}o")]
    if b is not None:
        args.append(b.reshape(1, k_out // ob, 1, 1, ob))
    engines: dict[str, Callable[[], object]] = {"xtvm": lambda: lib.run(args)}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(
        onnx_conv(w, b, size, stride, groups).SerializeToString(),
        opts,
        providers=["CPUExecutionProvider"],
    )
    want = sess.run(None, {"x": x})[0]
    got = transform_array(lib.run(args)[0], f"NCHW{ob}c", "NCHW")
    err = float(np.max(np.abs(got - want)))
    if nchw:
        plain = build_conv(c, k_out, size, k, stride, 0, 0, epilogue, threads, groups, True)
        plain_args = [x, w]
        if b is not None:
            plain_args.append(b.reshape(1, k_out, 1, 1))
        err = max(err, float(np.max(np.abs(plain.run(plain_args)[0] - want))))
        engines["xtvm_nchw"] = lambda: plain.run(plain_args)
    engines["onnxruntime"] = lambda: sess.run(None, {"x": x})
    times = interleaved(engines, rounds, clock)
    out = (size + 2 * (k // 2) - k) // stride + 1
    flops = 2.0 * k_out * out * out * cpg * k * k
    row = {"layer": name, "threads": threads, "cb": cb, "ob": ob, "max_abs_err": err}
    for key, ts in times.items():
        row[key] = {"min_ms": min(ts), "median_ms": statistics.median(ts)}
        row[key]["gflops"] = flops / (min(ts) * 1e6)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--layers", default="", help="comma-separated names (default: all)")
    ap.add_argument("--block", type=int, default=0, help="channel block (0: the lane count)")
    ap.add_argument("--epilogue", action="store_true", help="bias + relu after the conv")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--suite", choices=("resnet18", "grouped"), default="resnet18")
    ap.add_argument("--nchw", action="store_true", help="also time the NCHW kernel")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: this process's CPU time (all threads), steadier on a loaded machine",
    )
    a = ap.parse_args()
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    wanted = set(filter(None, a.layers.split(",")))
    suite = GROUPED_CONVS if a.suite == "grouped" else RESNET18_CONVS
    layers = [lay for lay in suite if not wanted or lay[0] in wanted]
    print(
        f"{'layer':14} {'thr':>3} {'cb/ob':>5} {'xtvm ms':>9} {'ort ms':>8} "
        f"{'ort/xtvm':>8} {'GFLOP/s':>8} {'median xtvm/ort':>16} {'err':>8}"
        + (f" {'nchw ms':>8} {'median nchw':>11}" if a.nchw else "")
    )
    for threads in (int(t) for t in a.threads.split(",")):
        for layer in layers:
            r = bench_layer(layer, threads, a.block, a.epilogue, a.rounds, clock, a.nchw)
            xt, ox = r["xtvm"], r["onnxruntime"]
            line = (
                f"{r['layer']:14} {threads:>3} {r['cb']:>2}/{r['ob']:<2} {xt['min_ms']:9.3f} "
                f"{ox['min_ms']:8.3f} {ox['min_ms'] / xt['min_ms']:8.2f} {xt['gflops']:8.1f} "
                f"{xt['median_ms']:7.3f}/{ox['median_ms']:<8.3f} {r['max_abs_err']:8.1e}"
            )
            if a.nchw:
                nc = r["xtvm_nchw"]
                line += f" {nc['min_ms']:8.3f} {nc['median_ms']:11.3f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
