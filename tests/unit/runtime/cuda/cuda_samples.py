"""Hand-written PTX and plans shared by the CUDA runtime tests, and a fake driver that
runs launches with numpy reference implementations keyed by kernel name."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xtvm.runtime.cuda import driver as cuda_driver

# y[i] = x[i] + c[i] for 4 threads; accepted by ptxas -arch=sm_80 and sm_90
ADD_PTX = """\
.version 7.0
.target sm_80
.address_size 64

.visible .entry add_const(
\t.param .u64 x,
\t.param .u64 c,
\t.param .u64 y
)
{
\t.reg .b32 %r<2>;
\t.reg .f32 %f<4>;
\t.reg .b64 %rd<8>;

\tld.param.u64 %rd1, [x];
\tld.param.u64 %rd2, [c];
\tld.param.u64 %rd3, [y];
\tcvta.to.global.u64 %rd1, %rd1;
\tcvta.to.global.u64 %rd2, %rd2;
\tcvta.to.global.u64 %rd3, %rd3;
\tmov.u32 %r1, %tid.x;
\tmul.wide.u32 %rd4, %r1, 4;
\tadd.s64 %rd5, %rd1, %rd4;
\tadd.s64 %rd6, %rd2, %rd4;
\tadd.s64 %rd7, %rd3, %rd4;
\tld.global.f32 %f1, [%rd5];
\tld.global.f32 %f2, [%rd6];
\tadd.f32 %f3, %f1, %f2;
\tst.global.f32 [%rd7], %f3;
\tret;
}

.visible .entry scale2(
\t.param .u64 a,
\t.param .u64 b
)
{
\t.reg .b32 %r<2>;
\t.reg .f32 %f<3>;
\t.reg .b64 %rd<6>;

\tld.param.u64 %rd1, [a];
\tld.param.u64 %rd2, [b];
\tcvta.to.global.u64 %rd1, %rd1;
\tcvta.to.global.u64 %rd2, %rd2;
\tmov.u32 %r1, %tid.x;
\tmul.wide.u32 %rd3, %r1, 4;
\tadd.s64 %rd4, %rd1, %rd3;
\tadd.s64 %rd5, %rd2, %rd3;
\tld.global.f32 %f1, [%rd4];
\tadd.f32 %f2, %f1, %f1;
\tst.global.f32 [%rd5], %f2;
\tret;
}
"""

CONSTANT = np.array([0.5, 1.5, -2.0, 4.0], dtype=np.float32)


def two_kernel_metadata() -> dict[str, Any]:
    """y = 2 * (x + c): add_const into the workspace at offset 64, scale2 out of it."""
    return {
        "inputs": [{"name": "x", "shape": [4], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [4], "dtype": "float32"}],
        "workspace_bytes": 128,
        "target": {"triple": "nvptx64-nvidia-cuda", "cpu": "sm_80", "features": ""},
        "xtvm_version": "test",
        "device": "cuda",
        "launches": [
            {
                "kernel": "add_const",
                "grid": [1, 1, 1],
                "block": [4, 1, 1],
                "shared_bytes": 0,
                "args": [
                    {"kind": "input", "index": 0, "offset": 0},
                    {"kind": "constant", "index": 0, "offset": 0},
                    {"kind": "workspace", "index": 0, "offset": 64},
                ],
            },
            {
                "kernel": "scale2",
                "grid": [1, 1, 1],
                "block": [4, 1, 1],
                "shared_bytes": 0,
                "args": [
                    {"kind": "workspace", "index": 0, "offset": 64},
                    {"kind": "output", "index": 0, "offset": 0},
                ],
            },
        ],
        "constants": [{"name": "c", "dtype": "float32", "shape": [4], "offset": 16, "nbytes": 16}],
    }


def constants_blob() -> bytes:
    """16 bytes of padding, then the constant ``c`` (offset 16 in the metadata)."""
    return bytes(16) + CONSTANT.tobytes()


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The two-kernel metadata with ``change`` applied to a deep copy."""
    meta = copy.deepcopy(two_kernel_metadata())
    change(meta)
    return meta


Reference = Callable[[list[np.ndarray]], None]

# numpy versions of the PTX kernels: each gets float32 views of its pointer arguments
REFERENCES: dict[str, Reference] = {
    "add_const": lambda a: np.add(a[0][:4], a[1][:4], out=a[2][:4]),
    "scale2": lambda a: np.multiply(a[0][:4], 2.0, out=a[1][:4]),
}

SM80_ATTRIBUTES = {
    cuda_driver.ATTR_COMPUTE_CAPABILITY_MAJOR: 8,
    cuda_driver.ATTR_COMPUTE_CAPABILITY_MINOR: 0,
    cuda_driver.ATTR_MAX_THREADS_PER_BLOCK: 1024,
    cuda_driver.ATTR_MAX_BLOCK_DIM[0]: 1024,
    cuda_driver.ATTR_MAX_BLOCK_DIM[1]: 1024,
    cuda_driver.ATTR_MAX_BLOCK_DIM[2]: 64,
    cuda_driver.ATTR_MAX_GRID_DIM[0]: 2**31 - 1,
    cuda_driver.ATTR_MAX_GRID_DIM[1]: 65535,
    cuda_driver.ATTR_MAX_GRID_DIM[2]: 65535,
    cuda_driver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: 163 * 1024,
}


