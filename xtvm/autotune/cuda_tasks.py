"""Tuning for ``target="cuda"``: the cuda pipeline's kernels as tasks, and the checks that
candidates can be measured.

Task extraction runs the cuda form of the pipeline (``xtvm.driver.cuda_build``: no
``relay-alter-layout``, ``convert-relay-to-te{device=cuda}``) up to the kernels, with a
``SpaceCollector(device="cuda")`` as the tuning hook: a task is a kernel with a cuda
operator schedule (dense, batch_matmul, conv2d), its space the knobs those schedules
declare. Workload keys name the device, so cuda and CPU records never mix. Candidates are
built by the rest of the cuda pipeline and timed with CUDA events on a GPU, which this
module checks for before any work starts (:func:`require_gpu`).
"""

from __future__ import annotations

from typing import Any

from xtvm.errors import DeviceError


def is_cuda(target: Any) -> bool:
    return getattr(target, "device", "cpu") == "cuda"


def extraction_passes(target: Any, opt_level: int, collector: Any) -> list[Any]:
    """The cuda pipeline of ``O<opt_level>`` up to ``convert-relay-to-te`` (on the device),
    with ``collector`` as its tuning hook."""
    from xtvm.autotune.task import split_at_te
    from xtvm.driver.compile import _with_option, specialize_for_target
    from xtvm.driver.cuda_build import CPU_ONLY_PASSES, _for_device
    from xtvm.passes.registry import parse_pipeline

    head = split_at_te(opt_level)[0].split(",")
    spec = ",".join(p for p in head if p.split("{", 1)[0] not in CPU_ONLY_PASSES)
    passes = _for_device(specialize_for_target(parse_pipeline(spec), target), "cuda")
    return _with_option(passes, "tuning", collector)


def gpu_count() -> int:
    """NVIDIA GPUs the CUDA driver sees here (0 without a driver or a device)."""
    try:
        from xtvm.runtime.cuda.driver import CudaDriver

        drv = CudaDriver()
        drv.init()
        return int(drv.device_count())
    except Exception:
        return 0


def require_gpu(target: Any, rpc: bool = False) -> None:
    """Raise :class:`DeviceError` at once when cuda candidates cannot be measured: they
    run on an NVIDIA GPU, here or behind an ``xtvm rpc server`` (``rpc``)."""
    if is_cuda(target) and not rpc and gpu_count() == 0:
        raise DeviceError(
            f"tuning for '{target}' measures candidates on an NVIDIA GPU, and none is usable "
            "here (no CUDA driver or no device): tune on a GPU machine, or run "
            "`xtvm rpc server` on one and pass --rpc HOST:PORT"
        )


def benchmark_cuda(mod: Any, inputs: Any, options: Any) -> list[float]:
    """Seconds per call of a loaded ``CudaModule``, one per round: kernels alone, timed
    with CUDA events (inputs already on the device)."""
    report = mod.benchmark(inputs, repeat=1, number=1, warmup=1, include_copies=False)
    once = max(report["median_ms"] / 1e3, 1e-7)
    number = max(1, int(options.min_repeat_ms / 1e3 / once))
    report = mod.benchmark(
        inputs, repeat=options.repeat, number=number, warmup=0, include_copies=False
    )
    # benchmark gives summaries; per-round values are not kept, so the rounds' median
    # stands for each round and the spread is reported through min and max
    lo, med, hi = report["min_ms"], report["median_ms"], report["max_ms"]
    costs = [lo, med, hi] if options.repeat >= 3 else [med] * options.repeat
    return [c / 1e3 for c in costs]
