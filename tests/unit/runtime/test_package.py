"""Packages and metadata end to end: build, export .so/.tar, load with the runtime alone,
and refuse libraries whose CPU features this machine lacks."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import xtvm
import xtvm.runtime
from xtvm.cli.main import main as cli_main
from xtvm.errors import ForeignTargetError, IncompatibleLibraryError, ModelError
from xtvm.runtime import cpu_features
from xtvm.runtime.package import ExtractedPackage

# x86 features a library may be built for; the test picks one this machine lacks
CANDIDATES = ("avx512f", "avx512bw", "avx512vnni", "avx512fp16", "amx-tile", "xop", "fma4")


def _model() -> onnx.ModelProto:
    """y = relu(x @ w + 1): small, but with a weight and a fused kernel."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3], np.arange(12, dtype=np.float32) / 7)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "one"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[w, one],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _reference(x: np.ndarray) -> np.ndarray:
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    return np.maximum(x @ w + 1, 0)


X = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def built() -> xtvm.CompiledModule:
    return xtvm.build(xtvm.from_onnx(_model()))


@pytest.fixture(scope="module")
def package(built: xtvm.CompiledModule, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(built.export_library(tmp_path_factory.mktemp("pkg") / "model.tar"))


def test_metadata_records_target_and_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xtvm.backends.llvm.target import Target

    monkeypatch.setenv("XTVM_CACHE_DIR", str(tmp_path / "cache"))
    host = Target.host()
    want = {"triple": host.triple, "cpu": host.cpu, "features": host.features}
    built = xtvm.build(xtvm.from_onnx(_model()), cache=True)
    assert built.metadata["target"] == want
    assert built.metadata["xtvm_version"] == xtvm.__version__
    assert built.module.metadata["target"] == want  # the JIT module
    again = xtvm.build(xtvm.from_onnx(_model()), cache=True)  # the build cache keeps it
    assert again.cache_status.startswith("hit") and again.metadata["target"] == want
    loaded = xtvm.runtime.load(again.export_library(tmp_path / "m.so"))
    assert loaded.metadata["target"] == want and loaded.metadata["xtvm_version"]


def test_package_holds_library_metadata_and_relay(
    package: Path, built: xtvm.CompiledModule
) -> None:
    with tarfile.open(package) as tar:
        assert tar.getnames() == ["mod.so", "metadata.json", "mod.relay.mlir"]
        assert all(m.isreg() for m in tar.getmembers())
        meta = json.loads(tar.extractfile("metadata.json").read())  # type: ignore[union-attr]
        relay = tar.extractfile("mod.relay.mlir").read().decode()  # type: ignore[union-attr]
        assert tar.extractfile("mod.so").read(4) == b"\x7fELF"  # type: ignore[union-attr]
    assert meta == json.loads(json.dumps(built.metadata))
    assert "relay.fused" in relay and "func.func @main" in relay


def test_package_runs_and_leaves_nothing_behind(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's copy is removed as soon as it is loaded (a process that crashes later
    leaks nothing), and the Module runs on."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    module = xtvm.runtime.load(package)
    assert list(tmp_path.iterdir()) == []
    assert module.library_path == str(package)
    gc.collect()
    np.testing.assert_allclose(module(X), _reference(X), rtol=1e-5, atol=1e-6)


def test_package_folder_outlives_the_load_where_removal_fails(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a loaded library cannot be deleted (Windows), the folder goes with the Module."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(ExtractedPackage, "remove", lambda self: None)
    module = xtvm.runtime.load(package)
    (folder,) = tmp_path.iterdir()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in folder.iterdir()] == ["mod.so"]
    np.testing.assert_allclose(module(X), _reference(X), rtol=1e-5, atol=1e-6)
    del module
    gc.collect()
    assert not folder.exists()


def test_repacked_metadata_is_refused(package: Path, tmp_path: Path) -> None:
    with tarfile.open(package) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    meta = json.loads(members["metadata.json"])
    meta["inputs"][0]["shape"] = [8, 4]
    members["metadata.json"] = json.dumps(meta).encode()
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w:") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ModelError, match="metadata.json does not match the metadata embedded"):
        xtvm.runtime.load(bad)


def test_cli_compile_and_run_a_package(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    onnx.save(_model(), tmp_path / "m.onnx")
    np.savez(tmp_path / "in.npz", x=X)
    out = tmp_path / "m.tar"
    assert cli_main(["compile", str(tmp_path / "m.onnx"), "-o", str(out)]) == 0
    assert tarfile.is_tarfile(out)
    args = ["run", str(out), "--inputs", str(tmp_path / "in.npz")]
    assert cli_main([*args, "--outputs", str(tmp_path / "out.npz")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["y"], _reference(X), rtol=1e-5)
    capsys.readouterr()
    (tmp_path / "junk.tar").write_bytes(b"junk")
    assert cli_main(["run", str(tmp_path / "junk.tar")]) == 1
    assert "not an uncompressed tar archive" in capsys.readouterr().err


def test_package_loads_without_the_compiler(package: Path) -> None:
    code = (
        "import sys, numpy as np, xtvm.runtime\n"
        f"m = xtvm.runtime.load({str(package)!r})\n"
        "y = m(np.ones((2, 4), np.float32))\n"
        "bad = [k for k in sys.modules if k.split('.')[0] in ('xdsl', 'llvmlite')]\n"
        "assert not bad, bad\n"
        "print(float(y.sum()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == pytest.approx(float(_reference(np.ones((2, 4), np.float32)).sum()))


def _lacking_feature() -> str | None:
    have = cpu_features.host_features("x86_64")
    if have is None:
        return None
    return next((f for f in CANDIDATES if f not in have), None)


@pytest.mark.skipif(xtvm.runtime.elf.host_arch() != "x86_64", reason="x86-64 features")
@pytest.mark.parametrize("suffix", [".so", ".tar"])
def test_library_for_missing_features_is_refused(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feature = _lacking_feature()
    if feature is None:  # a machine with all of them (or no /proc/cpuinfo): pretend it lacks one
        feature = "avx512f"
        have = cpu_features.host_features("x86_64") or frozenset()
        monkeypatch.setattr(cpu_features, "host_features", lambda arch: have - {feature})
    lib = xtvm.build(xtvm.from_onnx(_model()), target=f"llvm -mattr=+{feature}")
    with pytest.raises(ForeignTargetError, match=rf"lacks: \+{feature}; export it"):
        lib(X)  # the JIT does not run it either
    path = lib.export_library(tmp_path / f"m{suffix}")
    with pytest.raises(IncompatibleLibraryError, match=rf"lacks: \+{feature} \(target cpu"):
        xtvm.runtime.load(path)


@pytest.mark.skipif(xtvm.runtime.elf.host_arch() != "x86_64", reason="x86-64 features")
def test_library_for_a_cpu_with_features_this_one_lacks_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-mcpu=skylake-avx512`` without ``-mattr``: the features come from the CPU name."""
    have = cpu_features.host_features("x86_64") or frozenset()
    if "avx512f" in have:
        monkeypatch.setattr(cpu_features, "host_features", lambda arch: have - {"avx512f"})
    lib = xtvm.build(xtvm.from_onnx(_model()), target="llvm -mcpu=skylake-avx512")
    assert lib.metadata["target"]["cpu"] == "skylake-avx512"
    with pytest.raises(ForeignTargetError, match=r"\+avx512f"):
        lib(X)
    path = lib.export_library(tmp_path / "m.so")
    with pytest.raises(IncompatibleLibraryError, match=r"\+avx512f.*\(target cpu skylake-avx512\)"):
        xtvm.runtime.load(path)


def test_large_weights_are_elided_from_the_relay_source() -> None:
    from xtvm.driver.package import ELIDE_HEX_CHARS, elide_weights

    big = 'dense<"0x' + "3F" * (ELIDE_HEX_CHARS // 2) + '"> : tensor<1024xi8>'
    small = 'dense<"0x' + "3F" * (ELIDE_HEX_CHARS // 2 - 1) + '"> : tensor<1023xi8>'
    text = f"%a = relay.constant {big}\n%b = relay.constant {small}\n"
    assert elide_weights(text) == (
        f"%a = relay.constant dense_resource<__elided__> : tensor<1024xi8>\n"
        f"%b = relay.constant {small}\n"
    )


@pytest.mark.parametrize("triple", ["aarch64-linux-gnu", "riscv64-linux-gnu"])
def test_cross_compiled_library_is_refused_by_architecture(triple: str, tmp_path: Path) -> None:
    from xtvm.backends.llvm.target import Target
    from xtvm.backends.llvm.toolchain import find_toolchain

    target = Target.from_string(f"llvm -mtriple={triple}")
    if target.arch == xtvm.runtime.elf.host_arch():
        pytest.skip(f"{triple} is this machine")
    if find_toolchain(target) is None:
        pytest.skip(f"no {triple} linker: install gcc-{triple.split('-')[0]}-linux-gnu")
    lib = xtvm.build(xtvm.from_onnx(_model()), target=target)
    for path in (tmp_path / "m.so", tmp_path / "m.tar"):
        lib.export_library(path)
        with pytest.raises(IncompatibleLibraryError, match=f"compiled for {target.arch}, this"):
            xtvm.runtime.load(path)


def test_package_without_relay_source_still_loads(
    built: xtvm.CompiledModule, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_source(level: str = "llvm") -> str:
        raise xtvm.errors.XTVMError(f"no {level} IR was kept")

    monkeypatch.setattr(built, "get_source", no_source)
    path = built.export_library(tmp_path / "m.tar")
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["mod.so", "metadata.json"]
    np.testing.assert_allclose(xtvm.runtime.load(path)(X), _reference(X), rtol=1e-5, atol=1e-6)


def test_library_copy_falls_back_to_python(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where copy_file_range stops part way (another filesystem, an old kernel), the rest of
    the library is copied through Python and the package still runs."""
    import os

    real = os.copy_file_range
    calls = []

    def partial(src: int, dst: int, count: int, offset_src: int | None = None) -> int:
        calls.append(count)
        if len(calls) > 1:
            raise OSError(18, "Invalid cross-device link")
        return real(src, dst, min(count, 4096), offset_src)

    monkeypatch.setattr(os, "copy_file_range", partial)
    np.testing.assert_allclose(xtvm.runtime.load(package)(X), _reference(X), rtol=1e-5, atol=1e-6)
    assert len(calls) == 2
    monkeypatch.delattr(os, "copy_file_range")
    np.testing.assert_allclose(xtvm.runtime.load(package)(X), _reference(X), rtol=1e-5, atol=1e-6)


def test_noexec_temporary_folder_gets_a_hint(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctypes

    def noexec(path: str) -> None:
        raise OSError(f"{path}: failed to map segment from shared object")

    monkeypatch.setattr(ctypes, "CDLL", noexec)
    with pytest.raises(ModelError, match="point TMPDIR at a folder allowing exec"):
        xtvm.runtime.load(package)
