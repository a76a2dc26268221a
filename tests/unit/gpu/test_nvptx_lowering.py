"""convert-tir-to-nvvm on hand-written GPU tir: the PTX assembles (ptxas, sm_80 and sm_90),
the launch plan is what the runtime accepts, and what a plan cannot express is refused
with one-line CompileErrors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from xdsl.parser import Parser

from xtvm.backends.cuda.codegen import constants_blob, generate_ptx
from xtvm.backends.cuda.ptx import find_ptxas, ptxas_check
from xtvm.backends.llvm import Target
from xtvm.context import make_context
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_nvvm import ConvertTirToNvvmPass
from xtvm.runtime.cuda import CudaModule

needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")

KERNEL = """
tir.prim_func @scale(%a: memref<1000xf32>, %w: memref<2xf32>, %out: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c256 = arith.constant 256 : index
  %c1000 = arith.constant 1000 : index
  tir.for %b = %c0 to %c4 step %c1 kind(thread "blockIdx.x") {
    %s = tir.alloc "shared" : memref<256xf32>
    tir.for %t = %c0 to %c256 step %c1 kind(thread "threadIdx.x") {
      %base = arith.muli %b, %c256 : index
      %i = arith.addi %base, %t : index
      %in = arith.cmpi ult, %i, %c1000 : index
      scf.if %in {
        %v = memref.load %a[%i] : memref<1000xf32>
        memref.store %v, %s[%t] : memref<256xf32>
      }
    }
    tir.barrier
    tir.for %t = %c0 to %c256 step %c1 kind(thread "threadIdx.x") {
      %base = arith.muli %b, %c256 : index
      %i = arith.addi %base, %t : index
      %in = arith.cmpi ult, %i, %c1000 : index
      scf.if %in {
        %v = memref.load %s[%t] : memref<256xf32>
        %w0 = memref.load %w[%c1] : memref<2xf32>
        %m = arith.mulf %v, %w0 : f32
        %e = math.erf %m : f32
        %l = math.log %e : f32
        %h = math.tanh %l : f32
        %p = math.powf %h, %w0 : f32
        %acc = tir.alloc "local" : memref<1xf32>
        memref.store %p, %acc[%c0] : memref<1xf32>
        %r = memref.load %acc[%c0] : memref<1xf32>
        memref.store %r, %out[%i] : memref<1000xf32>
      }
    }
  }
  tir.return
}
"""

MODULE = (
    """
tir.global @w = dense<[0.5, 2.0]> : tensor<2xf32> : memref<2xf32>
tir.global @v = dense<[3.0, 4.0]> : tensor<2xf32> : memref<2xf32>
"""
    + KERNEL
    + """
