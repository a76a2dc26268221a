"""Reductions along the contiguous axis run as vector code: per-lane partial accumulators in
``tir-vectorize``, the default schedule vectorizing the reduction axis of softmax, layer
norm and last-axis reductions. Every result is compared with numpy."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.parser import Parser

import xtvm
from xtvm.backends.llvm import Target, compile_and_load, translate_module
from xtvm.context import make_context
from xtvm.lowering.tir_to_llvm import ConvertTirToLlvmPass, module_metadata
from xtvm.passes.tir.vectorize import TirVectorizePass

RNG = np.random.default_rng(7)


# -- tir-vectorize on hand-written reduction loops ------------------------------------------

_OPS = {
    # op: (numpy reduction, element type, identity the accumulator starts from)
    "arith.addf": (np.sum, "f32", "0.0"),
    "arith.mulf": (np.prod, "f32", "1.0"),
    "arith.maximumf": (np.max, "f32", "0xFF800000"),
    "arith.minimumf": (np.min, "f32", "0x7F800000"),
    "arith.addi": (np.sum, "i32", "0"),
    "arith.muli": (np.prod, "i32", "1"),
    "arith.maxsi": (np.max, "i32", "-2147483648"),
    "arith.minsi": (np.min, "i32", "2147483647"),
    "arith.xori": (np.bitwise_xor.reduce, "i32", "0"),
    "arith.ori": (np.bitwise_or.reduce, "i32", "0"),
    "arith.andi": (np.bitwise_and.reduce, "i32", "-1"),
}


def _reduce_kernel(op: str, elt: str, init: str, rows: int, n: int) -> str:
    """``out[r] = op(a[r, :])`` through a one-element accumulator, the loop vectorized."""
    return f"""
    tir.prim_func @k(%a: memref<{rows}x{n}x{elt}>, %out: memref<{rows}x{elt}>) {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %rows = arith.constant {rows} : index
      %n = arith.constant {n} : index
      %acc = tir.alloc "local" : memref<1x{elt}>
      tir.for %r = %c0 to %rows step %c1 {{
        %init = arith.constant {init} : {elt}
        memref.store %init, %acc[%c0] : memref<1x{elt}>
        tir.for %k = %c0 to %n step %c1 kind(vectorized) {{
          %x = memref.load %a[%r, %k] : memref<{rows}x{n}x{elt}>
          %cur = memref.load %acc[%c0] : memref<1x{elt}>
          %new = {op} %cur, %x : {elt}
          memref.store %new, %acc[%c0] : memref<1x{elt}>
        }}
        %v = memref.load %acc[%c0] : memref<1x{elt}>
        memref.store %v, %out[%r] : memref<{rows}x{elt}>
      }}
      tir.return
    }}
    tir.prim_func @main(%a: memref<{rows}x{n}x{elt}>, %out: memref<{rows}x{elt}>) attributes
        {{xtvm.entry, xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["a", "out"],
          xtvm.workspace_bytes = 0 : i64}} {{
      tir.call @k(%a, %out) : memref<{rows}x{n}x{elt}>, memref<{rows}x{elt}>
      tir.return
    }}
    """


def _run_tir(text: str, *inputs: np.ndarray, lanes: int = 8) -> np.ndarray:
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    TirVectorizePass(lanes=lanes).apply(ctx, module)
    module.verify()
    assert "kind(vectorized)" not in str(module)
    assert "vector.reduction" in str(module), "the reduction loop was not vectorized"
    ConvertTirToLlvmPass().apply(ctx, module)
    host = Target.host()
    lib = compile_and_load(
        translate_module(module, host), host, module_metadata(module), use_cache=False
    )
    return lib(*inputs)


@pytest.mark.parametrize("op", sorted(_OPS))
@pytest.mark.parametrize("n", [5, 8, 37, 100, 256])
def test_tir_reduction_kinds(op: str, n: int) -> None:
    ref, elt, init = _OPS[op]
    rows = 3
    if elt == "f32":
        lo, hi = (0.9, 1.1) if op == "arith.mulf" else (-4.0, 4.0)
        a = RNG.uniform(lo, hi, (rows, n)).astype(np.float32)
    else:
        hi = 3 if op == "arith.muli" else 1 << 20
        a = RNG.integers(-hi, hi, (rows, n)).astype(np.int32)
    got = _run_tir(_reduce_kernel(op, elt, init, rows, n), a)
    want = ref(a.astype(np.float64) if elt == "f32" else a, axis=-1)
    if elt == "f32":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, want.astype(np.int32))


@pytest.mark.parametrize("accumulators", [1, 2, 4])
def test_tir_accumulator_counts(accumulators: int) -> None:
    a = RNG.standard_normal((2, 300)).astype(np.float32)
    ctx = make_context()
    module = Parser(ctx, _reduce_kernel("arith.addf", "f32", "0.0", 2, 300)).parse_module()
    TirVectorizePass(lanes=8, accumulators=accumulators).apply(ctx, module)
    text = str(module)
    assert f"memref<{8 * accumulators}xf32>" in text  # one vector of partial sums
    ConvertTirToLlvmPass().apply(ctx, module)
    host = Target.host()
    lib = compile_and_load(
        translate_module(module, host), host, module_metadata(module), use_cache=False
    )
    np.testing.assert_allclose(lib(a), a.sum(-1), rtol=1e-5, atol=1e-5)


def test_tir_max_propagates_nan() -> None:
    a = RNG.standard_normal((3, 40)).astype(np.float32)
    a[0, 17] = np.nan
    a[1, 39] = np.nan  # in the remainder
    got = _run_tir(_reduce_kernel("arith.maximumf", "f32", "0xFF800000", 3, 40), a)
    assert np.isnan(got[0]) and np.isnan(got[1])
    assert got[2] == a[2].max()


# -- whole operators through the default schedule --------------------------------------------


def _model(node: onnx.NodeProto, shape, dtype=TensorProto.FLOAT, inits=None, opset=18):
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", dtype, list(shape))],
        [helper.make_tensor_value_info("y", dtype, None)],
        [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def _build(model: onnx.ModelProto, shape) -> xtvm.CompiledModule:
    return xtvm.build(xtvm.from_onnx(model, {"x": tuple(shape)}))


def _softmax_ref(x: np.ndarray, axis: int) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize(
    "shape,axis",
    [((3, 128), -1), ((2, 5, 100), -1), ((4, 7), -1), ((2, 3), -1), ((2, 50, 16), 1)],
)
def test_softmax(shape, axis) -> None:
    x = (RNG.standard_normal(shape) * 4).astype(np.float32)
    lib = _build(
        _model(helper.make_node("Softmax", ["x"], ["y"], axis=axis), shape, opset=13), shape
    )
    np.testing.assert_allclose(lib(x=x), _softmax_ref(x, axis), rtol=1e-5, atol=1e-7)


def test_softmax_masked_row() -> None:
    """-inf entries (attention masks) give exact zeros; a row of large values stays finite."""
    x = RNG.standard_normal((4, 64)).astype(np.float32)
    x[0, ::2] = -np.inf
    x[1] += 80.0
    lib = _build(
        _model(helper.make_node("Softmax", ["x"], ["y"], axis=-1), x.shape, opset=13), x.shape
    )
    y = lib(x=x)
    assert np.all(y[0, ::2] == 0.0)
    np.testing.assert_allclose(y, _softmax_ref(x, -1), rtol=1e-5, atol=1e-7)


def _layer_norm_ref(x, scale, bias, axis, eps=1e-5):
    axes = tuple(range(axis % x.ndim, x.ndim))
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


@pytest.mark.parametrize("shape,axis", [((6, 768), -1), ((5, 100), -1), ((3, 4, 33), -2)])
def test_layer_norm(shape, axis) -> None:
    x = (RNG.standard_normal(shape) * 3 + 2).astype(np.float32)
    inner = shape[axis % len(shape) :]
    scale = RNG.standard_normal(inner).astype(np.float32)
    bias = RNG.standard_normal(inner).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=axis)
    lib = _build(_model(node, shape, inits={"s": scale, "b": bias}, opset=17), shape)
    np.testing.assert_allclose(
        lib(x=x), _layer_norm_ref(x, scale, bias, axis), rtol=1e-5, atol=1e-5
    )


_REDUCE_REFS = {
    "ReduceSum": np.sum,
    "ReduceMean": np.mean,
    "ReduceMax": np.max,
    "ReduceMin": np.min,
}


@pytest.mark.parametrize("op", sorted(_REDUCE_REFS))
@pytest.mark.parametrize("n", [64, 100, 7, 1000])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_last_axis(op: str, n: int, keepdims: int) -> None:
    shape = (3, 5, n)
    x = RNG.standard_normal(shape).astype(np.float32)
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
    lib = _build(_model(node, shape, inits={"axes": np.array([-1], np.int64)}), shape)
    want = _REDUCE_REFS[op](x.astype(np.float64), axis=-1, keepdims=bool(keepdims))
    np.testing.assert_allclose(lib(x=x), want, rtol=1e-5, atol=1e-5)


def test_reduce_sum_int32() -> None:
    shape = (4, 300)
    x = RNG.integers(-(1 << 20), 1 << 20, shape).astype(np.int32)
    node = helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)
    model = _model(node, shape, TensorProto.INT32, inits={"axes": np.array([-1], np.int64)})
    lib = _build(model, shape)
    assert "vector.reduce.add" in lib.get_source("ll")
    np.testing.assert_array_equal(lib(x=x), x.sum(-1, dtype=np.int32))


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("n", [7, 100])
def test_arg_reduce_last_axis(op: str, n: int) -> None:
    """The index stage is a min over ``select(hit, index, n)``: an i64 vector reduction whose
    lanes count up (first index wins among ties; NaN counts as the extreme value)."""
    x = RNG.integers(-3, 3, (5, n)).astype(np.float32)  # many ties
    x[1, n // 2] = np.nan
    graph = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], axis=-1, keepdims=0)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    lib = _build(onnx.shape_inference.infer_shapes(model), x.shape)
    assert "vector.reduction <minsi>" in lib.get_source("tir")
    want = (np.argmax if op == "ArgMax" else np.argmin)(x, axis=-1)
    np.testing.assert_array_equal(lib(x=x), want)


# -- what the compiler emits -----------------------------------------------------------------


def test_softmax_llvm_ir_has_vector_reductions() -> None:
    shape = (12, 128)
    lib = _build(_model(helper.make_node("Softmax", ["x"], ["y"], axis=-1), shape, opset=13), shape)
    te = lib.get_source("te")
    assert te.count("te.vectorize") >= 3  # the max and sum reduction axes, the output
    ll = lib.get_source("ll")
    assert "llvm.vector.reduce.fmaximum" in ll
    add = [line for line in ll.splitlines() if "call" in line and "llvm.vector.reduce.fadd" in line]
    assert add and all("reassoc" in line for line in add)
    assert "expf" not in ll  # exp is inline vector code, not a libm call per lane


def test_layer_norm_statistics_vectorize_over_the_row() -> None:
    shape = (16, 256)
    scale = np.ones(256, np.float32)
    node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1)
    lib = _build(_model(node, shape, inits={"s": scale, "b": scale}, opset=17), shape)
    tir = lib.get_source("tir")
    assert tir.count("vector.reduction <add>") >= 2  # the mean and the variance
    assert "kind(vectorized)" not in tir
