"""Exported cuda libraries and packages load back byte for byte, run none of their code
at load, and refuse forged sizes."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
from cuda_samples import ADD_PTX, constants_blob, two_kernel_metadata

import xtvm.runtime
from xtvm.backends.cuda.export import library_assembly
from xtvm.backends.llvm.toolchain import c_compiler
from xtvm.errors import CompileError, DeviceError, ModelError
from xtvm.runtime.cuda import CudaModule

pytestmark = pytest.mark.skipif(c_compiler() is None, reason="no C compiler to link with")


def _module() -> CudaModule:
    return CudaModule(ADD_PTX, two_kernel_metadata(), constants_blob())


def _hand_made_library(folder, metadata, constants_size: int, name: str):
    """A library assembled like ``export_library``'s, with any metadata and size field."""
    for member, data in (
        ("metadata.json", json.dumps(metadata).encode()),
        ("kernels.ptx", ADD_PTX.encode()),
        ("constants.bin", constants_blob()),
    ):
        (folder / member).write_bytes(data)
    (folder / "lib.s").write_text(library_assembly(str(folder), constants_size))
    out = folder / name
    subprocess.run([c_compiler(), "-shared", "-nostdlib", "-o", out, folder / "lib.s"], check=True)
    return out


@pytest.mark.parametrize("name", ["m.so", "m.tar"])
def test_round_trip(tmp_path, name: str) -> None:
    m = _module()
    path = tmp_path / name
    assert m.export_library(str(path)) == str(path)
    loaded = xtvm.runtime.load(path)
    assert isinstance(loaded, CudaModule)
    assert loaded.ptx == ADD_PTX
    assert loaded.constants == constants_blob()
    assert loaded.metadata == m.metadata
    assert loaded.plan == m.plan
    if shutil.which("ptxas"):  # the export assembled the PTX for the target (sm_80)
        assert loaded.cubin is not None and loaded.cubin.startswith(b"\x7fELF")
    assert loaded.library_path == str(path)
    again = tmp_path / f"again-{name}"
    loaded.export_library(str(again))  # a loaded module exports again
    assert xtvm.runtime.load(again).constants == constants_blob()


def test_package_members(tmp_path) -> None:
    _module().export_library(str(tmp_path / "m.tar"))
    with tarfile.open(tmp_path / "m.tar") as tar:
        assert sorted(tar.getnames()) == ["metadata.json", "mod.so"]


def test_library_has_no_code_to_run(tmp_path) -> None:
    """Linked without start files: no initialisers, no text, no needed libraries."""
    _module().export_library(str(tmp_path / "m.so"))
    data = (tmp_path / "m.so").read_bytes()
    for symbol in (b"_init", b"frame_dummy", b"libc.so"):
        assert symbol not in data
    if readelf := shutil.which("readelf"):
        dyn = subprocess.run(
            [readelf, "-d", str(tmp_path / "m.so")], capture_output=True, text=True
        ).stdout
        assert "INIT" not in dyn and "NEEDED" not in dyn, dyn


def test_empty_constants(tmp_path) -> None:
    meta = two_kernel_metadata()
    meta["constants"] = []
    meta["launches"][0]["args"][1] = {"kind": "input", "index": 0, "offset": 0}
    CudaModule(ADD_PTX, meta, b"").export_library(str(tmp_path / "e.so"))
    loaded = xtvm.runtime.load(tmp_path / "e.so")
    assert loaded.constants == b""


def test_forged_constants_size_is_refused(tmp_path) -> None:
    """A library claiming more constants than it holds is an error, not a read past it."""
    out = _hand_made_library(tmp_path, two_kernel_metadata(), 1 << 40, "f.so")
    with pytest.raises(
        ModelError,
        match=r"xtvm_constants_size disagrees with the size of xtvm_constants \(32 bytes\)",
    ):
        xtvm.runtime.load(out)