tir.prim_func @main(%x: memref<1000xf32>, %y: memref<1000xf32>, %z: memref<1000xf32>)
    attributes {xtvm.entry, xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["x", "y", "z"],
                xtvm.workspace_bytes = 4096 : i64} {
  %ws = tir.workspace_buffer offset 0 : memref<1000xf32>
  %w = tir.global_ref @w : memref<2xf32>
  %v = tir.global_ref @v : memref<2xf32>
  tir.call @scale(%x, %w, %ws) : memref<1000xf32>, memref<2xf32>, memref<1000xf32>
  tir.call @scale(%ws, %v, %y) : memref<1000xf32>, memref<2xf32>, memref<1000xf32>
  tir.call @scale(%ws, %w, %z) : memref<1000xf32>, memref<2xf32>, memref<1000xf32>
  tir.return
}
"""
)


def lower(text: str):
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    ConvertTirToNvvmPass().apply(ctx, module)
    module.verify()
    return module


def test_plan_and_constants():
    module = lower(MODULE)
    meta = json.loads(module.attributes["xtvm.metadata"].data)
    assert meta["device"] == "cuda" and meta["workspace_bytes"] == 4096
    assert [launch["kernel"] for launch in meta["launches"]] == ["scale"] * 3
    first, second, third = meta["launches"]
    assert first["grid"] == [4, 1, 1] and first["block"] == [256, 1, 1]
    assert first["args"] == [
        {"kind": "input", "index": 0, "offset": 0},
        {"kind": "constant", "index": 0, "offset": 0},
        {"kind": "workspace", "index": 0, "offset": 0},
    ]
    assert second["args"][1] == {"kind": "constant", "index": 1, "offset": 0}
    assert second["args"][2] == {"kind": "output", "index": 0, "offset": 0}
    assert third["args"][2] == {"kind": "output", "index": 1, "offset": 0}
    assert [c["name"] for c in meta["constants"]] == ["w", "v"]
    assert [c["offset"] for c in meta["constants"]] == [0, 64]  # 64-byte aligned
    blob = constants_blob(module, meta["constants"])
    assert np.frombuffer(blob[:8], np.float32).tolist() == [0.5, 2.0]
    assert np.frombuffer(blob[64:72], np.float32).tolist() == [3.0, 4.0]
    # the runtime's plan checks accept it (no GPU needed to construct a CudaModule)
    ptx = generate_ptx(module, Target.cuda("sm_80"))
    meta["target"] = {"triple": "nvptx64-nvidia-cuda", "cpu": "sm_80", "features": "+ptx70"}
    assert len(CudaModule(ptx, meta, blob).plan.launches) == 3


def test_ptx_uses_gpu_instructions():
    ptx = generate_ptx(lower(MODULE), Target.cuda("sm_80"))
    assert ".visible .entry scale(" in ptx and ".maxntid 256, 1, 1" in ptx
    needles = ("%ctaid.x", "%tid.x", "bar.sync", ".shared", "ex2.approx", "lg2.approx", "cvt.rzi")
    for needle in needles:
        assert needle in ptx, needle
    assert "call" not in ptx.split(".entry", 1)[1]  # no libm or runtime calls


@needs_ptxas
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_ptx_assembles(arch):
    ptxas_check(generate_ptx(lower(MODULE), Target.cuda(arch)), arch)


UNBOUND = """
tir.prim_func @cpu(%a: memref<8192xf32>, %b: memref<8192xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8192 = arith.constant 8192 : index
  tir.for %i = %c0 to %c8192 step %c1 kind(parallel) {
    %v = memref.load %a[%i] : memref<8192xf32>
    memref.store %v, %b[%i] : memref<8192xf32>
  }
  tir.return
}
"""


def test_tiny_unbound_kernel_runs_on_one_thread():
    """A kernel without thread loops but with a handful of elements is one thread's work."""
    text = UNBOUND.replace("8192", "16").replace(
        "tir.for %i", '%t = tir.alloc "local" : memref<1xf32>\n  tir.for %i'
    )
    text += """
tir.prim_func @main(%x: memref<16xf32>, %y: memref<16xf32>)
    attributes {xtvm.entry, xtvm.num_inputs = 1 : i64} {
  tir.call @cpu(%x, %y) : memref<16xf32>, memref<16xf32>
  tir.return
}
"""
    module = lower(text)
    (launch,) = json.loads(module.attributes["xtvm.metadata"].data)["launches"]
    assert (launch["grid"], launch["block"]) == ([1, 1, 1], [1, 1, 1])
    ptx = generate_ptx(module, Target.cuda("sm_80"))
    assert ".entry cpu(" in ptx and ".maxntid 1, 1, 1" in ptx


def _gpu_kernel(body: str, elt: str = "f32") -> str:
    return f"""
tir.prim_func @k(%a: memref<4x{elt}>, %b: memref<4x{elt}>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %t = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {{
    {body}
  }}
  tir.return
}}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (UNBOUND, "no GPU schedule for 1 kernel(s): @cpu"),
        (
            _gpu_kernel(
                "%v = memref.load %a[%t] : memref<4xf64>\n    %e = math.exp %v : f64\n"
                "    memref.store %e, %b[%t] : memref<4xf64>",
                "f64",
            ),
            "'math.exp' on f64 has no cuda lowering",
        ),
        (
            _gpu_kernel(
                "%v = memref.load %a[%t] : memref<4xf32>\n    %e = math.tan %v : f32\n"
                "    memref.store %e, %b[%t] : memref<4xf32>"
            ),
            "'math.tan' has no cuda lowering",
        ),
        (
            _gpu_kernel('%h = tir.alloc "heap" : memref<4xf32>'),
            "a 'heap' buffer cannot be allocated in a GPU kernel",
        ),
        (
            _gpu_kernel("")
            + """
