"""The host side of running a CudaModule, against a fake driver that executes the
launches with numpy (no GPU needed): set-up order, pointers, copies, timing, errors."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_samples import ADD_PTX, CONSTANT, FakeDriver, constants_blob, mutated, two_kernel_metadata

from xtvm.errors import DeviceError, InputError
from xtvm.runtime.cuda import CudaModule
from xtvm.runtime.cuda import driver as cuda_driver


def _module(fake: FakeDriver, meta=None) -> CudaModule:
    return CudaModule(ADD_PTX, meta or two_kernel_metadata(), constants_blob(), driver=fake)


def test_runs_the_plan_in_order() -> None:
    fake = FakeDriver()
    m = _module(fake)
    assert fake.calls == []  # nothing touches the device before the first run
    x = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    np.testing.assert_array_equal(m(x), 2 * (x + CONSTANT))
    names = fake.names()
    assert names[:4] == ["init", "retain", "stream_create", "load_module"]
    assert fake.loaded_ptx == ADD_PTX.encode() + b"\0"
    # input, output, workspace, constants blob; constants uploaded before any launch
    assert [c[1] for c in fake.calls if c[0] == "alloc"] == [16, 16, 128, 32]
    run = names[names.index("get_function") :]
    assert run == [
        "get_function",
        "get_function",
        "prepare_launch",
        "prepare_launch",
        "htod",
        "launch",
        "launch",
        "dtoh",
        "sync",
    ]


def test_kernel_pointers_follow_the_args() -> None:
    fake = FakeDriver()
    m = _module(fake)
    m.run({"x": np.zeros(4, np.float32)})
    allocs = list(fake.memory)  # bases in allocation order: input, output, workspace, blob
    x_ptr, y_ptr, ws_ptr, blob_ptr = allocs
    launches = [c for c in fake.calls if c[0] == "launch"]
    assert launches[0][4] == (x_ptr, blob_ptr + 16, ws_ptr + 64)
    assert launches[1][4] == (ws_ptr + 64, y_ptr)
    assert launches[0][2:4] == ((1, 1, 1), (4, 1, 1))


def test_second_run_reuses_the_device_state() -> None:
    fake = FakeDriver()
    m = _module(fake)
    m.run([np.ones(4, np.float32)])
    before = len(fake.calls)
    out = m.run([np.full(4, 3.0, np.float32)])[0]
    np.testing.assert_array_equal(out, 2 * (3.0 + CONSTANT))
    again = fake.names()[before:]
    assert again == ["htod", "launch", "launch", "dtoh", "sync"]  # no upload, no alloc


def test_close_frees_everything() -> None:
    fake = FakeDriver()
    m = _module(fake)
    m.run([np.ones(4, np.float32)])
    m.close()
    assert fake.memory == {}
    assert fake.names()[-3:] == ["unload_module", "stream_destroy", "release"]
    np.testing.assert_array_equal(m.run([np.ones(4, np.float32)])[0], 2 * (1 + CONSTANT))


def test_inputs_are_checked_before_the_device() -> None:
    fake = FakeDriver()
    m = _module(fake)
    with pytest.raises(InputError, match="expected shape"):
        m.run([np.ones(5, np.float32)])
    with pytest.raises(InputError, match="expected float32"):
        m.run([np.ones(4, np.int32)])
    assert fake.calls == []


def test_benchmark_is_timed_with_events() -> None:
    fake = FakeDriver()
    m = _module(fake)
    stats = m.benchmark([np.ones(4, np.float32)], repeat=3, number=2, warmup=1)
    assert stats["median_ms"] == 1.0  # 2 ms between the events, per 2 calls
    assert stats["repeat"] == 3
    assert fake.names().count("event_record") == 6
    assert fake.names().count("launch") == 2 * (1 + 3 * 2)
    assert fake.names().count("event_destroy") == 2


def test_device_too_old_is_refused() -> None:
    meta = mutated(lambda m: m["target"].update(cpu="sm_90"))
    with pytest.raises(DeviceError, match=r"compiled for sm_90, but Fake GPU is sm_80"):
        _module(FakeDriver(), meta).run([np.ones(4, np.float32)])


def test_launch_over_the_device_limits() -> None:
    meta = mutated(lambda m: m["launches"][1].update(shared_bytes=200 * 1024))
    with pytest.raises(DeviceError, match="launch 1 \\(scale2.*exceeds the limits of Fake GPU"):
        _module(FakeDriver(), meta).run([np.ones(4, np.float32)])


def test_large_shared_memory_is_opted_in() -> None:
    """Once per kernel, at the most any of its launches uses."""

    def change(meta) -> None:
        meta["launches"][1].update(shared_bytes=96 * 1024)
        meta["launches"].append({**meta["launches"][1], "shared_bytes": 100 * 1024})
        meta["launches"].append({**meta["launches"][1], "shared_bytes": 0})

    fake = FakeDriver()
    _module(fake, mutated(change)).run([np.ones(4, np.float32)])
    opted = [c for c in fake.calls if c[0] == "set_max_dynamic_shared"]
    assert opted == [("set_max_dynamic_shared", 100 * 1024)]


def test_no_device() -> None:
    with pytest.raises(DeviceError, match="no CUDA device"):
        _module(FakeDriver(devices=0)).run([np.ones(4, np.float32)])
    with pytest.raises(DeviceError, match="no CUDA device 3 \\(1 present\\)"):
        CudaModule(ADD_PTX, two_kernel_metadata(), constants_blob(), FakeDriver(), 3).run(
            [np.ones(4, np.float32)]
        )


def test_failed_setup_releases_what_it_took() -> None:
    class FailingLoad(FakeDriver):
        def load_module(self, ptx: bytes) -> int:
            raise DeviceError("cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX")

    fake = FailingLoad()
    with pytest.raises(DeviceError, match="CUDA_ERROR_INVALID_PTX"):
        _module(fake).run([np.ones(4, np.float32)])
    assert fake.names()[-2:] == ["stream_destroy", "release"]


def test_without_libcuda(monkeypatch) -> None:
    monkeypatch.setattr(cuda_driver, "LIBRARY_NAMES", ("libcuda-not-there.so.1",))
    m = CudaModule(ADD_PTX, two_kernel_metadata(), constants_blob())
    with pytest.raises(DeviceError, match=r"^no CUDA driver \(libcuda.so.1\) found"):
        m.run([np.ones(4, np.float32)])


def test_benchmark_of_the_kernels_alone() -> None:
    fake = FakeDriver()
    m = _module(fake)
    m.benchmark([np.ones(4, np.float32)], repeat=2, warmup=0, include_copies=False)
    timed = fake.names()[fake.names().index("event_create") :]
    assert "htod" not in timed and "dtoh" not in timed
    assert timed.count("launch") == 4
    assert fake.names().count("htod") == 2  # the constants, then the one warm-up run's input


def test_workspace_address_is_the_device_workspace() -> None:
    fake = FakeDriver()
    m = _module(fake)
    assert m.workspace_bytes == 128
    assert m.workspace_address == list(fake.memory)[2]
    assert len(fake.memory[m.workspace_address]) == 128


def test_asynchronous_kernel_failure_is_reported_at_the_sync() -> None:
    class FaultingSync(FakeDriver):
        def stream_synchronize(self, stream: int) -> None:
            if "launch" in self.names():
                raise DeviceError("cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS")

    with pytest.raises(DeviceError) as info:
        _module(FaultingSync()).run([np.ones(4, np.float32)])
    assert str(info.value) == (
        "cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS (running 2 kernels on Fake "
        "GPU; CUDA_LAUNCH_BLOCKING=1 names the failing launch)"
    )


def test_runs_as_one_cuda_graph() -> None:
    fake = FakeDriver(graphs=True)
    m = _module(fake)
    x = np.array([1.0, -2.0, 0.0, 8.0], dtype=np.float32)
    np.testing.assert_array_equal(m(x), 2 * (x + CONSTANT))
    assert fake.names().count("capture_graph") == 1
    before = len(fake.calls)
    np.testing.assert_array_equal(m(x + 1), 2 * (x + 1 + CONSTANT))
    assert fake.names()[before:] == ["htod", "graph_launch", "launch", "launch", "dtoh", "sync"]
    m.close()
    assert fake.graphs == {} and "graph_destroy" in fake.names()


def test_graphs_can_be_turned_off(monkeypatch) -> None:
    monkeypatch.setenv("XTVM_CUDA_GRAPHS", "0")
    fake = FakeDriver(graphs=True)
    _module(fake).run([np.ones(4, np.float32)])
    assert "capture_graph" not in fake.names() and "graph_launch" not in fake.names()


def test_a_failed_capture_falls_back_to_single_launches() -> None:
    class NoCapture(FakeDriver):
        def capture_graph(self, stream: int, enqueue) -> int:
            raise DeviceError("cuStreamBeginCapture_v2 failed: CUDA_ERROR_NOT_SUPPORTED")

    fake = NoCapture(graphs=True)
    np.testing.assert_array_equal(
        _module(fake).run([np.ones(4, np.float32)])[0], 2 * (1 + CONSTANT)
    )
    assert "graph_launch" not in fake.names()


@pytest.mark.parametrize(
    "device,target,loaded",
    [((8, 0), "sm_80", "cubin"), ((8, 6), "sm_80", "cubin"), ((9, 0), "sm_80", "ptx")],
)
def test_cubin_where_the_device_runs_it(device, target: str, loaded: str) -> None:
    fake = FakeDriver()
    fake.attributes[cuda_driver.ATTR_COMPUTE_CAPABILITY_MAJOR] = device[0]
    fake.attributes[cuda_driver.ATTR_COMPUTE_CAPABILITY_MINOR] = device[1]
    meta = mutated(lambda m: m["target"].update(cpu=target))
    m = CudaModule(ADD_PTX, meta, constants_blob(), fake, cubin=b"\x7fELF-cubin")
    m.run([np.ones(4, np.float32)])
    assert fake.loaded_ptx == (b"\x7fELF-cubin" if loaded == "cubin" else ADD_PTX.encode() + b"\0")


def test_a_refused_cubin_falls_back_to_the_ptx() -> None:
    class NoCubin(FakeDriver):
        def load_module(self, image: bytes) -> int:
            if image.startswith(b"\x7fELF"):
                raise DeviceError("cuModuleLoadDataEx failed: CUDA_ERROR_NO_BINARY_FOR_GPU")
            return super().load_module(image)

    fake = NoCubin()
    m = CudaModule(ADD_PTX, two_kernel_metadata(), constants_blob(), fake, cubin=b"\x7fELF")
    np.testing.assert_array_equal(m.run([np.ones(4, np.float32)])[0], 2 * (1 + CONSTANT))
    assert fake.loaded_ptx == ADD_PTX.encode() + b"\0"
