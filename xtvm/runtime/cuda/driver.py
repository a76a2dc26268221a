"""ctypes bindings to the CUDA driver API (``libcuda.so.1``), the only thing a GPU module
needs to run: no CUDA toolkit, no extra Python package.

The driver JIT-compiles PTX for the device it loads on (``cuModuleLoadDataEx``), so an
exported module carries PTX, not machine code. Every call is checked: a non-zero
``CUresult`` becomes a one-line :class:`DeviceError` naming the call and the driver's own
error name and text (``cuGetErrorName``/``cuGetErrorString``).

:class:`CudaDriver` is the interface :class:`xtvm.runtime.cuda.module.CudaModule` uses;
tests inject an object with the same methods (a fake device) to check the host logic on a
machine without a GPU. Handles (contexts, modules, functions, streams, events) and device
pointers are plain ints.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence

from xtvm.errors import DeviceError

LIBRARY_NAMES = ("libcuda.so.1", "libcuda.so")

# CUdevice_attribute values (cuda.h)
ATTR_MAX_THREADS_PER_BLOCK = 1
ATTR_MAX_BLOCK_DIM = (2, 3, 4)
ATTR_MAX_GRID_DIM = (5, 6, 7)
ATTR_MAX_SHARED_MEMORY_PER_BLOCK = 8
ATTR_MULTIPROCESSOR_COUNT = 16
ATTR_COMPUTE_CAPABILITY_MAJOR = 75
ATTR_COMPUTE_CAPABILITY_MINOR = 76
ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97

# CUjit_option values for cuModuleLoadDataEx's log buffers
_JIT_INFO_LOG_BUFFER = 3
_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4
_JIT_ERROR_LOG_BUFFER = 5
_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6
_LOG_BYTES = 8192

_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
_STREAM_NON_BLOCKING = 1
_EVENT_DEFAULT = 0

_CUresult = ctypes.c_int
_ptr = ctypes.c_void_p
_size = ctypes.c_size_t
_u32 = ctypes.c_uint

# name -> argument types (all return CUresult); the _v2 names are the ABI cuda.h maps to
_SIGNATURES: dict[str, tuple[object, ...]] = {
    "cuInit": (_u32,),
    "cuDeviceGetCount": (ctypes.POINTER(ctypes.c_int),),
    "cuDeviceGet": (ctypes.POINTER(ctypes.c_int), ctypes.c_int),
    "cuDeviceGetName": (ctypes.c_char_p, ctypes.c_int, ctypes.c_int),
    "cuDeviceGetAttribute": (ctypes.POINTER(ctypes.c_int), ctypes.c_int, ctypes.c_int),
    "cuDevicePrimaryCtxRetain": (ctypes.POINTER(_ptr), ctypes.c_int),
    "cuDevicePrimaryCtxRelease_v2": (ctypes.c_int,),
    "cuCtxSetCurrent": (_ptr,),
    "cuModuleLoadDataEx": (
        ctypes.POINTER(_ptr),
        ctypes.c_char_p,
        _u32,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(_ptr),
    ),
    "cuModuleUnload": (_ptr,),
    "cuModuleGetFunction": (ctypes.POINTER(_ptr), _ptr, ctypes.c_char_p),
    "cuFuncSetAttribute": (_ptr, ctypes.c_int, ctypes.c_int),
    "cuMemAlloc_v2": (ctypes.POINTER(ctypes.c_uint64), _size),
    "cuMemFree_v2": (ctypes.c_uint64,),
    "cuMemcpyHtoDAsync_v2": (ctypes.c_uint64, _ptr, _size, _ptr),
    "cuMemcpyDtoHAsync_v2": (_ptr, ctypes.c_uint64, _size, _ptr),
    "cuLaunchKernel": (
        _ptr,
        _u32,
        _u32,
        _u32,
        _u32,
        _u32,
        _u32,
        _u32,
        _ptr,
        ctypes.POINTER(_ptr),
        ctypes.POINTER(_ptr),
    ),
    "cuStreamCreate": (ctypes.POINTER(_ptr), _u32),
    "cuStreamSynchronize": (_ptr,),
    "cuStreamDestroy_v2": (_ptr,),
    "cuEventCreate": (ctypes.POINTER(_ptr), _u32),
    "cuEventRecord": (_ptr, _ptr),
    "cuEventSynchronize": (_ptr,),
    "cuEventElapsedTime": (ctypes.POINTER(ctypes.c_float), _ptr, _ptr),
    "cuEventDestroy_v2": (_ptr,),
    "cuGetErrorName": (ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)),
    "cuGetErrorString": (ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)),
}


# CUDA graphs (driver 11.4+): optional, a driver without them launches kernel by kernel
_GRAPH_SIGNATURES: dict[str, tuple[object, ...]] = {
    "cuStreamBeginCapture_v2": (_ptr, ctypes.c_int),
    "cuStreamEndCapture": (_ptr, ctypes.POINTER(_ptr)),
    "cuGraphInstantiateWithFlags": (ctypes.POINTER(_ptr), _ptr, ctypes.c_ulonglong),
    "cuGraphLaunch": (_ptr, _ptr),
    "cuGraphExecDestroy": (_ptr,),
    "cuGraphDestroy": (_ptr,),
}
_CAPTURE_MODE_THREAD_LOCAL = 1


def _open_library() -> ctypes.CDLL:
    """libcuda, or a DeviceError saying there is no driver."""
    for name in LIBRARY_NAMES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise DeviceError(
        "no CUDA driver (libcuda.so.1) found: install the NVIDIA driver to run cuda modules"
    )


class CudaDriver:
    """The driver API calls the runtime needs, each raising DeviceError on failure."""

    def __init__(self, lib: ctypes.CDLL | None = None) -> None:
        self._lib = lib if lib is not None else _open_library()
        self._fns: dict[str, ctypes._CFuncPtr] = {}
        for name, argtypes in _SIGNATURES.items():
            try:
                fn = getattr(self._lib, name)
            except AttributeError:
                raise DeviceError(f"the CUDA driver lacks {name}: update the driver") from None
            fn.argtypes = list(argtypes)
            fn.restype = _CUresult
            self._fns[name] = fn
        for name, argtypes in _GRAPH_SIGNATURES.items():
            fn = getattr(self._lib, name, None)
            if fn is None:
                break
            fn.argtypes = list(argtypes)
            fn.restype = _CUresult
            self._fns[name] = fn
        self.has_graphs = all(name in self._fns for name in _GRAPH_SIGNATURES)

    # -- errors -----------------------------------------------------------------------
    def error_text(self, code: int) -> str:
        """``NAME: description`` of a CUresult, as the driver spells it."""
        name, text = ctypes.c_char_p(), ctypes.c_char_p()
        if self._fns["cuGetErrorName"](code, ctypes.byref(name)) != 0 or not name.value:
            return f"CUDA error {code}"
        self._fns["cuGetErrorString"](code, ctypes.byref(text))
        described = text.value.decode(errors="replace") if text.value else ""
        return f"{name.value.decode(errors='replace')}" + (f": {described}" if described else "")

    def _call(self, name: str, *args: object, detail: str = "") -> None:
        code = self._fns[name](*args)
        if code != 0:
            extra = f" ({detail})" if detail else ""
            raise DeviceError(f"{name} failed: {self.error_text(code)}{extra}")

    # -- devices and contexts ---------------------------------------------------------
    def init(self) -> None:
        """cuInit; no device at all is a DeviceError 'no CUDA device'."""
        code = self._fns["cuInit"](0)
        if code == 100:  # CUDA_ERROR_NO_DEVICE
            raise DeviceError("no CUDA device: the driver found no NVIDIA GPU")
        if code != 0:
            raise DeviceError(f"cuInit failed: {self.error_text(code)}")

    def device_count(self) -> int:
        count = ctypes.c_int()
        self._call("cuDeviceGetCount", ctypes.byref(count))
        return count.value

    def device(self, ordinal: int) -> int:
        dev = ctypes.c_int()
        self._call("cuDeviceGet", ctypes.byref(dev), ordinal, detail=f"device {ordinal}")
        return dev.value

    def device_name(self, dev: int) -> str:
        buf = ctypes.create_string_buffer(256)
        self._call("cuDeviceGetName", buf, len(buf), dev)
        return buf.value.decode(errors="replace")

    def attribute(self, dev: int, attr: int) -> int:
        value = ctypes.c_int()
        self._call("cuDeviceGetAttribute", ctypes.byref(value), attr, dev, detail=f"attr {attr}")
        return value.value

    def retain_primary_context(self, dev: int) -> int:
        ctx = _ptr()
        self._call("cuDevicePrimaryCtxRetain", ctypes.byref(ctx), dev)
        return int(ctx.value or 0)

    def release_primary_context(self, dev: int) -> None:
        self._call("cuDevicePrimaryCtxRelease_v2", dev)

    def set_current(self, ctx: int) -> None:
        self._call("cuCtxSetCurrent", _ptr(ctx))

    # -- code -------------------------------------------------------------------------
    def load_module(self, image: bytes) -> int:
        """Load PTX (JIT-compiled by the driver; NUL-terminated here) or a cubin; a
        failure carries the first line of the JIT's error log."""
        err_log = ctypes.create_string_buffer(_LOG_BYTES)
        info_log = ctypes.create_string_buffer(_LOG_BYTES)
        options = (ctypes.c_int * 4)(
            _JIT_ERROR_LOG_BUFFER,
            _JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
            _JIT_INFO_LOG_BUFFER,
            _JIT_INFO_LOG_BUFFER_SIZE_BYTES,
        )
        values = (_ptr * 4)(
            ctypes.cast(err_log, _ptr),
            _ptr(_LOG_BYTES),
            ctypes.cast(info_log, _ptr),
            _ptr(_LOG_BYTES),
        )
        module = _ptr()
        data = image if image.endswith(b"\0") else image + b"\0"
        code = self._fns["cuModuleLoadDataEx"](ctypes.byref(module), data, 4, options, values)
        if code != 0:
            log = err_log.value.decode(errors="replace").strip().splitlines()
            detail = f": {log[0]}" if log else ""
            raise DeviceError(f"cuModuleLoadDataEx failed: {self.error_text(code)}{detail}")
        return int(module.value or 0)

    def unload_module(self, module: int) -> None:
        self._call("cuModuleUnload", _ptr(module))

    def get_function(self, module: int, name: str) -> int:
        fn = _ptr()
        self._call(
            "cuModuleGetFunction", ctypes.byref(fn), _ptr(module), name.encode(), detail=name
        )
        return int(fn.value or 0)

    def set_max_dynamic_shared(self, func: int, nbytes: int) -> None:
        """Opt a kernel in to more than 48 KiB of dynamic shared memory."""
        self._call(
            "cuFuncSetAttribute", _ptr(func), _FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, nbytes
        )

    # -- memory -----------------------------------------------------------------------
    def mem_alloc(self, nbytes: int) -> int:
        ptr = ctypes.c_uint64()
        self._call("cuMemAlloc_v2", ctypes.byref(ptr), max(nbytes, 1), detail=f"{nbytes} bytes")
        return ptr.value

    def mem_free(self, ptr: int) -> None:
        self._call("cuMemFree_v2", ptr)

    def copy_to_device(self, dst: int, src: int, nbytes: int, stream: int) -> None:
        """Host address ``src`` -> device pointer ``dst``, ordered on ``stream``."""
        self._call("cuMemcpyHtoDAsync_v2", dst, _ptr(src), nbytes, _ptr(stream))

    def copy_to_host(self, dst: int, src: int, nbytes: int, stream: int) -> None:
        """Device pointer ``src`` -> host address ``dst``, ordered on ``stream``."""
        self._call("cuMemcpyDtoHAsync_v2", _ptr(dst), src, nbytes, _ptr(stream))

    # -- execution --------------------------------------------------------------------
    def prepare_launch(
        self,
        func: int,
        grid: Sequence[int],
        block: Sequence[int],
        shared_bytes: int,
        pointers: Sequence[int],
        name: str = "",
    ) -> Callable[[int], None]:
        """A launcher of ``func`` on a stream with these device pointers as its parameters.
        The parameter arrays are built once, so a run costs one foreign call per kernel
        (a model launches tens to hundreds of kernels per run)."""
        count = max(len(pointers), 1)
        values = (ctypes.c_uint64 * count)(*pointers)
        base = ctypes.addressof(values)
        params = (_ptr * count)(*[base + 8 * k for k in range(len(pointers))])
        call = self._fns["cuLaunchKernel"]
        head = (_ptr(func), *grid, *block, shared_bytes)
        keep = (values, params)  # the pointers live as long as the launcher

        def launch(stream: int) -> None:
            code = call(*head, _ptr(stream), keep[1], None)
            if code != 0:
                raise DeviceError(f"cuLaunchKernel failed: {self.error_text(code)} ({name})")

        return launch

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
        """Launch ``func`` once with device pointers as its parameters, in order."""
        self.prepare_launch(func, grid, block, shared_bytes, pointers, name)(stream)

    def stream_create(self) -> int:
        stream = _ptr()
        self._call("cuStreamCreate", ctypes.byref(stream), _STREAM_NON_BLOCKING)
        return int(stream.value or 0)

    def stream_synchronize(self, stream: int) -> None:
        self._call("cuStreamSynchronize", _ptr(stream))

    def stream_destroy(self, stream: int) -> None:
        self._call("cuStreamDestroy_v2", _ptr(stream))

    def event_create(self) -> int:
        event = _ptr()
        self._call("cuEventCreate", ctypes.byref(event), _EVENT_DEFAULT)
        return int(event.value or 0)

    def event_record(self, event: int, stream: int) -> None:
        self._call("cuEventRecord", _ptr(event), _ptr(stream))

    def event_synchronize(self, event: int) -> None:
        self._call("cuEventSynchronize", _ptr(event))

    def event_elapsed_ms(self, start: int, end: int) -> float:
        ms = ctypes.c_float()
        self._call("cuEventElapsedTime", ctypes.byref(ms), _ptr(start), _ptr(end))
        return float(ms.value)

    def event_destroy(self, event: int) -> None:
        self._call("cuEventDestroy_v2", _ptr(event))

    # -- graphs -----------------------------------------------------------------------
    def capture_graph(self, stream: int, enqueue: Callable[[], None]) -> int:
        """An executable CUDA graph of what ``enqueue`` puts on ``stream`` (launched
        later as one unit: one driver call per run instead of one per kernel)."""
        if not self.has_graphs:
            raise DeviceError("this CUDA driver has no graph API (cuGraphInstantiateWithFlags)")
        self._call("cuStreamBeginCapture_v2", _ptr(stream), _CAPTURE_MODE_THREAD_LOCAL)
        graph = _ptr()
        try:
            enqueue()
        finally:  # a capture left open would break the stream
            self._call("cuStreamEndCapture", _ptr(stream), ctypes.byref(graph))
        executable = _ptr()
        try:
            self._call("cuGraphInstantiateWithFlags", ctypes.byref(executable), graph, 0)
        finally:
            self._call("cuGraphDestroy", graph)  # the executable keeps its own copy
        return int(executable.value or 0)

    def graph_launch(self, executable: int, stream: int) -> None:
        self._call("cuGraphLaunch", _ptr(executable), _ptr(stream))

    def graph_destroy(self, executable: int) -> None:
        self._call("cuGraphExecDestroy", _ptr(executable))


def open_driver() -> CudaDriver:
    """The system's CUDA driver, or a DeviceError when there is none."""
    return CudaDriver()
