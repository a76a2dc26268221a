"""xtvm.build(target="cuda") on small models: every generated module assembles with ptxas for
sm_80 and sm_90 (skipped where CUDA is not installed), the launch plan is consistent with the
PTX and the device limits, and a kernel without a GPU schedule is a one-line CompileError
naming it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from onnx import helper

import xtvm
from xtvm.backends.cuda.ptx import emit_ptx, find_ptxas, ptxas_check
from xtvm.backends.llvm import Target
from xtvm.errors import CompileError
from xtvm.runtime.cuda.plan import ptx_entries
from xtvm.testing.onnx_check import float_model

needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
RNG = np.random.default_rng(0)


def _w(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def elementwise():
    nodes = [
        helper.make_node("Add", ["x", "w"], ["a"]),
        helper.make_node("Relu", ["a"], ["r"]),
        helper.make_node("Exp", ["r"], ["e"]),
        helper.make_node("Mul", ["e", "x"], ["y"]),
    ]
    return float_model(nodes, {"x": (4, 300)}, ["y"], 17, {"w": _w(300)})


def softmax():
    nodes = [helper.make_node("Softmax", ["x"], ["y"], axis=-1)]
    return float_model(nodes, {"x": (8, 100)}, ["y"], 17)


def dense():
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g"]),
        helper.make_node("Relu", ["g"], ["y"]),
    ]
    return float_model(nodes, {"x": (8, 64)}, ["y"], 17, {"w": _w(64, 32), "b": _w(32)})


def conv2d():
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    return float_model(nodes, {"x": (1, 3, 16, 16)}, ["y"], 17, {"w": _w(8, 3, 3, 3), "b": _w(8)})


def resnet18_like():
    from xtvm.testing.model_zoo import make_model

    return make_model("resnet18_like", "tiny")


SHAPES = {"resnet18_like": {"x": (2, 3, 32, 32)}}


MODELS = {
    "elementwise": elementwise,
    "softmax": softmax,
    "dense": dense,
    "conv2d": conv2d,
    "resnet18_like": resnet18_like,
}
_PARAMS = re.compile(r"\.entry\s+([\w$]+)\s*\(([^)]*)\)", re.S)


def check_plan(lib) -> None:
    """Every launch names a PTX entry with as many parameters as it passes pointers, its
    grid and block are within CUDA's limits, and every buffer index and offset is in range."""
    meta, ptx = lib.metadata, lib.ptx
    params = {m.group(1): m.group(2).count(".param") for m in _PARAMS.finditer(ptx)}
    assert set(params) == set(ptx_entries(ptx))
    counts = {
        "input": len(meta["inputs"]),
        "output": len(meta["outputs"]),
        "workspace": 1,
        "constant": len(meta["constants"]),
    }
    assert meta["launches"], "a model runs at least one kernel"
    for launch in meta["launches"]:
        assert params[launch["kernel"]] == len(launch["args"])
        gx, gy, gz = launch["grid"]
        bx, by, bz = launch["block"]
        assert 1 <= gx < 2**31 and 1 <= gy <= 65535 and 1 <= gz <= 65535
        assert 1 <= bx <= 1024 and 1 <= by <= 1024 and 1 <= bz <= 64 and bx * by * bz <= 1024
        for arg in launch["args"]:
            assert 0 <= arg["index"] < counts[arg["kind"]], arg
            assert arg["offset"] >= 0
            if arg["kind"] == "workspace":
                assert arg["offset"] < max(1, meta["workspace_bytes"])
    last = meta["constants"][-1] if meta["constants"] else {"offset": 0, "nbytes": 0}
    assert len(lib.constants) == last["offset"] + last["nbytes"]


@pytest.mark.parametrize("name", list(MODELS))
def test_build_for_cuda(name):
    model = MODELS[name]()
    lib = xtvm.build(xtvm.from_onnx(model, shape_dict=SHAPES.get(name)), target="cuda")
    assert lib.metadata["device"] == "cuda" and lib.target.kind == "cuda"
    check_plan(lib)
    assert lib.get_source("ptx") == lib.ptx
    assert 'kind(thread "threadIdx.x")' in lib.get_source("tir")
    if find_ptxas() is not None:
        ptxas_check(lib.ptx, "sm_80")
        ptxas_check(emit_ptx(lib.get_source("ll"), Target.cuda("sm_90")), "sm_90")


def test_unscheduled_kernels_are_named(monkeypatch):
    """Without GPU schedules (the CPU ones: no bound loops) the build names the kernels."""
    import xtvm.driver.cuda_build as cuda_build

    monkeypatch.setattr(cuda_build, "_for_device", lambda passes, device: passes)
    with pytest.raises(CompileError) as err:
        xtvm.build(xtvm.from_onnx(elementwise()), target="cuda")
    message = str(err.value)
    assert "no GPU schedule for 1 kernel(s): @fused_add_relu_exp_multiply" in message
    assert "\n" not in message


def test_cpu_only_options_refused():
    with pytest.raises(CompileError, match="CPU options"):
        xtvm.build(xtvm.from_onnx(elementwise()), target="cuda", num_threads=2)


@needs_ptxas
def test_cli_compile_for_cuda(tmp_path):
    """``xtvm compile --target cuda`` writes a loadable library and, with --dump-ir, the PTX."""
    import onnx

    from xtvm.cli.main import main

    path = tmp_path / "m.onnx"
    onnx.save(elementwise(), path)
    try:
        code = main(
            [
                "compile",
                str(path),
                "--target",
                "cuda -arch=sm_90",
                "-o",
                str(tmp_path / "m.so"),
                "--dump-ir",
                str(tmp_path / "ir"),
            ]
        )
    except CompileError as exc:
        pytest.skip(str(exc))
    assert code == 0
    ptx = (tmp_path / "ir" / "model.ptx").read_text()
    assert ".target sm_90" in ptx
    ptxas_check(ptx, "sm_90")
    assert not (tmp_path / "ir" / "model.s").exists()
    loaded = xtvm.runtime.load(tmp_path / "m.so")
    assert loaded.ptx == ptx


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([helper.make_node("NonZero", ["x"], ["y"])], "output 'y' has a data-dependent length"),
    ],
)
def test_plan_refusals_name_the_reason(nodes, message):
    model = float_model(nodes, {"x": (4, 5)}, ["y"], 17)
    model.graph.output[0].type.tensor_type.elem_type = 7  # NonZero's int64 indices
    with pytest.raises(CompileError) as err:
        xtvm.build(xtvm.from_onnx(model), target="cuda")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_build_cache(tmp_path, monkeypatch):
    """A second cuda build of the same model is loaded from the build cache: same PTX, plan
    and constants, and the IR of the other levels is still available."""
    monkeypatch.setenv("XTVM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("XTVM_CACHE", raising=False)
    model = dense()
    first = xtvm.build(xtvm.from_onnx(model), target="cuda", cache=True)
    second = xtvm.build(xtvm.from_onnx(model), target="cuda", cache=True)
    assert first.cache_status.startswith("miss") and second.cache_status.startswith("hit")
    assert (second.ptx, second.constants, second.metadata) == (
        first.ptx,
        first.constants,
        first.metadata,
    )
    assert second.get_source("ll") == first.get_source("ll")
    assert 'kind(thread "threadIdx.x")' in second.get_source("tir")
    other = xtvm.build(xtvm.from_onnx(model), target="cuda -arch=sm_90", cache=True)
    assert other.cache_status.startswith("miss") and ".target sm_90" in other.ptx
