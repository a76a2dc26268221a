"""Building for a foreign target: the object is for that CPU, the module refuses to run here,
the build cache keys by target, and exporting links with the target's toolchain."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xtvm
from xtvm.backends.llvm import Target
from xtvm.backends.llvm.toolchain import find_toolchain
from xtvm.errors import CompileError, ForeignTargetError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cross_models import conv_relu_gemm  # noqa: E402

EM_AARCH64, EM_RISCV = 183, 243
EF_RISCV_RVC, EF_RISCV_FLOAT_ABI_DOUBLE = 0x1, 0x4
TARGETS = {
    "aarch64": ("llvm -mtriple=aarch64-linux-gnu", EM_AARCH64),
    "riscv64": ("llvm -mtriple=riscv64-linux-gnu", EM_RISCV),
}


def elf_header(data: bytes) -> tuple[int, int, int]:
    """(class, e_machine, e_flags) of a little-endian ELF file."""
    assert data[:4] == b"\x7fELF" and data[5] == 1, "not a little-endian ELF file"
    machine = struct.unpack_from("<H", data, 18)[0]
    flags = struct.unpack_from("<I", data, 48)[0]
    return data[4], machine, flags


@pytest.fixture(scope="module")
def relay():
    return xtvm.from_onnx(conv_relu_gemm())


@pytest.fixture(scope="module")
def builds(relay):
    return {arch: xtvm.build(relay, target=t, cache=False) for arch, (t, _) in TARGETS.items()}


@pytest.mark.parametrize("arch", list(TARGETS))
def test_object_is_for_the_target(builds, arch):
    lib = builds[arch]
    obj = lib._object_code
    elf_class, machine, flags = elf_header(obj)
    assert elf_class == 2 and machine == TARGETS[arch][1]
    assert lib.metadata["target"]["triple"] == lib.target.triple
    assert lib.metadata["target"]["cpu"] != Target.host().cpu
    if arch == "riscv64":
        assert flags & EF_RISCV_RVC and flags & EF_RISCV_FLOAT_ABI_DOUBLE  # lp64d, as Debian
        assert b"_v1p0" in obj  # the arch attribute: RVV 1.0 code


def test_scalar_riscv_has_no_vector_extension(relay):
    lib = xtvm.build(relay, target="llvm -mtriple=riscv64-linux-gnu -mattr=+m,+a,+f,+d,+c")
    assert elf_header(lib._object_code)[1] == EM_RISCV
    assert b"_v1p0" not in lib._object_code
    assert "vsetivli" not in lib.get_source("asm")


@pytest.mark.parametrize("arch", list(TARGETS))
def test_foreign_build_refuses_to_run(builds, arch):
    lib = builds[arch]
    assert lib.input_info[0]["shape"] == (1, 3, 8, 8)
    x = np.zeros((1, 3, 8, 8), np.float32)
    calls = (
        lambda: lib(x),
        lambda: lib.run([x]),
        lambda: lib.benchmark([x], repeat=1),
        lambda: lib.profile([x], repeat=1),
    )
    for call in calls:
        with pytest.raises(ForeignTargetError) as err:
            call()
        assert lib.target.triple in str(err.value) and "\n" not in str(err.value)
    assert lib.target.triple in repr(lib)


def test_build_cache_keys_by_target(relay, tmp_path, monkeypatch):
    monkeypatch.setenv("XTVM_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("XTVM_CACHE", "1")
    first = {arch: xtvm.build(relay, target=t, cache=True) for arch, (t, _) in TARGETS.items()}
    host = xtvm.build(relay, cache=True)
    keys = {lib.build_key for lib in [*first.values(), host]}
    assert len(keys) == 3 and None not in keys
    again = xtvm.build(relay, target=TARGETS["aarch64"][0], cache=True)
    assert again.cache_status.startswith("hit") and again.build_key == first["aarch64"].build_key
    assert again._object_code == first["aarch64"]._object_code
    with pytest.raises(ForeignTargetError):
        again(np.zeros((1, 3, 8, 8), np.float32))


def test_export_without_toolchain_names_the_package(builds, tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no compiler at all
    with pytest.raises(CompileError, match="gcc-aarch64-linux-gnu") as err:
        builds["aarch64"].export_library(tmp_path / "m.so")
    assert "$CC" in str(err.value)
    assert not (tmp_path / "m.so").exists()


def test_host_compiler_as_cc_gets_a_hint(builds, tmp_path, monkeypatch):
    host_cc = find_toolchain(None)
    if host_cc is None:
        pytest.skip("no host C compiler (install gcc)")
    monkeypatch.setenv("CC", host_cc.cc)
    with pytest.raises(CompileError, match="is it a C compiler for aarch64-linux-gnu"):
        builds["aarch64"].export_library(tmp_path / "m.so")


@pytest.mark.parametrize("arch", list(TARGETS))
def test_export_links_with_the_cross_toolchain(builds, arch, tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    lib = builds[arch]
    if find_toolchain(lib.target) is None:
        pytest.skip(f"no cross C compiler for {lib.target.triple} (install gcc-{arch}-linux-gnu)")
    path = Path(lib.export_library(tmp_path / f"m-{arch}.so"))
    _, machine, _ = elf_header(path.read_bytes())
    assert machine == TARGETS[arch][1]
    nm = find_toolchain(lib.target).cc.replace("-gcc", "-nm")
    if Path(nm).exists():
        symbols = subprocess.run([nm, "-D", str(path)], capture_output=True, text=True).stdout
        assert " T xtvm_main" in symbols and "xtvm_metadata" in symbols


def test_cli_compiles_for_aarch64(tmp_path, model_dir, capsys):
    from xtvm.cli.main import main

    if find_toolchain(Target.from_string(TARGETS["aarch64"][0])) is None:
        pytest.skip("no cross C compiler for aarch64 (install gcc-aarch64-linux-gnu)")
    out = tmp_path / "m.so"
    model = str(model_dir / "resnet_block.onnx")
    assert main(["compile", model, "--target", TARGETS["aarch64"][0], "-o", str(out)]) == 0
    assert elf_header(out.read_bytes())[1] == EM_AARCH64
    assert str(out) in capsys.readouterr().out
