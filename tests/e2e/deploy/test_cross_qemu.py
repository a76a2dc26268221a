"""Cross-compiled models run under qemu-user and give the host's numbers (within 1e-5).

Each model is built for the host (the reference, run by the Python runtime) and for aarch64
and riscv64; the foreign library is linked by the target's gcc, and so are the C runtime and
examples/c_api/run_model.c, which then run the library under qemu-aarch64 / qemu-riscv64
(RVV code with VLEN 128). Marker ``cross``, excluded by default:

    python -m pytest -m cross tests/e2e/deploy

Needs Debian's gcc-aarch64-linux-gnu, gcc-riscv64-linux-gnu and qemu-user: when one is
missing the tests install them with scripts/install-cross-toolchains.sh if running as root
with apt-get, and skip (saying what to install) otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import xtvm
import xtvm.backends.llvm.jit as jit
from xtvm.backends.llvm import Target
from xtvm.backends.llvm.toolchain import find_toolchain
from xtvm.runtime import c_runtime_dir, c_runtime_sources
from xtvm.testing import model_zoo

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "unit" / "backends"))
from c_deploy_helpers import (  # noqa: E402
    EXAMPLE,
    nonzero_model,
    printed_shapes,
    write_inputs,
)
from cross_models import conv_relu_gemm, wide_conv  # noqa: E402

pytestmark = pytest.mark.cross

INSTALL = REPO / "scripts" / "install-cross-toolchains.sh"
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Arch:
    """A cross target and how to run its programs here."""

    target: str
    qemu: tuple[str, ...]
    package: str

    @property
    def triple(self) -> str:
        return Target.from_string(self.target).triple


ARCHES = {
    "aarch64": Arch(
        "llvm -mtriple=aarch64-linux-gnu",
        ("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"),
        "gcc-aarch64-linux-gnu",
    ),
    "riscv64": Arch(
        "llvm -mtriple=riscv64-linux-gnu",
        ("qemu-riscv64", "-L", "/usr/riscv64-linux-gnu", "-cpu", "rv64,v=true,vlen=128"),
        "gcc-riscv64-linux-gnu",
    ),
    "riscv64-scalar": Arch(
        "llvm -mtriple=riscv64-linux-gnu -mattr=+m,+a,+f,+d,+c",
        ("qemu-riscv64", "-L", "/usr/riscv64-linux-gnu"),
        "gcc-riscv64-linux-gnu",
    ),
}


def _missing(arch: Arch) -> list[str]:
    """What this machine lacks to build and run ``arch``'s programs."""
    missing = []
    if find_toolchain(Target.from_string(arch.target)) is None:
        missing.append(arch.package)
    if shutil.which(arch.qemu[0]) is None or not Path(arch.qemu[2]).is_dir():
        missing.append("qemu-user")
    return missing


@cache
def _installed() -> bool:
    """Run the install script once, when it can work (root, apt-get)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    try:
        proc = subprocess.run(["sh", str(INSTALL)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def require(name: str) -> Arch:
    """``ARCHES[name]``, installing its tools if missing and possible, else skip."""
    arch = ARCHES[name]
    if os.environ.get("CC"):
        pytest.skip("$CC is set: these tests pick each target's own gcc (unset CC)")
    if _missing(arch) and _installed():
        pass
    if missing := _missing(arch):
        pytest.skip(
            f"cannot run {arch.triple} programs here: install {' '.join(sorted(set(missing)))} "
            f"(as root: {INSTALL.relative_to(REPO)})"
        )
    return arch


@pytest.fixture(scope="session")
def exe_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where each target's run_model is built once per session."""
    return str(tmp_path_factory.mktemp("cross-run-model"))


@cache
def run_model_exe(name: str, folder: str) -> Path:
    """examples/c_api/run_model.c and the C runtime, built by ``name``'s cross gcc."""
    toolchain = find_toolchain(Target.from_string(ARCHES[name].target))
    out = Path(folder) / f"run_model-{name}"
    cmd = toolchain.command(
        "-std=c99", "-O2", "-Wall", "-Werror", f"-I{c_runtime_dir()}", str(EXAMPLE)
    )
    cmd += [*c_runtime_sources(), "-ldl", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-3000:]}"
    return out


# name -> (onnx model, shape_dict, inputs by name or None for random ones)
Case = Callable[[], tuple[object, dict | None, dict | None]]


def _zoo(family: str) -> Case:
    def make():
        model = model_zoo.make_model(family, "tiny")
        shapes = model_zoo.FAMILIES[family].shape_dict("tiny")
        return model, shapes, model_zoo.random_inputs(family, "tiny")

    return make


