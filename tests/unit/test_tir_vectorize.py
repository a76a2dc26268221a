"""tir-vectorize: what is widened, what is refused (left serial), and that results hold."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import memref, vector
from xdsl.dialects.builtin import ModuleOp, VectorType
from xdsl.parser import Parser

from xtvm.backends.llvm import Target, compile_and_load, translate_module
from xtvm.context import make_context
from xtvm.dialects import llvmx, tir
from xtvm.lowering.tir_to_llvm import ConvertTirToLlvmPass, module_metadata
from xtvm.passes.tir.vectorize import TirVectorizePass


def kernel(body: str, n: int = 20, args: str = "%a: memref<32xf32>, %b: memref<32xf32>") -> str:
    return f"""
    tir.prim_func @k({args}) {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %cn = arith.constant {n} : index
      %f0 = arith.constant 0.0 : f32
      tir.for %i = %c0 to %cn step %c1 kind(vectorized) {{
        {body}
      }}
      tir.return
    }}
    """


def vectorize(text: str, lanes: int = 8) -> ModuleOp:
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    TirVectorizePass(lanes=lanes).apply(ctx, module)
    module.verify()
    return module


def loops(module: ModuleOp) -> list[tir.ForOp]:
    return [op for op in module.walk() if isinstance(op, tir.ForOp)]


def widths(module: ModuleOp) -> list[int]:
    return [op.result.type.get_shape()[0] for op in module.walk() if isinstance(op, vector.LoadOp)]


COPY = """
  %x = memref.load %a[%i] : memref<32xf32>
  %y = math.exp %x : f32
  memref.store %y, %b[%i] : memref<32xf32>
"""


def test_strip_mined_with_remainder():
    module = vectorize(kernel(COPY, n=20))
    (main,) = loops(module)
    assert main.kind.data == "serial"
    assert sorted(widths(module)) == [4, 8]  # an 8-wide loop (2 trips) and a 4-wide rest
    assert not any(isinstance(op, memref.LoadOp) for op in module.walk())


def test_short_loop_is_straight_line():
    module = vectorize(kernel(COPY, n=8), lanes=16)
    assert loops(module) == []
    assert widths(module) == [8]


def test_one_trip_loop_folds_away():
    module = vectorize(kernel(COPY, n=1))
    assert loops(module) == [] and widths(module) == []
    assert any(isinstance(op, memref.LoadOp) for op in module.walk())


def test_remainder_of_one_is_scalar():
    module = vectorize(kernel(COPY, n=17))
    assert widths(module) == [8]
    assert sum(isinstance(op, memref.LoadOp) for op in module.walk()) == 1


def test_invariant_load_is_broadcast_and_compare_uses_llvmx():
    body = """
      %x = memref.load %a[%i] : memref<32xf32>
      %s = memref.load %a[%c2] : memref<32xf32>
      %g = arith.cmpf olt, %x, %s : f32
      %y = arith.select %g, %x, %f0 : f32
      memref.store %y, %b[%i] : memref<32xf32>
    """
    module = vectorize(kernel(body, n=8))
    ops = list(module.walk())
    assert any(isinstance(op, vector.BroadcastOp) for op in ops)
    assert any(isinstance(op, llvmx.FCmpOp) for op in ops)
    assert any(isinstance(op, llvmx.SelectOp) for op in ops)
    assert sum(isinstance(op, memref.LoadOp) for op in ops) == 1  # the invariant one


@pytest.mark.parametrize(
    "body",
    [
        # strided load
        """%j = arith.muli %i, %c2 : index
           %x = memref.load %a[%j] : memref<32xf32>
           memref.store %x, %b[%i] : memref<32xf32>""",
        # store to a loop-invariant address (a reduction)
        """%x = memref.load %a[%i] : memref<32xf32>
           memref.store %x, %b[%c0] : memref<32xf32>""",
        # loop-carried dependence through memory: b[i+1] = b[i]
        """%j = arith.addi %i, %c1 : index
           %x = memref.load %b[%i] : memref<32xf32>
           memref.store %x, %b[%j] : memref<32xf32>""",
        # the loop variable used as a value in a compare
        """%p = arith.cmpi slt, %i, %c2 : index
           %x = memref.load %a[%i] : memref<32xf32>
           %y = arith.select %p, %x, %f0 : f32
           memref.store %y, %b[%i] : memref<32xf32>""",
        # nested control flow
        """%x = memref.load %a[%i] : memref<32xf32>
           scf.if %true {
             memref.store %x, %b[%i] : memref<32xf32>
           }""",
    ],
)
def test_refused_loops_become_serial(body):
    text = kernel(body).replace("%f0 = ", "%true = arith.constant true\n      %f0 = ")
    module = vectorize(text)
    (loop,) = loops(module)
    assert loop.kind.data == "serial"
    assert widths(module) == []


def test_non_constant_bounds_or_step_refused():
    text = kernel(COPY).replace("to %cn step %c1", "to %cn step %c2")
    assert loops(vectorize(text))[0].kind.data == "serial"


def test_same_address_read_modify_write_is_widened():
    body = """
      %x = memref.load %b[%i] : memref<32xf32>
      %y = memref.load %a[%i] : memref<32xf32>
      %s = arith.addf %x, %y : f32
      memref.store %s, %b[%i] : memref<32xf32>
    """
    assert widths(vectorize(kernel(body, n=16))) == [8, 8]


def test_iota_and_numbers_match_numpy():
    """index_cast(i) becomes lanes of i; 2-D row offsets; 20 = 2 x 8 + 4 lanes."""
    body = """
      %x = memref.load %a[%c1, %i] : memref<2x20xf32>
      %k = arith.index_cast %i : index to i64
      %f = arith.sitofp %k : i64 to f32
      %y = arith.mulf %x, %f : f32
      %z = math.sqrt %y : f32
      memref.store %z, %b[%c0, %i] : memref<2x20xf32>
    """
    args = "%a: memref<2x20xf32>, %b: memref<2x20xf32>"
    text = (
        kernel(body, 20, args)
        + """
    tir.prim_func @main(%a: memref<2x20xf32>, %b: memref<2x20xf32>) attributes {xtvm.entry,
        xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["a", "b"], xtvm.workspace_bytes = 0 : i64} {
      tir.call @k(%a, %b) : memref<2x20xf32>, memref<2x20xf32>
      tir.return
    }
    """
    )
    module = vectorize(text)
    assert any(
        isinstance(op.results[0].type, VectorType) and op.name == "llvmx.sitofp"
        for op in module.walk()
        if op.results
    )
    ConvertTirToLlvmPass().apply(make_context(), module)
    host = Target.host()
    lib = compile_and_load(
        translate_module(module, host), host, module_metadata(module), use_cache=False
    )
    a = np.random.default_rng(5).uniform(0, 2, (2, 20)).astype(np.float32)
    b = lib(a)
    np.testing.assert_allclose(b[0], np.sqrt(a[1] * np.arange(20)), rtol=1e-6)