tir.prim_func @main(%x: memref<4xf32>, %c: memref<i1>, %y: memref<4xf32>)
    attributes {xtvm.entry, xtvm.num_inputs = 2 : i64} {
  %p = memref.load %c[] : memref<i1>
  scf.if %p {
    tir.call @k(%x, %y) : memref<4xf32>, memref<4xf32>
  }
  tir.return
}
""",
            "its entry has a data-dependent branch",
        ),
    ],
)
def test_refused(text, message):
    with pytest.raises(CompileError) as err:
        lower(text)
    assert message in str(err.value) and "\n" not in str(err.value)


PHASES = """
tir.prim_func @rows(%a: memref<8x100xf32>, %out: memref<8x100xf32>) {
  %m = tir.alloc "heap" : memref<8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c100 = arith.constant 100 : index
  tir.for %t = %c0 to %c8 step %c1 kind(thread "threadIdx.x") {
    %acc = tir.alloc "local" : memref<1xf32>
    %z = arith.constant 0.0 : f32
    memref.store %z, %acc[%c0] : memref<1xf32>
    tir.for %r = %c0 to %c100 step %c1 {
      %v = memref.load %a[%t, %r] : memref<8x100xf32>
      %s = memref.load %acc[%c0] : memref<1xf32>
      %n = arith.addf %s, %v : f32
      memref.store %n, %acc[%c0] : memref<1xf32>
    }
    %s = memref.load %acc[%c0] : memref<1xf32>
    memref.store %s, %m[%t] : memref<8xf32>
  }
  tir.for %b = %c0 to %c8 step %c1 kind(thread "blockIdx.x") {
    tir.for %t = %c0 to %c100 step %c1 kind(thread "threadIdx.x") {
      %v = memref.load %a[%b, %t] : memref<8x100xf32>
      %s = memref.load %m[%b] : memref<8xf32>
      %q = arith.divf %v, %s : f32
      memref.store %q, %out[%b, %t] : memref<8x100xf32>
    }
  }
  tir.free %m : memref<8xf32>
  tir.return
}
tir.prim_func @main(%x: memref<8x100xf32>, %y: memref<8x100xf32>)
    attributes {xtvm.entry, xtvm.num_inputs = 1 : i64, xtvm.workspace_bytes = 100 : i64} {
  tir.call @rows(%x, %y) : memref<8x100xf32>, memref<8x100xf32>
  tir.return
}
"""


def test_phases_become_launches():
    """Root stages with thread loops of their own are separate launches (threads of different
    blocks cannot wait for each other); the root buffer between them is device workspace."""
    module = lower(PHASES)
    meta = json.loads(module.attributes["xtvm.metadata"].data)
    first, second = meta["launches"]
    assert (first["kernel"], first["grid"], first["block"]) == ("rows_0", [1, 1, 1], [8, 1, 1])
    assert (second["kernel"], second["grid"], second["block"]) == ("rows_1", [8, 1, 1], [100, 1, 1])
    scratch = {"kind": "workspace", "index": 0, "offset": 128}  # after the entry's 100 bytes
    assert first["args"][2] == scratch and second["args"][2] == scratch
    assert meta["workspace_bytes"] == 128 + 64
    ptx = generate_ptx(module, Target.cuda("sm_80"))
    assert ".entry rows_0(" in ptx and ".entry rows_1(" in ptx
    if find_ptxas() is not None:
        ptxas_check(ptx, "sm_80")


def test_barrier_phases_stay_one_launch():
    """Phases of a single block separated by a barrier are one launch; the root buffer they
    share is still device memory (an extra argument)."""
    text = PHASES.replace(
        'tir.for %b = %c0 to %c8 step %c1 kind(thread "blockIdx.x") {', "tir.barrier\n  {"
    ).replace("%b", "%c0")
    text = text.replace("  {\n    tir.for %t = %c0 to %c100", "  tir.for %t = %c0 to %c100")
    text = text.replace("    }\n  }\n  tir.free", "    }\n  tir.free")
    module = lower(text)
    meta = json.loads(module.attributes["xtvm.metadata"].data)
    (launch,) = meta["launches"]
    assert (launch["kernel"], launch["grid"], launch["block"]) == ("rows", [1, 1, 1], [100, 1, 1])
    assert launch["args"][2] == {"kind": "workspace", "index": 0, "offset": 128}
    ptx = generate_ptx(module, Target.cuda("sm_80"))
    assert ptx.count(".entry") == 1 and "bar.sync" in ptx


def test_bool_constants_are_numpy_bools():
    from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, i1

    from xtvm.lowering.tir_to_nvvm.launch_plan import pack_constants

    value = DenseIntOrFPElementsAttr.from_list(TensorType(i1, [3]), [1, 0, 1])
    entry = {"name": "m", "dtype": "bool", "shape": [3], "offset": 0, "nbytes": 3}
    assert pack_constants([entry], [value]) == b"\x01\x00\x01"
