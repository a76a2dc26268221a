"""xtvm on an NVIDIA GPU against onnxruntime-gpu (CUDA execution provider) and cuBLAS.

    python benchmarks/gpu.py [--models resnet18_like,bert_like] [--batches 1,8]
                             [--blocks 5 --repeat 20] [--tuning-records r.json] [--gemm 4096]

For each zoo model (size "real": ResNet-18 at 224x224, the BERT-style encoder at sequence
128) and batch, compiles for ``cuda -arch=sm_XY`` of the device present, checks the outputs
against onnxruntime-gpu, then times both in alternating blocks (xtvm, ort, xtvm, ...) so
that clock and thermal drift hit both alike. Both timings cover host->device copies of the
inputs, the kernels and device->host copies of the outputs (xtvm: CUDA events on its stream;
onnxruntime: wall clock around ``run``). Reports per-engine medians of the block medians, the
ratio xtvm/ort (below 1: xtvm faster) and the device name. ``--gemm N`` also times an fp32
N x N x N matmul compiled by xtvm against torch.matmul (cuBLAS) when torch sees the GPU.

Where no GPU (or no libcuda) is present it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from xtvm.errors import DeviceError
from xtvm.runtime.cuda import driver as cuda_driver

NO_GPU_STATUS = 2


def device_info() -> tuple[str, str]:
    """(device name, ``sm_XY``) of GPU 0; a DeviceError where there is none."""
    drv = cuda_driver.open_driver()
    drv.init()
    if drv.device_count() < 1:
        raise DeviceError("no CUDA device: the driver found no NVIDIA GPU")
    dev = drv.device(0)
    major = drv.attribute(dev, cuda_driver.ATTR_COMPUTE_CAPABILITY_MAJOR)
    minor = drv.attribute(dev, cuda_driver.ATTR_COMPUTE_CAPABILITY_MINOR)
    return drv.device_name(dev), f"sm_{major}{minor}"


def feeds_for(family: str, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of the zoo model ``family`` (size "real") with the batch dim set to ``batch``."""
    from xtvm.testing.model_zoo import FAMILIES
    from xtvm.testing.zoo.bert import BERT_SIZES

    rng = np.random.default_rng(seed)
    shapes = {k: (batch, *v[1:]) for k, v in FAMILIES[family].shape_dict("real").items()}
    if family == "bert_like":
        _, seq = shapes["input_ids"]
        ids = rng.integers(0, BERT_SIZES["real"][0], size=(batch, seq), dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.ones((batch, seq), dtype=np.int64)}
    return {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}


def ort_session(model: Any) -> Any | None:
    """An onnxruntime session on the CUDA execution provider, or None without one."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CUDAExecutionProvider"])
    return sess if "CUDAExecutionProvider" in sess.get_providers() else None


def wall_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall-clock milliseconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def alternate(engines: dict[str, Callable[[], float]], blocks: int) -> dict[str, list[float]]:
    """Each engine's block medians, the engines taking turns block by block."""
    results: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(blocks):
        for name, block in engines.items():
            results[name].append(block())
    return results


def bench_model(family: str, batch: int, target: str, args: argparse.Namespace) -> dict[str, Any]:
    import xtvm
    from xtvm.testing.model_zoo import make_model

    model = make_model(family, "real")
    feeds = feeds_for(family, batch)
    shapes = {k: v.shape for k, v in feeds.items()}
    start = time.perf_counter()
    lib = xtvm.build(
        xtvm.from_onnx(model, shape_dict=shapes),
        target=target,
        tuning_records=args.tuning_records,
    )
    compile_s = time.perf_counter() - start
    ours = lib.run(feeds)
    row: dict[str, Any] = {"model": family, "batch": batch, "compile_s": compile_s}
    engines: dict[str, Callable[[], float]] = {
        "xtvm": lambda: lib.benchmark(feeds, repeat=args.repeat, warmup=2)["median_ms"]
    }
    sess = ort_session(model)
    if sess is not None:
        theirs = sess.run(None, feeds)
        row["max_abs_diff"] = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
        for _ in range(3):
            sess.run(None, feeds)
        engines["ort-gpu"] = lambda: wall_ms(lambda: sess.run(None, feeds), args.repeat)
    times = alternate(engines, args.blocks)
    for name, values in times.items():
        row[f"{name}_ms"] = statistics.median(values)
    if "ort-gpu_ms" in row:
        row["ratio"] = row["xtvm_ms"] / row["ort-gpu_ms"]
    return row