class FakeDriver:
    """A device in host memory with the CudaDriver methods: allocations are numpy byte
    arrays at made-up addresses, launches run ``REFERENCES``, every call is recorded."""

    BASE = 0x7000_0000_0000

    def __init__(
        self, attributes: dict[int, int] | None = None, devices: int = 1, graphs: bool = False
    ) -> None:
        self.has_graphs = graphs
        self.graphs: dict[int, list[Callable[[], None]]] = {}
        self._capture: list[Callable[[], None]] | None = None
        self.attributes = dict(SM80_ATTRIBUTES if attributes is None else attributes)
        self.devices = devices
        self.calls: list[tuple[Any, ...]] = []
        self.memory: dict[int, np.ndarray] = {}  # base address -> bytes
        self._next = self.BASE
        self.loaded_ptx: bytes | None = None
        self.clock = 0.0

    def _record(self, *call: Any) -> None:
        self.calls.append(call)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def _view(self, address: int, nbytes: int) -> np.ndarray:
        """Bytes ``[address, address + nbytes)`` of one allocation (an error otherwise)."""
        for base, buf in self.memory.items():
            if base <= address and address + nbytes <= base + len(buf):
                return buf[address - base : address - base + nbytes]
        raise AssertionError(f"access of {nbytes} B at {address:#x} outside every allocation")

    def init(self) -> None:
        self._record("init")

    def device_count(self) -> int:
        return self.devices

    def device(self, ordinal: int) -> int:
        return ordinal

    def device_name(self, dev: int) -> str:
        return "Fake GPU"

    def attribute(self, dev: int, attr: int) -> int:
        return self.attributes[attr]

    def retain_primary_context(self, dev: int) -> int:
        self._record("retain", dev)
        return 0xC0

    def release_primary_context(self, dev: int) -> None:
        self._record("release", dev)

    def set_current(self, ctx: int) -> None:
        assert ctx == 0xC0

    def load_module(self, image: bytes) -> int:
        self._record("load_module")
        self.loaded_ptx = image
        return 0xA0

    def unload_module(self, module: int) -> None:
        self._record("unload_module", module)

    def get_function(self, module: int, name: str) -> int:
        assert module == 0xA0
        self._record("get_function", name)
        return hash(name) & 0xFFFF

    def set_max_dynamic_shared(self, func: int, nbytes: int) -> None:
        self._record("set_max_dynamic_shared", nbytes)

    def mem_alloc(self, nbytes: int) -> int:
        address = self._next
        self.memory[address] = np.full(max(nbytes, 1), 0xEE, dtype=np.uint8)
        self._next += (max(nbytes, 1) + 255) // 256 * 256 + 256
        self._record("alloc", nbytes)
        return address

    def mem_free(self, ptr: int) -> None:
        del self.memory[ptr]
        self._record("free", ptr)

    def copy_to_device(self, dst: int, src: int, nbytes: int, stream: int) -> None:
        host = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_uint8 * nbytes).from_address(src))
        self._view(dst, nbytes)[...] = host
        self._record("htod", nbytes)

    def copy_to_host(self, dst: int, src: int, nbytes: int, stream: int) -> None:
        host = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_uint8 * nbytes).from_address(dst))
        host[...] = self._view(src, nbytes)
        self._record("dtoh", nbytes)

    def launch(
        self,
        func: int,
        grid: Sequence[int],
        block: Sequence[int],
        shared_bytes: int,
        stream: int,
        pointers: Sequence[int],
        name: str = "",
    ) -> None:
        if self._capture is not None:  # recorded into the graph, run at graph_launch
            self._capture.append(
                lambda: self.launch(func, grid, block, shared_bytes, stream, pointers, name)
            )
            return
        self._record("launch", name, tuple(grid), tuple(block), tuple(pointers))
        REFERENCES[name]([self._view(p, 16).view(np.float32) for p in pointers])

    def prepare_launch(
        self,
        func: int,
        grid: Sequence[int],
        block: Sequence[int],
        shared_bytes: int,
        pointers: Sequence[int],
        name: str = "",
    ) -> Callable[[int], None]:
        self._record("prepare_launch", name)
        return lambda stream: self.launch(func, grid, block, shared_bytes, stream, pointers, name)

    def stream_create(self) -> int:
        self._record("stream_create")
        return 0x51

    def stream_synchronize(self, stream: int) -> None:
        self._record("sync")

    def stream_destroy(self, stream: int) -> None:
        self._record("stream_destroy")

    def event_create(self) -> int:
        self._record("event_create")
        return len(self.calls)

    def event_record(self, event: int, stream: int) -> None:
        self.clock += 1.0
        self._record("event_record")

    def event_synchronize(self, event: int) -> None:
        self._record("event_sync")

    def event_elapsed_ms(self, start: int, end: int) -> float:
        return 2.0

    def event_destroy(self, event: int) -> None:
        self._record("event_destroy")

    def capture_graph(self, stream: int, enqueue: Callable[[], None]) -> int:
        self._record("capture_graph")
        self._capture = []
        try:
            enqueue()
        finally:
            captured, self._capture = self._capture, None
        handle = 0x6000 + len(self.graphs)
        self.graphs[handle] = captured
        return handle

    def graph_launch(self, executable: int, stream: int) -> None:
        self._record("graph_launch")
        for launch in self.graphs[executable]:
            launch()

    def graph_destroy(self, executable: int) -> None:
        self._record("graph_destroy")
        del self.graphs[executable]


def no_gpu_reason() -> str | None:
    """Why the real-GPU tests cannot run here (no libcuda, no device), or None."""
    from xtvm.errors import DeviceError

    try:
        drv = cuda_driver.open_driver()
        drv.init()
        if drv.device_count() < 1:
            return "no CUDA device"
    except DeviceError as exc:
        return f"no CUDA device ({exc})"
    return None
