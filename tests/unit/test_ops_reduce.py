"""Reductions, arg-reductions, (log-)softmax, hardmax, normalizations, TopK and CumSum:
compiled xtvm output equals onnxruntime's. Cases share models so each opset compiles once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.ir import Block, Region
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

import xtvm
from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.passes.relay.evaluate import evaluate_function

RNG = np.random.default_rng(3)
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def const(name: str, values, dtype=np.int64) -> TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def _typed(spec) -> tuple[int, list[int]]:
    """An input spec: a shape (float32) or ``(onnx element type, shape)``."""
    if len(spec) == 2 and isinstance(spec[1], (list, tuple)):
        return spec[0], list(spec[1])
    return F, list(spec)


def make_model(nodes, inputs, outputs, inits=(), opset=13) -> onnx.ModelProto:
    """``outputs``: names; their element types come from ONNX shape inference (``check``
    declares their shapes)."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, *_typed(s)) for n, s in inputs.items()],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        list(inits),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    declared = {vi.name: vi for vi in inferred.graph.value_info}
    for out in model.graph.output:
        out.CopyFrom(declared[out.name])
    return model


def check(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> ModuleOp:
    """Compile with xtvm, run, and compare every output with onnxruntime's."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, dict(feeds))
    for out, w in zip(model.graph.output, want):  # declare the shapes onnxruntime computed
        out.type.tensor_type.shape.Clear()
        for n in w.shape:
            out.type.tensor_type.shape.dim.add().dim_value = n
    mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
    got = xtvm.build(mod).run(dict(feeds))
    for out, w, g in zip(model.graph.output, want, got):
        assert g.shape == w.shape and g.dtype == w.dtype, out.name
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=out.name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=out.name)
    return mod


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def ties(*shape: int) -> np.ndarray:
    """Few distinct values, so arg-reductions and TopK meet many ties."""
    return RNG.integers(0, 3, shape).astype(np.float32)


def node(op: str, ins: list[str], out: str | list[str], **attrs) -> onnx.NodeProto:
    outs = [out] if isinstance(out, str) else out
    return helper.make_node(op, ins, outs, name=outs[0], **attrs)


REDUCE_OPS = [
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceSumSquare",
    "ReduceLogSumExp",
]


# ----------------------------------------------------------------------------------------------
# Reduce*: axes as attribute (every op before opset 13) and as input (ReduceSum 13, all 18)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 18])
def test_reduce_ops(opset):
    nodes, inits, outs = [], [], []
    variants = [([1], 1), ([-1, 0], 0), (None, 1), (None, 0)]  # (axes, keepdims)
    for op in REDUCE_OPS:
        as_input = opset >= (13 if op == "ReduceSum" else 18)
        for k, (axes, keep) in enumerate(variants):
            name = f"{op}_{k}"
            ins = ["x"]
            attrs = {"keepdims": keep}
            if axes is not None and as_input:
                inits.append(const(f"{name}_axes", axes))
                ins.append(f"{name}_axes")
            elif axes is not None:
                attrs["axes"] = axes
            nodes.append(node(op, ins, name, **attrs))
            outs.append(name)
        if as_input:  # an empty axes input is a no-op with noop_with_empty_axes
            inits.append(const(f"{op}_empty", np.zeros(0)))
            nodes.append(node(op, ["x", f"{op}_empty"], f"{op}_noop", noop_with_empty_axes=1))
            outs.append(f"{op}_noop")
    if opset >= 18:
        inits.append(const("log_sum_axes", [2]))
        nodes.append(node("ReduceLogSum", ["p", "log_sum_axes"], "log_sum", keepdims=0))
    else:
        nodes.append(node("ReduceLogSum", ["p"], "log_sum", axes=[2], keepdims=0))
    outs.append("log_sum")
    model = make_model(nodes, {"x": (2, 3, 4), "p": (2, 3, 4)}, outs, inits, opset)
    x = RNG.uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32) * RNG.choice([-1, 1], (2, 3, 4))
    p = RNG.uniform(0.5, 2.0, (2, 3, 4)).astype(np.float32)
    check(model, {"x": x.astype(np.float32), "p": p})


def test_global_max_pool_and_lp_normalization():
    nodes = [
        node("GlobalMaxPool", ["x"], "gmp"),
        node("GlobalMaxPool", ["v"], "gmp3d"),
        node("LpNormalization", ["x"], "lp2", axis=1, p=2),
        node("LpNormalization", ["x"], "lp1", axis=-1, p=1),
    ]
    model = make_model(
        nodes, {"x": (2, 3, 4, 5), "v": (1, 2, 3, 2, 4)}, ["gmp", "gmp3d", "lp2", "lp1"]
    )
    check(model, {"x": normal(2, 3, 4, 5), "v": normal(1, 2, 3, 2, 4)})


# ----------------------------------------------------------------------------------------------
# ArgMax / ArgMin
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 13])
def test_arg_reductions(opset):
    nodes, outs = [], []
    for op in ("ArgMax", "ArgMin"):
        for src in ("x", "t"):
            for k, attrs in enumerate([{}, {"axis": -1, "keepdims": 0}, {"axis": 1}]):
                variants = [attrs]
                if opset >= 12:
                    variants.append({**attrs, "select_last_index": 1})
                for j, a in enumerate(variants):
                    name = f"{op}_{src}_{k}_{j}"
                    nodes.append(node(op, [src], name, **a))
                    outs.append(name)
    model = make_model(nodes, {"x": (3, 4, 5), "t": (3, 4, 5)}, outs, opset=opset)
    check(model, {"x": normal(3, 4, 5), "t": ties(3, 4, 5)})


# ----------------------------------------------------------------------------------------------
# Softmax / LogSoftmax / Hardmax: flattening semantics before opset 13, one axis from 13 on
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_family(opset):
    nodes, outs = [], []
    for op in ("Softmax", "LogSoftmax", "Hardmax"):
        for k, attrs in enumerate([{}, {"axis": 0}, {"axis": 1}, {"axis": -2}]):
            src = "t" if op == "Hardmax" else "x"
            name = f"{op}_{k}"
            nodes.append(node(op, [src], name, **attrs))
            outs.append(name)
    model = make_model(nodes, {"x": (2, 3, 4), "t": (2, 3, 4)}, outs, opset=opset)
    check(model, {"x": normal(2, 3, 4) * 4, "t": ties(2, 3, 4)})


# ----------------------------------------------------------------------------------------------
# LayerNormalization / InstanceNormalization
# ----------------------------------------------------------------------------------------------


def test_layer_norm_with_statistics_and_instance_norm():
    inits = [
        const("s_last", normal(5), np.float32),
        const("b_last", normal(5), np.float32),
        const("s_tail", normal(4, 5), np.float32),
        const("s_c", normal(3), np.float32),
        const("b_c", normal(3), np.float32),
    ]
    nodes = [
        node("LayerNormalization", ["x", "s_last", "b_last"], "ln_last"),
        node("LayerNormalization", ["x", "s_tail"], ["ln_tail", "mean", "inv_std"], axis=-2),
        node("LayerNormalization", ["x", "s_last"], "ln_eps", axis=1, epsilon=0.5),
        node("InstanceNormalization", ["x", "s_c", "b_c"], "inorm", epsilon=1e-3),
    ]
    outs = ["ln_last", "ln_tail", "mean", "inv_std", "ln_eps", "inorm"]
    model = make_model(nodes, {"x": (2, 3, 4, 5)}, outs, inits, opset=17)
    check(model, {"x": normal(2, 3, 4, 5) * 3 + 1})


# ----------------------------------------------------------------------------------------------
# TopK / CumSum
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 14])
def test_topk_and_cumsum(opset):
    inits = [const("k3", [3]), const("k1", [1]), const("ax1", 1), const("axm1", [-1])]
    nodes = [
        node("TopK", ["x", "k3"], ["v_big", "i_big"]),
        node("TopK", ["t", "k3"], ["v_small", "i_small"], axis=1, largest=0),
        node("TopK", ["t", "k1"], ["v_one", "i_one"], axis=0, largest=1, sorted=1),
        node("CumSum", ["x", "ax1"], "cs"),
        node("CumSum", ["x", "axm1"], "cs_ex", exclusive=1),
        node("CumSum", ["x", "ax1"], "cs_rev", reverse=1),
        node("CumSum", ["x", "axm1"], "cs_ex_rev", exclusive=1, reverse=1),
    ]
    outs = ["v_big", "i_big", "v_small", "i_small", "v_one", "i_one"]
    outs += ["cs", "cs_ex", "cs_rev", "cs_ex_rev"]
    model = make_model(nodes, {"x": (2, 6, 5), "t": (2, 6, 5)}, outs, inits, opset=opset)
    check(model, {"x": normal(2, 6, 5), "t": ties(2, 6, 5)})


def test_integer_inputs():
    """int64 / int32 data through TopK, arg-reductions, CumSum and integer reductions."""
    inits = [const("k", [2]), const("ax", 1), const("axes", [1])]
    nodes = [
        node("TopK", ["n", "k"], ["tv", "ti"], axis=1),
        node("ArgMax", ["n"], "am", axis=1, select_last_index=1),
        node("ArgMin", ["m"], "an", axis=0),
        node("CumSum", ["n", "ax"], "cs", exclusive=1),
        node("CumSum", ["m", "ax"], "cs32", reverse=1),
        node("ReduceSum", ["n", "axes"], "rs", keepdims=0),
        node("ReduceMax", ["m"], "rm", axes=[1]),
        node("ReduceProd", ["n"], "rp", axes=[0], keepdims=0),
        node("ReduceL1", ["n"], "rl1", axes=[1], keepdims=0),
        node("ReduceSumSquare", ["m"], "rss", axes=[1], keepdims=0),
    ]
    outs = ["tv", "ti", "am", "an", "cs", "cs32", "rs", "rm", "rp", "rl1", "rss"]
    ins = {"n": (I64, (3, 5)), "m": (TensorProto.INT32, (3, 5))}
    model = make_model(nodes, ins, outs, inits, opset=17)
    n = RNG.integers(-4, 4, (3, 5))
    check(model, {"n": n, "m": RNG.integers(-4, 4, (3, 5)).astype(np.int32)})


def test_topk_indices_only_drops_the_values_op():
    inits = [const("k", [2])]
    nodes = [node("TopK", ["x", "k"], ["unused", "idx"], axis=0)]
    model = make_model(nodes, {"x": (5, 3)}, ["idx"], inits, opset=13)
    mod = check(model, {"x": normal(5, 3)})
    kinds = [op.ret_type.data for op in mod.walk() if isinstance(op, relay.TopKOp)]
    assert kinds == ["indices"]


# ----------------------------------------------------------------------------------------------
# import-time folding and errors
# ----------------------------------------------------------------------------------------------


def test_reductions_of_shapes_fold_at_import():
    """Shape -> ReduceProd -> Reshape flattens x; the reshape target is a constant."""
    nodes = [
        node("Shape", ["x"], "shape"),
        node("ReduceProd", ["shape"], "numel", keepdims=1),
        node("Reshape", ["x", "numel"], "flat"),
        node("ArgMax", ["flat"], "where_max", keepdims=0),
    ]
    model = make_model(nodes, {"x": (2, 3, 4)}, ["flat", "where_max"], opset=13)
    mod = check(model, {"x": normal(2, 3, 4)})
    names = {op.name for op in mod.walk()}
    assert "relay.reduce" not in names and "relay.argmax" in names


def _error(
    n: onnx.NodeProto, inputs: dict[str, tuple[int, list[int]]], match: str, out_types=(F,)
) -> None:
    """Importing a one-node model raises a ModelError matching ``match``."""
    graph = helper.make_graph(
        [n],
        "g",
        [helper.make_tensor_value_info(k, t, s) for k, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(o, t, [1]) for o, t in zip(n.output, out_types)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ModelError, match=match):
        xtvm.from_onnx(model, {k: s for k, (_, s) in inputs.items()})


def test_unsupported_values_name_the_node():
    x = {"x": (F, [2, 3])}
    _error(node("LpNormalization", ["x"], "lp", p=3), x, r"'lp' \(LpNormalization\): attribute p=3")
    topk = node("TopK", ["x", "k"], ["v", "i"])
    _error(topk, {**x, "k": (I64, [2])}, r"'v' \(TopK\): expected a single value", (F, I64))
    _error(node("ReduceMax", ["x"], "m", axes=[2]), x, r"'m' \(ReduceMax\): reduce axis 2 is out")
    _error(
        node("ArgMax", ["x"], "a", keepdims=2), x, r"'a' \(ArgMax\): attribute keepdims=2", (I64,)
    )


# ----------------------------------------------------------------------------------------------
# relay level: verifier and the numpy evaluator against numpy
# ----------------------------------------------------------------------------------------------


def _function(shape, make) -> func.FuncOp:
    blk = Block(arg_types=[relay.tensor_type(shape)])
    b = Builder(InsertPoint.at_end(blk))
    out = b.insert(make(blk.args[0])).results[0]
    b.insert(func.ReturnOp(out))
    return func.FuncOp("main", ([blk.args[0].type], [out.type]), Region(blk))


def test_relay_reduce_types_and_evaluator():
    x = normal(3, 4, 5)
    fn = _function(x.shape, lambda v: relay.ReduceOp(v, "l2", [2, -3], False))
    fn.verify()
    assert relay.shape_of(fn.body.block.first_op.results[0]) == (4,)
    want = np.sqrt((x.astype(np.float64) ** 2).sum(axis=(0, 2)))
    np.testing.assert_allclose(evaluate_function(fn, [x])[0], want, rtol=1e-6)
    fn = _function(x.shape, lambda v: relay.CumSumOp(v, 1, exclusive=True, reverse=True))
    got = evaluate_function(fn, [x])[0]
    want = np.flip(np.cumsum(np.flip(x, 1), 1), 1) - x
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_relay_verifier_rejects_bad_attributes():
    v = relay.tensor_type((2, 3))
    blk = Block(arg_types=[v, relay.tensor_type((2, 3), relay.element_type_of("int64"))])
    with pytest.raises(VerifyException, match="unknown kind"):
        relay.ReduceOp(blk.args[0], "median", [0]).verify()
    with pytest.raises(VerifyException, match="floating-point"):
        relay.ReduceOp(blk.args[1], "mean", [0]).verify()
    op = relay.TopKOp(blk.args[0], 2, 1)
    op.properties["k"] = IntegerAttr(4, i64)
    with pytest.raises(VerifyException, match="k=4"):
        op.verify()
