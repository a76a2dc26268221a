"""The f32 math of convert-tir-to-nvvm (exp/log/tanh/erf/pow from the GPU's base-2 units),
checked on the host CPU: the kernel's LLVM IR is retargeted to the host with ``ex2``/``lg2``
as LLVM's exact ``exp2``/``log2`` and one thread, JIT-compiled and compared with numpy. So
this checks the formulas (signs, limits, constants); the GPU units add about 2 ulp."""

from __future__ import annotations

import ctypes
import math
import re

import llvmlite.binding as llvm
import numpy as np
import pytest
from xdsl.parser import Parser

from xtvm.backends.cuda.codegen import nvptx_ir
from xtvm.backends.llvm import Target
from xtvm.context import make_context
from xtvm.lowering.tir_to_nvvm import ConvertTirToNvvmPass

N = 64
KERNEL = """
tir.prim_func @k(%a: memref<64xf32>, %b: memref<64xf32>, %out: memref<64xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  tir.for %t = %c0 to %c1 step %c1 kind(thread "threadIdx.x") {{
    tir.for %i = %c0 to %c64 step %c1 {{
      %x = memref.load %a[%i] : memref<64xf32>
      %y = memref.load %b[%i] : memref<64xf32>
      %r = {op}
      memref.store %r, %out[%i] : memref<64xf32>
    }}
  }}
  tir.return
}}
"""


def _erf(v: np.ndarray) -> np.ndarray:
    return np.array([math.erf(float(x)) for x in v], dtype=np.float32)


CASES = {
    "exp": ("math.exp %x : f32", lambda x, y: np.exp(x)),
    "log": ("math.log %x : f32", lambda x, y: np.log(x)),
    "tanh": ("math.tanh %x : f32", lambda x, y: np.tanh(x)),
    "erf": ("math.erf %x : f32", lambda x, y: _erf(x)),
    "powf": ("math.powf %x, %y : f32", lambda x, y: np.power(x, y)),
    "sin": ("math.sin %x : f32", lambda x, y: np.sin(x)),
    "cos": ("math.cos %x : f32", lambda x, y: np.cos(x)),
}


def _host_kernel(op: str):
    ctx = make_context()
    module = Parser(ctx, KERNEL.format(op=op)).parse_module()
    ConvertTirToNvvmPass().apply(ctx, module)
    text = nvptx_ir(module, Target.cuda("sm_80"))
    text = re.sub(r"^target (triple|datalayout) = .*$", "", text, flags=re.M)
    text = text.replace("ptx_kernel ", "")
    text = text.replace('@"llvm.nvvm.ex2.approx.f"', "@llvm.exp2.f32")
    text = text.replace('@"llvm.nvvm.lg2.approx.f"', "@llvm.log2.f32")
    text = text.replace('@"llvm.nvvm.sin.approx.f"', "@llvm.sin.f32")
    text = text.replace('@"llvm.nvvm.cos.approx.f"', "@llvm.cos.f32")
    text = re.sub(r'declare i32 @"llvm\.nvvm\.read\.ptx\.sreg\.tid\.x"\(\)[^\n]*', "", text)
    text = text.replace('@"llvm.nvvm.read.ptx.sreg.tid.x"', "@tid")
    text += "\ndefine i32 @tid() {\n  ret i32 0\n}\n"
    host = Target.host()
    parsed = llvm.parse_assembly(text)
    parsed.triple = host.triple
    engine = llvm.create_mcjit_compiler(parsed, host.create_target_machine(jit=True))
    engine.finalize_object()
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
        engine.get_function_address("k")
    )
    return engine, fn


@pytest.mark.parametrize("name", list(CASES))
def test_gpu_math_formulas(name):
    op, reference = CASES[name]
    rng = np.random.default_rng(1)
    if name in ("log",):
        x = np.exp(rng.uniform(-20, 20, N)).astype(np.float32)
    elif name in ("sin", "cos"):
        x = rng.uniform(-1000, 1000, N).astype(np.float32)
    elif name == "powf":
        x = rng.uniform(-3, 3, N).astype(np.float32)
    else:
        x = rng.uniform(-12, 12, N).astype(np.float32)
    x[:4] = [0.0, -0.0, 1e-6, -1e-6] if name != "log" else [1.0, 1e-30, 3e30, 0.5]
    y = rng.integers(-3, 4, N).astype(np.float32)
    if name == "powf":
        y[N // 2 :] = rng.uniform(-2, 2, N - N // 2).astype(np.float32)
        y[5] = 0.0
    out = np.zeros(N, np.float32)
    engine, fn = _host_kernel(op)
    fn(x.ctypes.data, y.ctypes.data, out.ctypes.data)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        want = reference(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=5e-7, equal_nan=True)
    if name in ("tanh", "erf", "exp"):  # near 0 the error is relative too (no cancellation)
        np.testing.assert_allclose(out[2:4], want[2:4], rtol=1e-5)
    del engine