def test_load_and_export_work_without_a_gpu(tmp_path) -> None:
    """In a fresh process with only the runtime: load works, running says why it cannot."""
    _module().export_library(str(tmp_path / "m.so"))
    code = (
        "import sys, numpy as np, xtvm.runtime as rt\n"
        "from xtvm.runtime.cuda import driver\n"
        "driver.LIBRARY_NAMES = ('libcuda-not-there.so.1',)\n"
        f"m = rt.load({str(tmp_path / 'm.so')!r})\n"
        "assert not any(k.startswith(('xdsl', 'llvmlite')) for k in sys.modules)\n"
        "try:\n    m.run([np.ones(4, np.float32)])\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{DeviceError.__name__} no CUDA driver (libcuda.so.1) found")
    assert os.path.exists(tmp_path / "m.so")


def test_package_metadata_must_match_the_library(tmp_path) -> None:
    _module().export_library(str(tmp_path / "m.tar"))
    with tarfile.open(tmp_path / "m.tar") as tar:
        so = tar.extractfile("mod.so").read()
    meta = two_kernel_metadata()
    meta["launches"][0]["grid"] = [2, 1, 1]
    with tarfile.open(tmp_path / "bad.tar", "w") as tar:
        for name, data in (("mod.so", so), ("metadata.json", json.dumps(meta).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ModelError, match="metadata.json"):
        xtvm.runtime.load(tmp_path / "bad.tar")


def test_malformed_plan_in_a_library_is_refused_at_load(tmp_path) -> None:
    meta = two_kernel_metadata()
    meta["launches"][1]["args"][1]["index"] = 7
    out = _hand_made_library(tmp_path, meta, len(constants_blob()), "b.so")
    with pytest.raises(ModelError, match=r"b.so': malformed cuda plan: .*output index 7"):
        xtvm.runtime.load(out)


def test_a_library_linked_on_another_architecture_loads(tmp_path) -> None:
    """Data only: the host architecture in the ELF header does not matter (an x86-64
    export runs on an aarch64 GPU host), where a CPU library would be refused."""
    _module().export_library(str(tmp_path / "m.so"))
    data = bytearray((tmp_path / "m.so").read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # e_machine: EM_AARCH64
    (tmp_path / "arm.so").write_bytes(bytes(data))
    loaded = xtvm.runtime.load(tmp_path / "arm.so")
    assert loaded.ptx == ADD_PTX and loaded.constants == constants_blob()


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda d: d[:200], "truncated ELF file"),
        (lambda d: d.replace(b".version 7.0", b".version\x007.0"), "xtvm_ptx is not one NUL-term"),
        (lambda d: d.replace(b'"device": "cuda"', b'"device": "cpu!"'), "'device' is 'cpu!'"),
        (lambda d: d.replace(b'{"constants"', b'{"constantsX'), "corrupt xtvm_metadata"),
    ],
    ids=["truncated", "nul-in-ptx", "device", "json"],
)
def test_damaged_libraries_are_model_errors(tmp_path, damage, message: str) -> None:
    """Damage that keeps every offset (same-length edits), or truncation."""
    _module().export_library(str(tmp_path / "m.so"))
    (tmp_path / "bad.so").write_bytes(damage((tmp_path / "m.so").read_bytes()))
    with pytest.raises(ModelError, match=message):
        xtvm.runtime.load(tmp_path / "bad.so")


def test_without_ptxas_the_library_holds_ptx_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XTVM_PTXAS", str(tmp_path / "no-ptxas"))
    _module().export_library(str(tmp_path / "m.so"))
    loaded = xtvm.runtime.load(tmp_path / "m.so")
    assert loaded.cubin is None and loaded.ptx == ADD_PTX


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="CUDA's ptxas is not installed")
def test_ptx_that_ptxas_refuses_is_a_compile_error(tmp_path) -> None:
    bad = ADD_PTX.replace("add.f32 %f3, %f1, %f2;", "add.f32 %f3, %f1, %f9;")
    m = CudaModule(bad, two_kernel_metadata(), constants_blob())
    with pytest.raises(CompileError, match=r"^ptxas -arch=sm_80 refused the module's PTX: "):
        m.export_library(str(tmp_path / "m.so"))
    assert not (tmp_path / "m.so").exists()