def bench_gemm(n: int, target: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """fp32 n x n x n matmul, kernels alone: xtvm vs torch.matmul (cuBLAS), both timed
    with CUDA events on operands already on the device. None without torch on a GPU."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    from onnx import helper

    import xtvm
    from xtvm.testing.onnx_check import float_model

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    w = rng.standard_normal((n, n)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["a", "w"], ["c"])]
    model = float_model(nodes, {"a": (n, n)}, ["c"], 17, {"w": w})
    lib = xtvm.build(xtvm.from_onnx(model, shape_dict={"a": (n, n)}), target=target)
    ta, tw = torch.from_numpy(a).cuda(), torch.from_numpy(w).cuda()
    want = (ta @ tw).cpu().numpy()
    err = float(np.max(np.abs(lib.run([a])[0] - want)) / np.max(np.abs(want)))

    def torch_block() -> float:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(args.repeat):
            torch.matmul(ta, tw)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / args.repeat

    runtime_module = getattr(lib, "module", lib)  # a CompiledModule wraps the CudaModule

    def xtvm_block() -> float:
        stats = runtime_module.benchmark([a], repeat=1, number=args.repeat, include_copies=False)
        return stats["median_ms"]

    times = alternate({"xtvm": xtvm_block, "torch": torch_block}, args.blocks)
    xtvm_ms, torch_ms = statistics.median(times["xtvm"]), statistics.median(times["torch"])
    tflops = 2 * n**3 / (xtvm_ms * 1e-3) / 1e12
    return {
        "n": n,
        "xtvm_ms": xtvm_ms,
        "torch_ms": torch_ms,
        "fraction": torch_ms / xtvm_ms,
        "xtvm_tflops": tflops,
        "rel_err": err,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="resnet18_like,bert_like")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--tuning-records", default=None)
    parser.add_argument("--gemm", type=int, default=0, help="also time an fp32 GEMM of this size")
    args = parser.parse_args(argv)
    try:
        name, arch = device_info()
    except DeviceError as exc:
        print(f"benchmarks/gpu.py needs an NVIDIA GPU: {exc}", file=sys.stderr)
        return NO_GPU_STATUS
    target = f"cuda -arch={arch}"
    print(f"device: {name} ({arch}); target {target!r}")
    header = (
        f"{'model':16} {'batch':>5} {'xtvm ms':>9} {'ort-gpu ms':>10} {'ratio':>6} {'max diff':>9}"
    )
    print(header)
    for family in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            row = bench_model(family, batch, target, args)
            ort_ms = f"{row['ort-gpu_ms']:10.3f}" if "ort-gpu_ms" in row else f"{'-':>10}"
            ratio = f"{row['ratio']:6.2f}" if "ratio" in row else f"{'-':>6}"
            diff = f"{row['max_abs_diff']:9.1e}" if "max_abs_diff" in row else f"{'-':>9}"
            print(
                f"{family:16} {batch:5d} {row['xtvm_ms']:9.3f} {ort_ms} {ratio} {diff}", flush=True
            )
    if args.gemm:
        gemm = bench_gemm(args.gemm, target, args)
        if gemm is None:
            print("gemm: torch with CUDA is not installed; no cuBLAS reference")
        else:
            print(
                f"gemm {gemm['n']}: xtvm {gemm['xtvm_ms']:.3f} ms, torch (cuBLAS) "
                f"{gemm['torch_ms']:.3f} ms: {gemm['fraction']:.2f} of cuBLAS "
                f"({gemm['xtvm_tflops']:.1f} TFLOP/s, max rel. error {gemm['rel_err']:.1e})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
