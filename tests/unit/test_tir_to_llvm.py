"""convert-tir-to-llvm (+ tir-vectorize) on hand-written tir, JIT-compiled, against numpy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from xdsl.dialects import llvm
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

import xtvm.runtime
from xtvm.backends.llvm import Target, compile_and_load, export_library, translate_module
from xtvm.context import make_context
from xtvm.dialects import llvmx
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm import ConvertTirToLlvmPass, module_metadata
from xtvm.passes.tir.vectorize import TirVectorizePass

HOST = Target.host()
CONSTS = """
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
"""


def lower(text: str, vectorize: bool = True, parallel_min_work: int = 0) -> ModuleOp:
    """Every parallel loop of these small examples is outlined (``parallel_min_work=0``)
    unless the test asks for the pass's default threshold."""
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    module.verify()
    if vectorize:
        TirVectorizePass().apply(ctx, module)
        module.verify()
    ConvertTirToLlvmPass(parallel_min_work=parallel_min_work).apply(ctx, module)
    module.verify()
    return module


def build(
    text: str, vectorize: bool = True, parallel_min_work: int = 0
) -> tuple[xtvm.runtime.Module, str]:
    module = lower(text, vectorize, parallel_min_work)
    ir = translate_module(module, HOST)
    lib = compile_and_load(ir, HOST, module_metadata(module), use_cache=False)
    return lib, str(ir)


def entry(args: str, names: list[str], n_in: int, ws: int = 0) -> str:
    quoted = ", ".join(f'"{n}"' for n in names)
    return (
        f"tir.prim_func @main({args}) attributes {{xtvm.entry, xtvm.num_inputs = {n_in} : i64, "
        f"xtvm.arg_names = [{quoted}], xtvm.workspace_bytes = {ws} : i64}}"
    )


# Two kernels sharing a workspace buffer; a weight global; parallel outer + vectorized inner.
SCALE_EXP = f"""
tir.global @w = dense<[{", ".join(str(float(k) / 8) for k in range(32))}]> : tensor<32xf32> : memref<32xf32>
tir.prim_func @scale(%x: memref<6x32xf32>, %w: memref<32xf32>, %t: memref<6x32xf32>) {{
  {CONSTS}
  %c6 = arith.constant 6 : index
  %c32 = arith.constant 32 : index
  tir.for %i = %c0 to %c6 step %c1 kind(parallel) {{
    tir.for %j = %c0 to %c32 step %c1 kind(vectorized) {{
      %a = memref.load %x[%i, %j] : memref<6x32xf32>
      %b = memref.load %w[%j] : memref<32xf32>
      %m = arith.mulf %a, %b : f32
      memref.store %m, %t[%i, %j] : memref<6x32xf32>
    }}
  }}
  tir.return
}}
tir.prim_func @exp(%t: memref<6x32xf32>, %y: memref<6x32xf32>) {{
  {CONSTS}
  %c6 = arith.constant 6 : index
  %c32 = arith.constant 32 : index
  tir.for %i = %c0 to %c6 step %c1 kind(parallel) {{
    tir.for %j = %c0 to %c32 step %c1 kind(vectorized) {{
      %a = memref.load %t[%i, %j] : memref<6x32xf32>
      %e = math.exp %a : f32
      memref.store %e, %y[%i, %j] : memref<6x32xf32>
    }}
  }}
  tir.return
}}
{entry("%x: memref<6x32xf32>, %y: memref<6x32xf32>", ["x", "y"], 1, 768)} {{
  %t = tir.workspace_buffer offset 0 : memref<6x32xf32>
  %w = tir.global_ref @w : memref<32xf32>
  tir.call @scale(%x, %w, %t) : memref<6x32xf32>, memref<32xf32>, memref<6x32xf32>
  tir.call @exp(%t, %y) : memref<6x32xf32>, memref<6x32xf32>
  tir.return
}}
"""
W = np.arange(32, dtype=np.float32) / 8


def test_elementwise_parallel_vectorized_workspace_global():
    lib, ir = build(SCALE_EXP)
    x = np.random.default_rng(0).uniform(-1, 1, (6, 32)).astype(np.float32)
    np.testing.assert_allclose(lib(x), np.exp(x * W), rtol=1e-6)
    assert re.search(r"load <(8|16) x float>", ir), "expected vector loads"
    assert "GOMP_parallel" in ir
    assert lib.metadata["workspace_bytes"] == 768


