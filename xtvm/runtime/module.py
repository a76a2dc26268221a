"""The runtime Module: call a compiled ``xtvm_main`` on numpy arrays.

Kept free of xdsl and llvmlite (only ctypes, json, numpy) so a deployed ``.so`` can be
loaded and run without the compiler. ABI: ``int32 xtvm_main(void **args, void *ws)``
with ``args`` = inputs then outputs in signature order, ``ws`` a 64-byte aligned
scratch area of ``workspace_bytes`` bytes made once per Module; 0 means success.

Thread count: a module with parallel loops exports ``int32 xtvm_num_threads``, read by
every fork (0 = the OpenMP default). ``Module.num_threads`` writes it; when the build
left it at 0, ``XTVM_NUM_THREADS`` (read when the Module is made) sets it.

Profiling: a module built with ``profile=True`` also exports the counter arrays of
:mod:`xtvm.runtime.profile`; ``Module.profile`` resets, runs and reads them.
"""

from __future__ import annotations

import ctypes
import json
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from xtvm.errors import InputError, XTVMError
from xtvm.runtime.dtypes import dtype_name, same_bits, storage_dtype
from xtvm.runtime.dynamic import DynamicOutputs
from xtvm.runtime.profile import ProfileCounters, ProfileReport, make_report

# non-zero statuses the entry returns (see convert-tir-to-llvm)
_STATUS_REASONS = {
    2: "the run took an If branch that could not be compiled at the bound input shapes "
    "(the import warned about it); compile with the input shapes this run needs",
}

ALIGNMENT = 64
ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
NUM_THREADS_SYMBOL = "xtvm_num_threads"
NUM_THREADS_ENV = "XTVM_NUM_THREADS"


