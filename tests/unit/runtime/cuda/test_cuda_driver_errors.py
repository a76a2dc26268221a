"""CudaDriver turns CUresult codes into one-line DeviceErrors naming the call and the
driver's error name and text; tested with a stand-in for libcuda's functions."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from xtvm.errors import DeviceError
from xtvm.runtime.cuda.driver import _GRAPH_SIGNATURES, _SIGNATURES, CudaDriver

NAMES = {
    2: (b"CUDA_ERROR_OUT_OF_MEMORY", b"out of memory"),
    218: (b"CUDA_ERROR_INVALID_PTX", b"a PTX JIT compilation failed"),
}


class FakeLib:
    """Attributes named like libcuda's functions; ``results`` says what each returns."""

    def __init__(self, results: dict[str, int], missing: str = "", graphs: bool = False) -> None:
        self.called: list[str] = []
        for name in [*_SIGNATURES, *(_GRAPH_SIGNATURES if graphs else ())]:
            if name != missing:
                setattr(self, name, self._function(name, results.get(name, 0)))

    def _function(self, name: str, result: int) -> Any:
        def call(*args: Any) -> int:
            self.called.append(name)
            if name in ("cuGetErrorName", "cuGetErrorString"):
                known = NAMES.get(args[0])
                if known is None:
                    return 1  # CUDA_ERROR_INVALID_VALUE: an unknown code
                args[1]._obj.value = known[0 if name == "cuGetErrorName" else 1]
                return 0
            if name == "cuModuleLoadDataEx" and result:
                log = ctypes.cast(args[4][0], ctypes.c_char_p)
                ctypes.memmove(log, b"ptxas application ptx input, line 3; error\nmore", 48)
            return result

        return call


def test_failed_call_names_the_call_and_the_error() -> None:
    drv = CudaDriver(FakeLib({"cuMemAlloc_v2": 2}))
    with pytest.raises(DeviceError) as info:
        drv.mem_alloc(1 << 40)
    assert str(info.value) == (
        "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY: out of memory (1099511627776 bytes)"
    )


def test_unknown_code() -> None:
    drv = CudaDriver(FakeLib({"cuStreamSynchronize": 999}))
    with pytest.raises(DeviceError, match="^cuStreamSynchronize failed: CUDA error 999$"):
        drv.stream_synchronize(0)


def test_jit_log_is_in_the_message() -> None:
    drv = CudaDriver(FakeLib({"cuModuleLoadDataEx": 218}))
    with pytest.raises(DeviceError) as info:
        drv.load_module(b".version 7.0\n")
    assert str(info.value) == (
        "cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX: a PTX JIT compilation failed: "
        "ptxas application ptx input, line 3; error"
    )


def test_no_device_at_init() -> None:
    with pytest.raises(DeviceError, match="^no CUDA device: the driver found no NVIDIA GPU$"):
        CudaDriver(FakeLib({"cuInit": 100})).init()


def test_old_driver_lacking_a_function() -> None:
    with pytest.raises(DeviceError, match="lacks cuFuncSetAttribute"):
        CudaDriver(FakeLib({}, missing="cuFuncSetAttribute"))


def test_successful_calls_return_values() -> None:
    drv = CudaDriver(FakeLib({}))
    drv.init()
    assert drv.mem_alloc(16) == 0  # the stand-in leaves the out-parameter untouched
    drv.launch(1, (1, 1, 1), (32, 1, 1), 0, 0, [16, 32], "k")
    assert drv.event_elapsed_ms(1, 2) == 0.0


def test_launch_passes_pointers_to_each_parameter() -> None:
    """cuLaunchKernel gets grid, block, shared bytes, the stream and an array of addresses
    of the parameter values (the device pointers), as cuda.h specifies."""
    seen: list[tuple[Any, ...]] = []
    lib = FakeLib({})
    lib.cuLaunchKernel = lambda *args: seen.append(args) or 0
    drv = CudaDriver(lib)
    launcher = drv.prepare_launch(7, (2, 3, 4), (32, 8, 1), 1024, [0x1000, 0x2040, 0xFFFF0000])
    launcher(0x51)
    launcher(0x52)
    assert len(seen) == 2
    func, gx, gy, gz, bx, by, bz, shared, stream, params, extra = seen[1]
    assert (func.value, gx, gy, gz, bx, by, bz, shared) == (7, 2, 3, 4, 32, 8, 1, 1024)
    assert stream.value == 0x52 and extra is None
    values = [ctypes.c_uint64.from_address(params[k]).value for k in range(3)]
    assert values == [0x1000, 0x2040, 0xFFFF0000]


def test_failed_launch_names_the_kernel() -> None:
    drv = CudaDriver(FakeLib({"cuLaunchKernel": 2}))
    with pytest.raises(
        DeviceError,
        match=r"^cuLaunchKernel failed: CUDA_ERROR_OUT_OF_MEMORY: out of memory \(conv_0\)$",
    ):
        drv.prepare_launch(1, (1, 1, 1), (1, 1, 1), 0, [8], "conv_0")(0)


def test_graph_capture_is_closed_when_enqueueing_fails() -> None:
    lib = FakeLib({}, graphs=True)
    drv = CudaDriver(lib)
    assert drv.has_graphs and not CudaDriver(FakeLib({})).has_graphs

    def enqueue() -> None:
        raise DeviceError("cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (k)")

    with pytest.raises(DeviceError, match="CUDA_ERROR_INVALID_VALUE"):
        drv.capture_graph(0x51, enqueue)
    assert lib.called[-2:] == ["cuStreamBeginCapture_v2", "cuStreamEndCapture"]
    drv.capture_graph(0x51, lambda: None)
    assert lib.called[-3:] == [
        "cuStreamEndCapture",
        "cuGraphInstantiateWithFlags",
        "cuGraphDestroy",
    ]


def test_no_graph_api() -> None:
    with pytest.raises(DeviceError, match="no graph API"):
        CudaDriver(FakeLib({})).capture_graph(0, lambda: None)