MODELS: dict[str, Case] = {
    "conv_relu_gemm": lambda: (conv_relu_gemm(), None, None),
    "wide_conv_parallel": lambda: (wide_conv(), None, None),
    "nonzero": lambda: (nonzero_model(), None, None),
    "resnet18_like": _zoo("resnet18_like"),
    "mobilenetv2_like": _zoo("mobilenetv2_like"),
}


def _inputs(lib, given: dict | None) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    out = []
    for info in lib.input_info:
        if given is not None:
            out.append(np.ascontiguousarray(given[info["name"]]))
        else:
            out.append(rng.standard_normal(info["shape"]).astype(info["dtype"]))
    return out


def _max_error(want: list[np.ndarray], got: list[np.ndarray]) -> float:
    err = 0.0
    for w, g in zip(want, got, strict=True):
        assert w.shape == g.shape and w.dtype == g.dtype
        if w.size:
            err = max(err, float(np.max(np.abs(w.astype(np.float64) - g.astype(np.float64)))))
    return err


def run_under_qemu(
    arch_name: str, lib, inputs: list[np.ndarray], folder: Path, exe_dir: str
) -> list[np.ndarray]:
    """Export ``lib``, run it with run_model under qemu, read its outputs."""
    arch = ARCHES[arch_name]
    so = lib.export_library(folder / "model.so")
    exe = run_model_exe(arch_name, exe_dir)
    out_dir = folder / "out"
    out_dir.mkdir()
    cmd = [*arch.qemu, str(exe), so, *write_inputs(folder, inputs), "-o", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shapes = printed_shapes(proc.stdout)
    outs = []
    for k, (info, shape) in enumerate(zip(lib.output_info, shapes, strict=True)):
        data = np.fromfile(out_dir / f"output{k}.bin", dtype=info["dtype"])
        outs.append(data.reshape(shape))
    return outs


# the scalar RISC-V build (no V extension) is checked on two models only: slow under qemu
SCALAR_MODELS = ("conv_relu_gemm", "resnet18_like")
CASES = [
    (model, arch)
    for arch in ARCHES
    for model in MODELS
    if arch != "riscv64-scalar" or model in SCALAR_MODELS
]


@pytest.mark.parametrize(("model_name", "arch_name"), CASES)
def test_cross_model_matches_host(model_name, arch_name, tmp_path, exe_dir):
    arch = require(arch_name)
    model, shapes, given = MODELS[model_name]()
    relay = xtvm.from_onnx(model, shape_dict=shapes)
    host = xtvm.build(relay)
    inputs = _inputs(host, given)
    want = host.run(inputs)
    lib = xtvm.build(relay, target=arch.target)
    if model_name == "wide_conv_parallel":
        assert b"GOMP_parallel" in lib._object_code, "expected parallel loops"
    case = tmp_path / "case"
    case.mkdir()
    start = time.perf_counter()
    got = run_under_qemu(arch_name, lib, inputs, case, exe_dir)
    err = _max_error(want, got)
    print(
        f"\n{model_name} {arch_name} ({arch.triple}): max abs error {err:.3g} "
        f"(qemu {time.perf_counter() - start:.2f} s)"
    )
    assert err <= TOLERANCE


@pytest.mark.parametrize("arch_name", ["aarch64", "riscv64"])
def test_parallel_codegen_parts_joined_by_cross_cc(arch_name, tmp_path, monkeypatch, exe_dir):
    """A model compiled in parallel parts (joined by the target's ``cc -r``) runs the same."""
    arch = require(arch_name)
    monkeypatch.setenv("XTVM_CODEGEN_JOBS", "3")
    monkeypatch.setattr(jit, "PARALLEL_MIN_CHARS", 1000)
    joined = []
    link = jit.link_relocatable
    monkeypatch.setattr(jit, "link_relocatable", lambda objs, t: joined.append(t) or link(objs, t))
    model, shapes, given = MODELS["resnet18_like"]()
    relay = xtvm.from_onnx(model, shape_dict=shapes)
    host = xtvm.build(relay, cache=False)
    inputs = _inputs(host, given)
    lib = xtvm.build(relay, target=arch.target, cache=False)
    assert arch.triple in [t.triple for t in joined]
    case = tmp_path / "case"
    case.mkdir()
    got = run_under_qemu(arch_name, lib, inputs, case, exe_dir)
    assert _max_error(host.run(inputs), got) <= TOLERANCE
