"""The launch plan of a CudaModule is checked at construction, without a GPU."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from cuda_samples import ADD_PTX, constants_blob, mutated, two_kernel_metadata

from xtvm.errors import ModelError, XTVMError
from xtvm.runtime.cuda import CudaModule, ptx_entries, required_capability
from xtvm.runtime.cuda.plan import ptx_signatures


def test_good_plan_is_parsed() -> None:
    m = CudaModule(ADD_PTX, two_kernel_metadata(), constants_blob())
    assert [launch.kernel for launch in m.plan.launches] == ["add_const", "scale2"]
    assert m.plan.launches[0].args[2].offset == 64
    assert m.plan.constants[0].offset == 16
    assert m.input_info == [{"name": "x", "shape": (4,), "dtype": "float32"}]
    assert m.output_info == [{"name": "y", "shape": (4,), "dtype": "float32"}]
    m.num_threads = 3  # accepted, unused (no host threads)
    assert m.num_threads == 3


def test_ptx_entries() -> None:
    assert ptx_entries(ADD_PTX) == ["add_const", "scale2"]
    assert ptx_entries(".entry k_0 (\n.weak .entry $w()\n// .entry no") == ["k_0", "$w"]


def test_ptx_signatures_of_llvm_output() -> None:
    """NVPTX prints pointer parameters as ``.param .u64 .ptr .global .align 1 k_param_0``."""
    ptx = (
        ".visible .entry k(\n\t.param .u64 .ptr .global .align 1 k_param_0,\n"
        "\t.param .align 8 .b64 k_param_1, // a comment (with parens)\n"
        "\t.param .f32 k_param_2\n)\n{\n}\n.entry none()\n{\n}\n"
    )
    assert ptx_signatures(ptx) == {"k": ["u64", "b64", "f32"], "none": []}


def test_arguments_must_match_the_kernel_parameters() -> None:
    meta = mutated(lambda m: m["launches"][1]["args"].pop())
    with pytest.raises(ModelError, match="kernel 'scale2' takes 2 parameters, the plan passes 1"):
        CudaModule(ADD_PTX, meta, constants_blob())
    ptx = ADD_PTX.replace(".param .u64 b", ".param .f32 b")
    with pytest.raises(ModelError, match="parameter 1 of kernel 'scale2' is .f32, not a 64-bit"):
        CudaModule(ptx, two_kernel_metadata(), constants_blob())


def test_required_capability() -> None:
    assert required_capability(two_kernel_metadata()) == (8, 0)
    assert required_capability({"target": {"cpu": "sm_90a"}}) == (9, 0)
    assert required_capability({"target": {"cpu": "generic"}}) is None


def _set(path: list[Any], value: Any):
    def change(meta: dict[str, Any]) -> None:
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


ARG = ["launches", 0, "args"]
MALFORMED = [
    (_set([*ARG, 0, "index"], 1), "input index 1 out of range (1 inputs)"),
    (_set([*ARG, 1, "index"], 2), "constant index 2 out of range"),
    (_set([*ARG, 2, "index"], 1), "workspace index 1 out of range"),
    (_set([*ARG, 0, "index"], -1), "non-negative integer 'index'"),
    (_set([*ARG, 0, "kind"], "host"), "kind 'host'"),
    (_set([*ARG, 2, "offset"], 128), "offset 128 past the end of workspace 0 (128 B)"),
    (_set([*ARG, 0, "offset"], 16), "offset 16 past the end of input 0 (16 B)"),
    (_set([*ARG, 0, "offset"], 2), "offset 2 is not 4-byte aligned"),
    (_set(["launches", 0, "grid"], [2**31, 1, 1]), "grid[0] = 2147483648 is outside"),
    (_set(["launches", 0, "grid"], [1, 70000, 1]), "grid[1] = 70000 is outside 1..65535"),
    (_set(["launches", 0, "grid"], [0, 1, 1]), "grid[0] = 0 is outside"),
    (_set(["launches", 0, "grid"], [1, 1]), "grid is not a list of 3"),
    (_set(["launches", 1, "block"], [1, 1, 65]), "block[2] = 65 is outside 1..64"),
    (_set(["launches", 1, "block"], [64, 32, 1]), "has over 1024 threads"),
    (_set(["launches", 1, "shared_bytes"], 1 << 20), "shared_bytes 1048576"),
    (_set(["launches", 1, "kernel"], "missing_kernel"), "'missing_kernel' is not an .entry"),
    (_set(["launches", 0, "args"], "x"), "has no 'args' list"),
    (_set(["constants", 0, "offset"], 24), "past the end of the constants (32 bytes)"),
    (_set(["constants", 0, "nbytes"], 12), "nbytes 12 != 16"),
    (_set(["constants", 0, "dtype"], "complex7"), "unknown dtype 'complex7'"),
    (_set(["constants", 0, "offset"], 2), "offset 2 is not 4-byte aligned"),
    (_set(["workspace_bytes"], -1), "'workspace_bytes'"),
    (_set(["device"], "tpu"), "'device' is 'tpu'"),
    (_set(["launches"], {}), "'launches' is not a list"),
    (_set(["constants"], 3), "'constants' is not a list"),
]


@pytest.mark.parametrize("change,message", MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_plans_are_model_errors(change, message: str) -> None:
    with pytest.raises(ModelError) as info:
        CudaModule(ADD_PTX, mutated(change), constants_blob(), shown="m.so")
    text = str(info.value)
    assert message in text, text
    assert text.startswith("cannot load 'm.so': malformed ")
    assert "\n" not in text


def test_not_a_cuda_module() -> None:
    meta = mutated(lambda m: m.pop("device"))
    with pytest.raises(XTVMError, match="not a cuda module"):
        CudaModule(ADD_PTX, meta, constants_blob())


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="CUDA's ptxas is not installed")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_sample_ptx_assembles(tmp_path, arch: str) -> None:
    """The hand-written PTX the runtime tests load is valid for the GPUs we target."""
    src = tmp_path / "k.ptx"
    src.write_text(ADD_PTX)
    proc = subprocess.run(
        ["ptxas", f"-arch={arch}", str(src), "-o", str(tmp_path / "k.cubin")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