def test_small_parallel_loops_run_serially_by_default():
    """6 x 32 elements are far below the default work threshold: no fork/join is emitted,
    and the numbers are the same."""
    lib, ir = build(SCALE_EXP, parallel_min_work=ConvertTirToLlvmPass().parallel_min_work)
    x = np.random.default_rng(1).uniform(-1, 1, (6, 32)).astype(np.float32)
    np.testing.assert_allclose(lib(x), np.exp(x * W), rtol=1e-6)
    assert "GOMP_parallel" not in ir
    _, ir = build(SCALE_EXP, parallel_min_work=6 * 32 // 8)  # vector ops: 8 lanes each
    assert "GOMP_parallel" in ir
    with pytest.raises(CompileError, match="parallel_min_work"):
        lower(SCALE_EXP, parallel_min_work=-1)


def test_module_shape_and_abi():
    module = lower(SCALE_EXP)
    names = {op.sym_name.data: op for op in module.ops if isinstance(op, llvm.FuncOp)}
    assert {"scale", "exp", "xtvm_main", "GOMP_parallel"} <= set(names)
    scale = names["scale"]
    assert scale.linkage.linkage.data == "internal"
    assert all("llvm.noalias" in d.data for d in scale.arg_attrs.data)
    main = names["xtvm_main"]
    assert [str(t) for t in main.function_type.inputs] == ["!llvm.ptr", "!llvm.ptr"]
    assert str(main.function_type.output) == "i32"
    glob = [op for op in module.ops if isinstance(op, llvm.GlobalOp)]
    assert glob[0].constant is not None and glob[0].linkage.linkage.data == "internal"
    allowed = ("llvm.", "llvmx.")
    for op in module.walk():
        assert op is module or op.name.startswith(allowed), op.name
    for op in module.walk():
        if isinstance(op, llvm.LoadOp | llvm.StoreOp):
            assert op.alignment is not None
    meta = module_metadata(module)
    assert meta["inputs"] == [{"name": "x", "shape": [6, 32], "dtype": "float32"}]
    assert meta["outputs"][0]["name"] == "y"


REDUCE = f"""
tir.prim_func @rowsum(%x: memref<5x37xf32>, %y: memref<5xf32>) {{
  {CONSTS}
  %c5 = arith.constant 5 : index
  %c37 = arith.constant 37 : index
  %zero = arith.constant 0.0 : f32
  tir.for %i = %c0 to %c5 step %c1 kind(parallel) {{
    %acc = tir.alloc "local" : memref<1xf32>
    memref.store %zero, %acc[%c0] : memref<1xf32>
    tir.for %k = %c0 to %c37 step %c1 kind(vectorized) {{
      %a = memref.load %acc[%c0] : memref<1xf32>
      %b = memref.load %x[%i, %k] : memref<5x37xf32>
      %s = arith.addf %a, %b : f32
      memref.store %s, %acc[%c0] : memref<1xf32>
    }}
    %r = memref.load %acc[%c0] : memref<1xf32>
    memref.store %r, %y[%i] : memref<5xf32>
  }}
  tir.return
}}
{entry("%x: memref<5x37xf32>, %y: memref<5xf32>", ["x", "y"], 1)} {{
  tir.call @rowsum(%x, %y) : memref<5x37xf32>, memref<5xf32>
  tir.return
}}
"""


def test_reduction_with_local_accumulator():
    lib, _ = build(REDUCE)
    x = np.random.default_rng(1).standard_normal((5, 37)).astype(np.float32)
    np.testing.assert_allclose(lib(x), x.sum(axis=1), rtol=1e-5, atol=1e-5)


GUARD = f"""
tir.prim_func @pad(%x: memref<13xf32>, %y: memref<16xf32>) {{
  {CONSTS}
  %c13 = arith.constant 13 : index
  %c16 = arith.constant 16 : index
  %neg = arith.constant -1.0 : f32
  tir.for %i = %c0 to %c16 step %c1 kind(vectorized) {{
    %in = arith.cmpi slt, %i, %c13 : index
    scf.if %in {{
      %a = memref.load %x[%i] : memref<13xf32>
      %b = arith.addf %a, %a : f32
      memref.store %b, %y[%i] : memref<16xf32>
    }} else {{
      memref.store %neg, %y[%i] : memref<16xf32>
    }}
  }}
  tir.return
}}
{entry("%x: memref<13xf32>, %y: memref<16xf32>", ["x", "y"], 1)} {{
  tir.call @pad(%x, %y) : memref<13xf32>, memref<16xf32>
  tir.return
}}
"""


def test_scf_if_guard():
    lib, _ = build(GUARD)
    x = np.arange(13, dtype=np.float32)
    np.testing.assert_array_equal(lib(x), np.concatenate([2 * x, -np.ones(3, np.float32)]))


ACTIVATIONS = f"""
tir.prim_func @act(%x: memref<40xf32>, %t: memref<40xf32>, %s: memref<40xf32>, %e: memref<40xf32>, %r: memref<40xf32>) {{
  {CONSTS}
  %c40 = arith.constant 40 : index
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  tir.for %i = %c0 to %c40 step %c1 kind(vectorized) {{
    %a = memref.load %x[%i] : memref<40xf32>
    %th = math.tanh %a : f32
    memref.store %th, %t[%i] : memref<40xf32>
    %n = arith.negf %a : f32
    %ex = math.exp %n : f32
    %d = arith.addf %one, %ex : f32
    %sg = arith.divf %one, %d : f32
    memref.store %sg, %s[%i] : memref<40xf32>
    %ef = math.erf %a : f32
    memref.store %ef, %e[%i] : memref<40xf32>
    %rl = arith.maximumf %a, %zero : f32
    memref.store %rl, %r[%i] : memref<40xf32>
  }}
  tir.return
}}
{entry("%x: memref<40xf32>, %t: memref<40xf32>, %s: memref<40xf32>, %e: memref<40xf32>, %r: memref<40xf32>", ["x", "t", "s", "e", "r"], 1)} {{
  tir.call @act(%x, %t, %s, %e, %r) : memref<40xf32>, memref<40xf32>, memref<40xf32>, memref<40xf32>, memref<40xf32>
  tir.return
}}
"""


def test_math_activations():
    from math import erf

    lib, ir = build(ACTIVATIONS)
    x = np.linspace(-4, 4, 40, dtype=np.float32)
    x[7] = np.nan
    t, s, e, r = lib(x)
    np.testing.assert_allclose(t, np.tanh(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(e, np.array([erf(v) for v in x], np.float32), rtol=1e-6)
    np.testing.assert_array_equal(r, np.maximum(x, 0))  # NaN propagates like numpy
    assert re.search(r"<(8|16) x float>", ir)


CASTS = f"""
tir.prim_func @cast(%x: memref<4x24xi64>, %y: memref<4x24xf32>, %z: memref<4x24xi32>) {{
  {CONSTS}
  %c4 = arith.constant 4 : index
  %c24 = arith.constant 24 : index
  %half = arith.constant 0.5 : f32
  tir.for %i = %c0 to %c4 step %c1 kind(parallel) {{
    tir.for %j = %c0 to %c24 step %c1 kind(vectorized) {{
      %a = memref.load %x[%i, %j] : memref<4x24xi64>
      %f = arith.sitofp %a : i64 to f32
      %g = arith.mulf %f, %half : f32
      memref.store %g, %y[%i, %j] : memref<4x24xf32>
      %jj = arith.index_cast %j : index to i32
      %h = arith.fptosi %g : f32 to i32
      %k = arith.addi %h, %jj : i32
      memref.store %k, %z[%i, %j] : memref<4x24xi32>
    }}
  }}
  tir.return
}}
{entry("%x: memref<4x24xi64>, %y: memref<4x24xf32>, %z: memref<4x24xi32>", ["x", "y", "z"], 1)} {{
  tir.call @cast(%x, %y, %z) : memref<4x24xi64>, memref<4x24xf32>, memref<4x24xi32>
  tir.return
}}
"""


def test_int64_to_float_and_back():
    lib, _ = build(CASTS)
    x = np.random.default_rng(2).integers(-1000, 1000, (4, 24)).astype(np.int64)
    y, z = lib(x)
    np.testing.assert_array_equal(y, x.astype(np.float32) * 0.5)
    np.testing.assert_array_equal(z, np.trunc(x * 0.5).astype(np.int32) + np.arange(24))
    assert lib.output_info[1]["dtype"] == "int32"


INDEX_MATH = f"""
tir.prim_func @idx(%x: memref<6x4xf32>, %y: memref<4x6xf32>, %q: memref<24xi64>) {{
  {CONSTS}
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c24 = arith.constant 24 : index
  %cm7 = arith.constant -7 : index
  %cp5 = arith.constant 5 : index
  tir.for %i = %c0 to %c6 step %c1 {{
    tir.for %j = %c0 to %c4 step %c1 kind(vectorized) {{
      %a = memref.load %x[%i, %j] : memref<6x4xf32>
      memref.store %a, %y[%j, %i] : memref<4x6xf32>
    }}
  }}
  %heap = tir.alloc "heap" : memref<24xi64>
  tir.for %k = %c0 to %c24 step %c1 kind(unrolled) {{
    %s = arith.addi %k, %cm7 : index
    %fd = arith.floordivsi %s, %cp5 : index
    %rm = arith.remsi %s, %cp5 : index
    %mx = arith.maxsi %fd, %rm : index
    %mn = arith.minsi %mx, %c1 : index
    %sum = arith.addi %fd, %mn : index
    %v = arith.index_cast %sum : index to i64
    memref.store %v, %heap[%k] : memref<24xi64>
  }}
  tir.for %k = %c0 to %c24 step %c1 {{
    %v = memref.load %heap[%k] : memref<24xi64>
    memref.store %v, %q[%k] : memref<24xi64>
  }}
  tir.free %heap : memref<24xi64>
  tir.return
}}
{entry("%x: memref<6x4xf32>, %y: memref<4x6xf32>, %q: memref<24xi64>", ["x", "y", "q"], 1)} {{
  tir.call @idx(%x, %y, %q) : memref<6x4xf32>, memref<4x6xf32>, memref<24xi64>
  tir.return
}}
"""


def test_strided_store_index_arith_heap():
    lib, ir = build(INDEX_MATH)
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    y, q = lib(x)
    np.testing.assert_array_equal(y, x.T)
    s = np.arange(24) - 7
    fd, rm = s // 5, np.fmod(s, 5)
    np.testing.assert_array_equal(q, fd + np.minimum(np.maximum(fd, rm), 1))
    assert "aligned_alloc" in ir and "free" in ir


def test_parallel_with_two_threads(tmp_path):
    """OMP_NUM_THREADS=2, odd trip counts, in a fresh process (libgomp reads it once)."""
    script = textwrap.dedent(
        f"""
        import numpy as np, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_tir_to_llvm import build, REDUCE, SCALE_EXP, W
        lib, _ = build(REDUCE)
        x = np.random.default_rng(3).standard_normal((5, 37)).astype(np.float32)
        np.testing.assert_allclose(lib(x), x.sum(axis=1), rtol=1e-5, atol=1e-5)
        lib, _ = build(SCALE_EXP)
        x = np.ones((6, 32), np.float32)
        np.testing.assert_allclose(lib(x), np.exp(x * W), rtol=1e-6)
        print("ok")
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "2", "XTVM_CACHE_DIR": ""}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


def test_export_library_round_trip(tmp_path):
    module = lower(SCALE_EXP)
    path = export_library(
        translate_module(module, HOST), HOST, module_metadata(module), tmp_path / "m.so"
    )
    lib = xtvm.runtime.load(path)
    x = np.random.default_rng(4).uniform(-1, 1, (6, 32)).astype(np.float32)
    np.testing.assert_allclose(lib(x=x), np.exp(x * W), rtol=1e-6)
    assert lib.input_info[0]["shape"] == (6, 32)


def test_unsupported_op_is_a_compile_error():
    text = f"""
    tir.prim_func @k(%x: memref<4xf32>) {{
      {CONSTS}
      %v = memref.load %x[%c0] : memref<4xf32>
      %y = math.ctlz %c1 : index
      tir.return
    }}
    """
    with pytest.raises(CompileError, match="math.ctlz"):
        lower(text)


def test_llvmx_ops_round_trip():
    text = """
    func.func @f(%a: vector<4xf32>, %i: vector<4xi64>, %k: i64) {
      %m = llvmx.fcmp "ole" %a, %a : vector<4xf32> -> vector<4xi1>
      %s = llvmx.select %m, %a, %a : vector<4xi1>, vector<4xf32>
      %c = llvmx.uitofp %i : vector<4xi64> to vector<4xf32>
      %d = llvmx.fptoui %c : vector<4xf32> to vector<4xi64>
      %e = llvmx.extractelement %s[%k : i64] : vector<4xf32> -> f32
      func.return
    }
    """
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    module.verify()
    again = Parser(ctx, str(module)).parse_module()
    assert str(again) == str(module)
    assert any(isinstance(op, llvmx.FCmpOp) for op in module.walk())
