"""A model compiled for an NVIDIA GPU: PTX kernels, a launch plan and constants.

``CudaModule`` has the interface of :class:`xtvm.runtime.Module` (``input_info``,
``output_info``, ``run``, ``__call__``, ``benchmark``, ``export_library``) and is one (it
inherits the input checks), so code written for CPU modules runs GPU ones. Construction
checks the plan (:mod:`xtvm.runtime.cuda.plan`) and needs no GPU, so a machine without
one can build, inspect and export cuda modules. The first run opens the driver, loads
the PTX (the driver JIT-compiles it for the device), uploads the constants once and
allocates the device buffers and the workspace, and captures the launches into a CUDA
graph; each run then copies the inputs in, launches the kernels in order on one stream
(the graph: one driver call) and copies the outputs out.

A module is not thread-safe (one set of device buffers), like the CPU one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xtvm.errors import DeviceError, InputError, XTVMError
from xtvm.runtime.cuda import driver as cuda_driver
from xtvm.runtime.cuda.interface import Driver
from xtvm.runtime.cuda.plan import Plan, check_plan
from xtvm.runtime.dtypes import storage_dtype
from xtvm.runtime.dynamic import DynamicOutputs
from xtvm.runtime.metadata import check_metadata
from xtvm.runtime.module import Module, aligned_empty, timing_summary

_SM = re.compile(r"^sm_(\d+)(\d)a?$")
_DEFAULT_SHARED = 48 * 1024
GRAPHS_ENV = "XTVM_CUDA_GRAPHS"  # dynamic shared memory a kernel gets without opting in


def required_capability(metadata: Mapping[str, Any]) -> tuple[int, int] | None:
    """The compute capability the PTX was generated for (target cpu ``sm_80`` -> (8, 0))."""
    target = metadata.get("target")
    cpu = target.get("cpu", "") if isinstance(target, Mapping) else ""
    match = _SM.match(cpu) if isinstance(cpu, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _address(arr: np.ndarray) -> int:
    return arr.__array_interface__["data"][0]


@dataclass
class _Launch:
    name: str
    pointers: list[int]
    run: Callable[[int], None]  # launches on the given stream


@dataclass
class _DeviceState:
    """What the first run sets up on the device; released by ``CudaModule.close``."""

    driver: Driver
    device: int
    context: int
    name: str
    stream: int = 0
    module: int = 0
    allocations: list[int] = field(default_factory=list)
    inputs: list[tuple[int, int]] = field(default_factory=list)  # (pointer, bytes)
    outputs: list[tuple[int, int]] = field(default_factory=list)
    launches: list[_Launch] = field(default_factory=list)
    graph: int = 0  # an executable CUDA graph of the launches; 0: launch one by one


class CudaModule(Module):
    """A runnable GPU model; ``CudaModule(ptx, metadata, constants)`` checks the plan."""

    def __init__(
        self,
        ptx: str,
        metadata: Mapping[str, Any] | str,
        constants: bytes = b"",
        driver: Driver | None = None,
        device: int = 0,
        shown: str = "<cuda module>",
        cuda_graphs: bool | None = None,
        cubin: bytes | None = None,
    ) -> None:
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        self.metadata = check_metadata(dict(metadata), shown, "metadata")
        if self.metadata.get("device") != "cuda":
            raise XTVMError(f"'{shown}' is not a cuda module (metadata device is not 'cuda')")
        if not isinstance(ptx, str):
            raise XTVMError(f"'{shown}': the PTX must be text, got {type(ptx).__name__}")
        self.ptx = ptx
        self.constants = bytes(constants)
        # the PTX assembled for the target architecture (ptxas at export), or None
        self.cubin = bytes(cubin) if cubin else None
        self.plan: Plan = check_plan(self.metadata, ptx, len(self.constants), shown)
        self._driver = driver  # None: the system's libcuda, opened at the first run
        self.device_ordinal = device
        # one CUDA graph per run instead of a driver call per kernel (None: on unless
        # XTVM_CUDA_GRAPHS=0); a driver or capture that cannot do it launches one by one
        if cuda_graphs is None:
            cuda_graphs = os.environ.get(GRAPHS_ENV, "1").strip() not in ("0", "false", "no")
        self.cuda_graphs = cuda_graphs
        self.library_path: str | None = None
        self._inputs = [self._norm_info(i) for i in self.metadata["inputs"]]
        self._outputs = [self._norm_info(o) for o in self.metadata["outputs"]]
        self._dynamic = DynamicOutputs(self._outputs)
        self._in_specs = [(i["shape"], storage_dtype(i["dtype"])) for i in self._inputs]
        self._out_specs = [(o["shape"], storage_dtype(o["dtype"])) for o in self._outputs]
        self._num_threads = None  # no host threads: num_threads is accepted and unused
        self._num_threads_unused = 0
        self._profile = None
        self._state: _DeviceState | None = None

    # -- device set-up ----------------------------------------------------------------
    def _start(self) -> _DeviceState:
        """Open the device, load the PTX and constants, allocate buffers (first run)."""
        drv = self._driver if self._driver is not None else cuda_driver.open_driver()
        drv.init()
        count = drv.device_count()
        if count == 0:
            raise DeviceError("no CUDA device: the driver found no NVIDIA GPU")
        if not 0 <= self.device_ordinal < count:
            raise DeviceError(f"no CUDA device {self.device_ordinal} ({count} present)")
        dev = drv.device(self.device_ordinal)
        name = drv.device_name(dev)
        have = self._check_device(drv, dev, name)
        state = _DeviceState(drv, dev, drv.retain_primary_context(dev), name)
        try:
            drv.set_current(state.context)
            state.stream = drv.stream_create()
            state.module = self._load_code(drv, have)
            self._allocate(state)
        except BaseException:
            self._release(state)
            raise
        return state

    def _load_code(self, drv: Driver, have: tuple[int, int]) -> int:
        """The cubin where the device can run it (same major architecture, at least the
        target's minor), else the PTX, JIT-compiled by the driver for this device."""
        need = required_capability(self.metadata)
        if self.cubin is not None and need is not None and have[0] == need[0]:
            try:
                return drv.load_module(self.cubin)
            except DeviceError:
                pass  # e.g. a driver too old for the cubin: the PTX may still load
        return drv.load_module(self.ptx.encode() + b"\0")

    def _check_device(self, drv: Driver, dev: int, name: str) -> tuple[int, int]:
        """Refuse a device older than the PTX's target or too small for a launch; return
        its compute capability."""
        have = (
            drv.attribute(dev, cuda_driver.ATTR_COMPUTE_CAPABILITY_MAJOR),
            drv.attribute(dev, cuda_driver.ATTR_COMPUTE_CAPABILITY_MINOR),
        )
        need = required_capability(self.metadata)
        if need is not None and have < need:
            raise DeviceError(
                f"compiled for sm_{need[0]}{need[1]}, but {name} is sm_{have[0]}{have[1]}: "
                f'recompile with --target "cuda -arch=sm_{have[0]}{have[1]}"'
            )
        block_max = [drv.attribute(dev, a) for a in cuda_driver.ATTR_MAX_BLOCK_DIM]
        grid_max = [drv.attribute(dev, a) for a in cuda_driver.ATTR_MAX_GRID_DIM]
        threads_max = drv.attribute(dev, cuda_driver.ATTR_MAX_THREADS_PER_BLOCK)
        shared_max = drv.attribute(dev, cuda_driver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
        for k, launch in enumerate(self.plan.launches):
            threads = launch.block[0] * launch.block[1] * launch.block[2]
            if (
                any(b > m for b, m in zip(launch.block, block_max))
                or any(g > m for g, m in zip(launch.grid, grid_max))
                or threads > threads_max
                or launch.shared_bytes > shared_max
            ):
                raise DeviceError(
                    f"launch {k} ({launch.kernel}: grid {list(launch.grid)}, block "
                    f"{list(launch.block)}, {launch.shared_bytes} B shared) exceeds the "
                    f"limits of {name}"
                )
        return have

    def _allocate(self, state: _DeviceState) -> None:
        drv, stream, plan = state.driver, state.stream, self.plan

        def alloc(nbytes: int) -> int:
            ptr = drv.mem_alloc(nbytes)
            state.allocations.append(ptr)
            return ptr

        for arr_specs, slots in ((self._in_specs, state.inputs), (self._out_specs, state.outputs)):
            for shape, dtype in arr_specs:
                nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                slots.append((alloc(nbytes), nbytes))
        workspace = alloc(plan.workspace_bytes)
        blob = alloc(len(self.constants))
        if self.constants:
            host = np.frombuffer(self.constants, dtype=np.uint8)
            drv.copy_to_device(blob, _address(host), len(self.constants), stream)
            drv.stream_synchronize(stream)  # ``host`` must outlive the copy
        bases = {
            "input": [p for p, _ in state.inputs],
            "output": [p for p, _ in state.outputs],
            "workspace": [workspace],
            "constant": [blob + c.offset for c in plan.constants],
        }
        shared: dict[str, int] = {}  # the most dynamic shared memory each kernel gets
        for launch in plan.launches:
            shared[launch.kernel] = max(shared.get(launch.kernel, 0), launch.shared_bytes)
        functions = {name: drv.get_function(state.module, name) for name in shared}
        for name, nbytes in shared.items():
            if nbytes > _DEFAULT_SHARED:
                drv.set_max_dynamic_shared(functions[name], nbytes)
        for launch in plan.launches:
            pointers = [bases[a.kind][a.index] + a.offset for a in launch.args]
            run = drv.prepare_launch(
                functions[launch.kernel],
                launch.grid,
                launch.block,
                launch.shared_bytes,
                pointers,
                launch.kernel,
            )
            state.launches.append(_Launch(launch.kernel, pointers, run))
        if self.cuda_graphs and drv.has_graphs and state.launches:
            try:
                state.graph = drv.capture_graph(stream, lambda: self._launch_each(state))
            except DeviceError:
                state.graph = 0  # e.g. a kernel the driver will not capture: no graph

    @staticmethod
    def _release(state: _DeviceState) -> None:
        drv = state.driver
        if state.graph:
            drv.graph_destroy(state.graph)
            state.graph = 0
        for ptr in state.allocations:
            drv.mem_free(ptr)
        state.allocations.clear()
        if state.module:
            drv.unload_module(state.module)
        if state.stream:
            drv.stream_destroy(state.stream)
        drv.release_primary_context(state.device)

    def close(self) -> None:
        """Free the device memory, module and stream now (a later run sets them up again)."""
        state, self._state = self._state, None
        if state is not None:
            state.driver.set_current(state.context)
            self._release(state)

    def __del__(self) -> None:
        try:
            self.close()
        except (XTVMError, AttributeError, TypeError):  # driver gone at interpreter exit
            pass

    @property
    def workspace_address(self) -> int:
        """The device workspace's pointer (sets the device up if it is not yet)."""
        state = self._device()
        return state.allocations[len(state.inputs) + len(state.outputs)]

    @property
    def device_name(self) -> str:
        """The GPU this module runs on (sets the device up if it is not yet)."""
        return self._device().name

    def _device(self) -> _DeviceState:
        if self._state is None:
            self._state = self._start()
        else:
            self._state.driver.set_current(self._state.context)
        return self._state

    # -- running ----------------------------------------------------------------------
    def _enqueue(self, state: _DeviceState, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Copies in, launches and copies out on the stream; returns the (not yet filled)
        output arrays: the caller synchronizes."""
        drv, stream = state.driver, state.stream
        for arr, (ptr, nbytes) in zip(arrays, state.inputs):
            if nbytes:
                drv.copy_to_device(ptr, _address(arr), nbytes, stream)
        self._launch_all(state)
        outs = [aligned_empty(shape, dtype) for shape, dtype in self._out_specs]
        for arr, (ptr, nbytes) in zip(outs, state.outputs):
            if nbytes:
                drv.copy_to_host(_address(arr), ptr, nbytes, stream)
        return outs

    @staticmethod
    def _launch_all(state: _DeviceState) -> None:
        """The plan's kernels, in order, on the module's stream (as one graph if any)."""
        if state.graph:
            state.driver.graph_launch(state.graph, state.stream)
        else:
            CudaModule._launch_each(state)

    @staticmethod
    def _launch_each(state: _DeviceState) -> None:
        stream = state.stream
        for launch in state.launches:
            launch.run(stream)

    def _invoke(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        state = self._device()
        outs = self._enqueue(state, arrays)
        try:
            state.driver.stream_synchronize(state.stream)  # host arrays live until here
        except DeviceError as exc:
            # kernels fail asynchronously: the error surfaces here, not at their launch
            raise DeviceError(
                f"{exc} (running {len(state.launches)} kernels on {state.name}; "
                "CUDA_LAUNCH_BLOCKING=1 names the failing launch)"
            ) from None
        return outs

    def benchmark(
        self,
        inputs: Mapping[str, Any] | Sequence[Any],
        repeat: int = 10,
        number: int = 1,
        warmup: int = 1,
        include_copies: bool = True,
    ) -> dict[str, float]:
        """Milliseconds per call timed with CUDA events on the module's stream, ``repeat``
        rounds of ``number`` calls: copies in, kernels and copies out, or with
        ``include_copies=False`` the kernels alone (on inputs copied in by the warm-up)."""
        if repeat < 1 or number < 1:
            raise InputError("benchmark needs repeat >= 1 and number >= 1")
        arrays = self._bind(inputs)
        for _ in range(max(warmup, 0 if include_copies else 1)):
            self._invoke(arrays)
        state = self._device()
        drv = state.driver
        start, end = drv.event_create(), drv.event_create()
        times = []
        try:
            for _ in range(repeat):
                drv.event_record(start, state.stream)
                pending = []  # outputs the copies write into, kept until the event
                for _ in range(number):
                    if include_copies:
                        pending.append(self._enqueue(state, arrays))
                    else:
                        self._launch_all(state)
                drv.event_record(end, state.stream)
                drv.event_synchronize(end)
                del pending
                times.append(drv.event_elapsed_ms(start, end) / number)
        finally:
            drv.stream_synchronize(state.stream)
            drv.event_destroy(start)
            drv.event_destroy(end)
        return timing_summary(times, repeat, number)

    def profile(self, inputs: Any, repeat: int = 10, warmup: int = 1) -> Any:
        """Per-kernel host counters do not exist on the GPU path."""
        raise XTVMError("profiling is not supported for cuda modules; use benchmark()")

    # -- export -----------------------------------------------------------------------
    def export_library(self, path: str) -> str:  # type: ignore[override]
        """Write a shared library (``.so``) or a package (``.tar``) holding the PTX, the
        plan and the constants; return its absolute path. A loaded module exports again."""
        # the compiler side (needs a C compiler), imported here so that the runtime alone
        # never imports it
        from xtvm.backends.cuda.export import export_cuda

        return export_cuda(self, str(path))

    def __repr__(self) -> str:
        ins = ", ".join(f"{i['name']}: {i['dtype']}{list(i['shape'])}" for i in self._inputs)
        outs = ", ".join(f"{o['dtype']}{list(o['shape'])}" for o in self.output_info)
        return f"<xtvm.runtime.cuda.CudaModule ({ins}) -> ({outs}), {len(self.plan.launches)} launches>"