def _env_num_threads() -> int | None:
    text = os.environ.get(NUM_THREADS_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{NUM_THREADS_ENV} must be a positive int, got {text!r}") from None
    if value < 1:
        raise InputError(f"{NUM_THREADS_ENV} must be a positive int, got {text!r}")
    return value


def _address(arr: np.ndarray) -> int:
    """The data pointer; ``arr.ctypes.data`` builds a ctypes object per call (microseconds
    on every run of a small model)."""
    return arr.__array_interface__["data"][0]


def aligned_empty(shape: Sequence[int], dtype: Any, alignment: int = ALIGNMENT) -> np.ndarray:
    """An uninitialised C-contiguous array whose data pointer is ``alignment``-aligned.

    Outputs and the workspace are made this way so vector stores do not straddle cache
    lines; inputs are used in place when C-contiguous (kernels' vector loads only need
    element alignment), saving a copy per call.
    """
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= int(d)
    raw = np.empty(nbytes + alignment, dtype=np.uint8)
    offset = (-_address(raw)) % alignment
    return raw[offset : offset + nbytes].view(dtype).reshape(tuple(shape))


def timing_summary(times_ms: Sequence[float], repeat: int, number: int) -> dict[str, float]:
    """The statistics every ``benchmark`` reports (local, CUDA and over RPC) for ``repeat``
    rounds of ``number`` calls, ``times_ms`` being milliseconds per call of each round."""
    return {
        "median_ms": statistics.median(times_ms),
        "mean_ms": statistics.fmean(times_ms),
        "min_ms": min(times_ms),
        "max_ms": max(times_ms),
        "std_ms": statistics.pstdev(times_ms),
        "repeat": repeat,
        "number": number,
    }


class Module:
    """A loaded, runnable model: entry function pointer + signature metadata."""

    def __init__(
        self,
        entry: Any,
        metadata: Mapping[str, Any] | str,
        keepalive: Any = None,
        num_threads_address: int | None = None,
        profile_addresses: tuple[int, int] | None = None,
    ):
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        self.metadata: dict[str, Any] = dict(metadata)
        if isinstance(entry, int):
            entry = ENTRY_TYPE(entry)
        self._entry = entry
        # JIT engine or CDLL that owns the code; dropping it would free the code.
        self._keepalive = keepalive
        self._exporter: Callable[[str], None] | None = None
        self.library_path: str | None = None  # set by runtime.load
        self._inputs = [self._norm_info(i) for i in self.metadata.get("inputs", [])]
        self._outputs = [self._norm_info(o) for o in self.metadata.get("outputs", [])]
        # outputs with a data-dependent length: count outputs hidden, results sliced
        self._dynamic = DynamicOutputs(self._outputs)
        nbytes = int(self.metadata.get("workspace_bytes", 0))
        # Allocated once: intermediates live here across calls (not thread-safe).
        self._workspace = aligned_empty((max(nbytes, ALIGNMENT),), np.uint8)
        self._args = (ctypes.c_void_p * (len(self._inputs) + len(self._outputs)))()
        self._args_ptr = ctypes.cast(self._args, ctypes.c_void_p)
        self._workspace_ptr = _address(self._workspace)
        self._out_specs = [(o["shape"], storage_dtype(o["dtype"])) for o in self._outputs]
        self._in_specs = [(i["shape"], storage_dtype(i["dtype"])) for i in self._inputs]
        # The module's @xtvm_num_threads (None: no parallel loops, nothing to set).
        self._num_threads = (
            ctypes.c_int32.from_address(num_threads_address) if num_threads_address else None
        )
        self._num_threads_unused = 0
        # The module's profiling counters (None: built without profile=True).
        kernels = self.metadata.get("profile")
        self._profile: ProfileCounters | None = None
        if profile_addresses is not None and isinstance(kernels, list):
            self._profile = ProfileCounters(kernels, *profile_addresses)
        env = _env_num_threads()
        if env is not None and self.num_threads == 0:
            self.num_threads = env

    @staticmethod
    def _norm_info(info: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": str(info["name"]),
            "shape": tuple(int(d) for d in info["shape"]),
            "dtype": dtype_name(info["dtype"]),
        }

    @property
    def input_info(self) -> list[dict[str, Any]]:
        """``[{"name", "shape", "dtype"}]`` of the inputs, in call order."""
        return [dict(i) for i in self._inputs]

    @property
    def output_info(self) -> list[dict[str, Any]]:
        """``[{"name", "shape", "dtype"}]`` of the outputs, in return order; an output whose
        length depends on the data also has ``dynamic_axis`` (``shape`` is then its bound)."""
        return self._dynamic.info(self._outputs)

    @property
    def workspace_bytes(self) -> int:
        """Bytes of scratch memory the model's intermediates need (allocated once)."""
        return int(self.metadata.get("workspace_bytes", 0))

    @property
    def num_threads(self) -> int:
        """Threads each parallel loop uses; 0 = the OpenMP default (all cores)."""
        if self._num_threads is None:
            return self._num_threads_unused
        return int(self._num_threads.value)

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"num_threads must be an int >= 0, got {value!r}")
        if self._num_threads is None:
            self._num_threads_unused = value  # no parallel loops: nothing reads it
        else:
            self._num_threads.value = value

    @property
    def workspace_address(self) -> int:
        """Address of the scratch area passed to every call (stable for the Module)."""
        return self._workspace_ptr

    def _check(self, info: Mapping[str, Any], value: Any, spec: tuple[Any, np.dtype]) -> np.ndarray:
        if (  # the common case, checked cheaply: a ready array of the right type
            type(value) is np.ndarray
            and value.shape == spec[0]
            and value.dtype == spec[1]
            and value.flags.c_contiguous
            and value.flags.aligned
        ):
            return value
        name = info["name"]
        if isinstance(value, np.ndarray):
            arr = value
        elif np.isscalar(value) or isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
            try:
                arr = np.asarray(value)
            except (TypeError, ValueError) as exc:
                raise InputError(f"input '{name}' is not array-like: {exc}") from None
            if arr.dtype == object:
                raise InputError(f"input '{name}' is not a numeric array")
            if not isinstance(value, np.ndarray) and not hasattr(value, "__array__"):
                # Python lists/scalars carry no dtype of their own: take the declared one.
                try:
                    arr = arr.astype(spec[1], casting="same_kind")
                except TypeError:
                    raise InputError(
                        f"input '{name}': expected {info['dtype']} values, got {arr.dtype}"
                    ) from None
        else:
            raise InputError(f"input '{name}' must be a numpy array, got {type(value).__name__}")
        if tuple(arr.shape) != info["shape"]:
            raise InputError(
                f"input '{name}': expected shape {list(info['shape'])}, got {list(arr.shape)}"
            )
        bits = same_bits(arr, info["dtype"], spec[1])  # bfloat16 passed as uint16 bits
        if bits is not None:
            arr = bits
        if arr.dtype != spec[1]:
            raise InputError(f"input '{name}': expected {info['dtype']}, got {arr.dtype.name}")
        if not arr.flags.c_contiguous or not arr.flags.aligned:
            copy = aligned_empty(arr.shape, arr.dtype)
            copy[...] = arr
            arr = copy
        return arr

    def _bind(self, inputs: Mapping[str, Any] | Sequence[Any]) -> list[np.ndarray]:
        """Validate inputs against the signature; return them in call order."""
        names = [i["name"] for i in self._inputs]
        if isinstance(inputs, Mapping):
            unknown = [k for k in inputs if k not in names]
            if unknown:
                raise InputError(f"unknown input '{unknown[0]}'; the model's inputs are {names}")
            missing = [n for n in names if n not in inputs]
            if missing:
                raise InputError(f"missing input '{missing[0]}'; the model's inputs are {names}")
            values = [inputs[n] for n in names]
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) > len(names):
                raise InputError(
                    f"too many inputs: the model takes {len(names)}, got {len(inputs)}"
                )
            if len(inputs) < len(names):
                raise InputError(
                    f"missing input '{names[len(inputs)]}'; the model's inputs are {names}"
                )
            values = list(inputs)
        else:
            raise InputError(
                f"inputs must be a dict name->array or a list, got {type(inputs).__name__}"
            )
        return [
            self._check(info, v, spec)
            for info, v, spec in zip(self._inputs, values, self._in_specs)
        ]

    def _invoke(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        outs = [aligned_empty(shape, dtype) for shape, dtype in self._out_specs]
        args = self._args
        for k, arr in enumerate(arrays + outs):
            args[k] = _address(arr)
        rc = self._entry(self._args_ptr, self._workspace_ptr)
        if rc != 0:
            why = _STATUS_REASONS.get(rc)
            raise XTVMError(f"xtvm_main failed with status {rc}" + (f": {why}" if why else ""))
        return outs

    def run(self, inputs: Mapping[str, Any] | Sequence[Any]) -> list[np.ndarray]:
        """Run once; ``inputs`` is a dict name->array or a list in signature order."""
        return self._dynamic.finish(self._invoke(self._bind(inputs)))

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """``m(x, y)`` or ``m(x=..., y=...)``: one array for one output, else a tuple."""
        if args and kwargs:
            names = [i["name"] for i in self._inputs]
            if len(args) > len(names):
                raise InputError(f"too many inputs: the model takes {len(names)}, got {len(args)}")
            dup = [n for n in names[: len(args)] if n in kwargs]
            if dup:
                raise InputError(f"input '{dup[0]}' given both by position and by name")
            kwargs = {**dict(zip(names, args)), **kwargs}
            args = ()
        outs = self.run(kwargs if kwargs else list(args))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def benchmark(
        self,
        inputs: Mapping[str, Any] | Sequence[Any],
        repeat: int = 10,
        number: int = 1,
        warmup: int = 1,
    ) -> dict[str, float]:
        """Time ``repeat`` rounds of ``number`` calls; milliseconds per call."""
        if repeat < 1 or number < 1:
            raise InputError("benchmark needs repeat >= 1 and number >= 1")
        arrays = self._bind(inputs)
        for _ in range(warmup):
            self._invoke(arrays)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                self._invoke(arrays)
            times.append((time.perf_counter() - start) * 1000.0 / number)
        return timing_summary(times, repeat, number)

    @property
    def profiling(self) -> bool:
        """Whether the module was built with per-kernel timing (``profile=True``)."""
        return self._profile is not None

    def profile(
        self, inputs: Mapping[str, Any] | Sequence[Any], repeat: int = 10, warmup: int = 1
    ) -> ProfileReport:
        """Run ``repeat`` times and report the time of each kernel (sorted by cost).

        The counters are reset after ``warmup`` runs, so only the measured runs count.
        ``str(report)`` is a table; ``report.rows`` holds the numbers.
        """
        if self._profile is None:
            raise XTVMError(
                "this module has no profiling counters: build it with profile=True "
                "(xtvm compile --profile)"
            )
        if repeat < 1 or warmup < 0:
            raise InputError("profile needs repeat >= 1 and warmup >= 0")
        arrays = self._bind(inputs)
        for _ in range(warmup):
            self._invoke(arrays)
        self._profile.reset()
        wall = 0.0
        for _ in range(repeat):
            start = time.perf_counter()
            self._invoke(arrays)
            wall += time.perf_counter() - start
        ns, calls = self._profile.read()
        return make_report(self._profile.kernels, ns, calls, wall)

    def export_library(self, path: str) -> None:
        """Write a shared library; only modules that still know how to build one can."""
        if self._exporter is None:
            raise XTVMError("this module was loaded from a library; it is already exported")
        self._exporter(str(path))

    def __repr__(self) -> str:
        ins = ", ".join(f"{i['name']}: {i['dtype']}{list(i['shape'])}" for i in self._inputs)
        outs = ", ".join(f"{o['dtype']}{list(o['shape'])}" for o in self.output_info)
        return f"<xtvm.runtime.Module ({ins}) -> ({outs})>"
