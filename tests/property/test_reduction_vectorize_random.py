"""Vectorized reductions give numpy's answer for any extent, lane count and accumulator count.

Hypothesis draws the reduction (float sum/max/min, int32 sum/max), the row length (so that
it is or is not a multiple of the lanes, with or without a remainder of one), the vector
width and the number of accumulators of ``tir-vectorize``; then, end to end, softmax and
last-axis reductions of random shapes through the default schedule.
"""

from __future__ import annotations

import numpy as np
import onnx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from xdsl.parser import Parser

import xtvm
from xtvm.backends.llvm import Target, compile_and_load, translate_module
from xtvm.context import make_context
from xtvm.lowering.tir_to_llvm import ConvertTirToLlvmPass, module_metadata
from xtvm.passes.tir.vectorize import TirVectorizePass

OPS = {
    ("arith.addf", "f32"): (np.sum, "0.0"),
    ("arith.maximumf", "f32"): (np.max, "0xFF800000"),
    ("arith.minimumf", "f32"): (np.min, "0x7F800000"),
    ("arith.addi", "i32"): (np.sum, "0"),
    ("arith.maxsi", "i32"): (np.max, "-2147483648"),
}


def kernel(op: str, elt: str, init: str, n: int) -> str:
    t = f"memref<2x{n}x{elt}>"
    return f"""
    tir.prim_func @k(%a: {t}, %out: memref<2x{elt}>) {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %n = arith.constant {n} : index
      tir.for %r = %c0 to %c2 step %c1 {{
        %init = arith.constant {init} : {elt}
        memref.store %init, %out[%r] : memref<2x{elt}>
        tir.for %k = %c0 to %n step %c1 kind(vectorized) {{
          %x = memref.load %a[%r, %k] : {t}
          %cur = memref.load %out[%r] : memref<2x{elt}>
          %new = {op} %x, %cur : {elt}
          memref.store %new, %out[%r] : memref<2x{elt}>
        }}
      }}
      tir.return
    }}
    tir.prim_func @main(%a: {t}, %out: memref<2x{elt}>) attributes {{xtvm.entry,
        xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["a", "out"], xtvm.workspace_bytes = 0 : i64}} {{
      tir.call @k(%a, %out) : {t}, memref<2x{elt}>
      tir.return
    }}
    """


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(OPS)),
    n=st.integers(1, 300),
    lanes=st.sampled_from([4, 8, 16]),
    accumulators=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_tir_reduction_matches_numpy(key, n, lanes, accumulators, seed) -> None:
    (op, elt), (ref, init) = key, OPS[key]
    rng = np.random.default_rng(seed)
    if elt == "f32":
        a = rng.standard_normal((2, n)).astype(np.float32)
    else:
        a = rng.integers(-(1 << 20), 1 << 20, (2, n)).astype(np.int32)
    ctx = make_context()
    module = Parser(ctx, kernel(op, elt, init, n)).parse_module()
    TirVectorizePass(lanes=lanes, accumulators=accumulators).apply(ctx, module)
    module.verify()
    assert "kind(vectorized)" not in str(module)
    ConvertTirToLlvmPass().apply(ctx, module)
    host = Target.host()
    lib = compile_and_load(
        translate_module(module, host), host, module_metadata(module), use_cache=False
    )
    got = lib(a)
    if elt == "f32":
        np.testing.assert_allclose(got, ref(a.astype(np.float64), -1), rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, ref(a, -1).astype(np.int32))


def _model(op: str, shape: tuple[int, ...], axis: int) -> onnx.ModelProto:
    if op == "Softmax":
        node, inits, opset = helper.make_node("Softmax", ["x"], ["y"], axis=axis), [], 13
    else:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)
        inits, opset = [numpy_helper.from_array(np.array([axis], np.int64), "axes")], 18
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def _ref(op: str, x: np.ndarray, axis: int) -> np.ndarray:
    x = x.astype(np.float64)
    if op == "Softmax":
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    return {"ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMean": np.mean}[op](x, axis=axis)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    op=st.sampled_from(["Softmax", "ReduceSum", "ReduceMax", "ReduceMean"]),
    lead=st.lists(st.integers(1, 5), min_size=0, max_size=2),
    last=st.integers(1, 200),
    middle_axis=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_operators_match_numpy(op, lead, last, middle_axis, seed) -> None:
    shape = (*lead, last)
    axis = 0 if middle_axis and lead else -1
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(np.float32)
    lib = xtvm.build(xtvm.from_onnx(_model(op, shape, axis), {"x": shape}))
    atol = 1e-6
    if op in ("ReduceSum", "ReduceMean"):
        # float32 sums in any order are off by a few ulps of the sum of magnitudes, which a
        # sum near zero cannot cover with rtol (seen: 7e-6 on 105 terms of scale 3)
        mags = np.abs(x.astype(np.float64)).sum(axis=axis)
        atol += 1e-7 * float(mags.max()) / (shape[axis] if op == "ReduceMean" else 1)
    np.testing.assert_allclose(lib(x=x), _ref(op, x, axis), rtol=1e-5, atol=atol)
