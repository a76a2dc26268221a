"""Elementwise math, comparison, logic and cast ops, and int64/int32/bool tensors through the
whole stack: compiled xtvm output equals onnxruntime's, and so does the numpy evaluator that
constant folding uses. Cases share models so each compiles once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp, i1

import xtvm
from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.passes.relay.evaluate import evaluate_function
from xtvm.passes.relay.op_pattern import OpPattern, op_pattern

RNG = np.random.default_rng(11)
F, I64, I32, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.BOOL
_NP = {F: np.float32, I64: np.int64, I32: np.int32, B: np.bool_}


def make_model(nodes, inputs, outputs, inits=(), opset=13):
    """``outputs``: names (their types and shapes come from ONNX shape inference)."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        list(inits),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def check(model, feeds: Mapping[str, np.ndarray]) -> ModuleOp:
    """Compile with xtvm, run, and compare every output (and the numpy evaluator's value of
    the relay module) with onnxruntime's: same dtype, same shape, same values."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, dict(feeds))
    for out, w in zip(model.graph.output, want):  # declare what shape inference left open
        if not out.type.tensor_type.HasField("shape"):
            out.type.tensor_type.shape.dim.extend(
                [onnx.TensorShapeProto.Dimension(dim_value=n) for n in w.shape]
            )
    mod = xtvm.from_onnx(model)
    main = next(op for op in mod.ops)
    evaluated = evaluate_function(main, [feeds[i.name] for i in model.graph.input])  # type: ignore[arg-type]
    got = xtvm.build(mod).run(dict(feeds))
    for out, w, g, e in zip(model.graph.output, want, got, evaluated):
        for actual, who in ((g, "compiled"), (e, "evaluated")):
            msg = f"{out.name} ({who})"
            assert actual.dtype == w.dtype, msg
            assert actual.shape == w.shape, msg
            if w.dtype.kind == "f":
                np.testing.assert_allclose(actual, w, rtol=1e-4, atol=1e-5, err_msg=msg)
            else:
                np.testing.assert_array_equal(actual, w, err_msg=msg)
    return mod


RELAY = {op.name for op in relay.Relay.operations}


def relay_ops(mod: ModuleOp) -> list[str]:
    return [op.name for op in mod.walk() if op.name.startswith("relay.")]


def node(op: str, ins: list[str], out: str, **attrs) -> onnx.NodeProto:
    return helper.make_node(op, ins, [out], name=out, **attrs)


# ----------------------------------------------------------------------------------------------
# float unary ops and activations
# ----------------------------------------------------------------------------------------------


def _float_input() -> np.ndarray:
    x = (RNG.standard_normal((3, 40)) * 3).astype(np.float32)
    x[0, :12] = [0.5, 1.5, 2.5, -0.5, -2.5, 0.0, -0.0, 100.0, -100.0, 30.0, -30.0, 1e-3]
    return x


@pytest.mark.parametrize("opset", [11, 20])
def test_float_unary_and_activations(opset):
    specs: list[tuple[str, dict]] = [
        ("Neg", {}),
        ("Abs", {}),
        ("Sign", {}),
        ("Floor", {}),
        ("Ceil", {}),
        ("Round", {}),
        ("Erf", {}),
        ("Reciprocal", {}),
        ("HardSigmoid", {}),
        ("HardSigmoid", {"alpha": 0.5, "beta": 0.25}),
        ("LeakyRelu", {}),
        ("LeakyRelu", {"alpha": 0.3}),
        ("Elu", {}),
        ("Elu", {"alpha": 0.5}),
        ("Selu", {}),
        ("Selu", {"alpha": 2.0, "gamma": 3.0}),
        ("Softplus", {}),
        ("Softsign", {}),
    ]
    if opset >= 14:
        specs.append(("HardSwish", {}))
    if opset >= 20:
        specs += [("Gelu", {}), ("Gelu", {"approximate": "tanh"})]
    nodes = [node("Abs", ["x"], "ax")]
    nodes += [node("Sqrt", ["ax"], "sqrt"), node("Log", ["ax"], "log")]
    nodes += [node(op, ["x"], f"{op.lower()}_{i}", **a) for i, (op, a) in enumerate(specs)]
    outs = [n.output[0] for n in nodes[1:]]
    model = make_model(nodes, [("x", F, [3, 40])], outs, opset=opset)
    mod = check(model, {"x": _float_input()})  # Log/Reciprocal of +-0 are +-inf
    assert "relay.leaky_relu" in relay_ops(mod)


# ----------------------------------------------------------------------------------------------
# comparisons, logic, where
# ----------------------------------------------------------------------------------------------


def test_compare_logic_where():
    shape = [3, 1, 17]
    inputs = [
        ("fa", F, shape),
        ("fb", F, [4, 17]),
        ("ia", I64, shape),
        ("ib", I64, [17]),
        ("ja", I32, shape),
        ("jb", I32, [4, 1]),
        ("ba", B, shape),
        ("bb", B, [4, 17]),
    ]
    nodes = []
    for op in ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
        for a, b in (("fa", "fb"), ("ia", "ib"), ("ja", "jb")):
            nodes.append(node(op, [a, b], f"{op}_{a}"))
    nodes.append(node("Equal", ["ba", "bb"], "Equal_ba"))
    for op in ("And", "Or", "Xor"):
        nodes.append(node(op, ["ba", "bb"], op))
    nodes.append(node("Not", ["ba"], "Not"))
    nodes.append(node("Where", ["ba", "fa", "fb"], "where_f"))  # three-way broadcast
    nodes.append(node("Where", ["bb", "ia", "ib"], "where_i64"))
    nodes.append(node("Where", ["ba", "ja", "jb"], "where_i32"))
    model = make_model(nodes, inputs, [n.output[0] for n in nodes])
    fb = RNG.standard_normal((4, 17)).astype(np.float32)
    fa = RNG.standard_normal(shape).astype(np.float32)
    fa[:, 0, :5] = fb[0, :5]  # exact ties
    feeds = {
        "fa": fa,
        "fb": fb,
        "ia": RNG.integers(-5, 5, shape).astype(np.int64),
        "ib": RNG.integers(-5, 5, [17]).astype(np.int64),
        "ja": RNG.integers(-5, 5, shape).astype(np.int32),
        "jb": RNG.integers(-5, 5, [4, 1]).astype(np.int32),
        "ba": RNG.random(shape) > 0.5,
        "bb": RNG.random([4, 17]) > 0.5,
    }
    check(model, feeds)


# ----------------------------------------------------------------------------------------------
# integer arithmetic
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [I64, I32])
def test_integer_arithmetic(dtype):
    ops = ["Add", "Sub", "Mul", "Div", "Max", "Min"]
    nodes = [node(op, ["a", "b"], op) for op in ops]
    nodes += [node("Max", ["a", "b", "c"], "Max3"), node("Min", ["a", "b", "c"], "Min3")]
    nodes += [node(op, ["a"], op) for op in ("Neg", "Abs", "Sign")]
    nodes += [node("Mod", ["a", "b"], "mod0"), node("Mod", ["a", "b"], "mod1", fmod=1)]
    nodes += [node("Clip", ["a", "lo", "hi"], "clip"), node("Clip", ["a", "", "hi"], "clip_hi")]
    inits = [
        numpy_helper.from_array(np.array(-7, _NP[dtype]), "lo"),
        numpy_helper.from_array(np.array(9, _NP[dtype]), "hi"),
    ]
    inputs = [("a", dtype, [4, 19]), ("b", dtype, [19]), ("c", dtype, [4, 1])]
    model = make_model(nodes, inputs, [n.output[0] for n in nodes], inits)
    b = RNG.integers(-9, 9, [19]).astype(_NP[dtype])
    b[b == 0] = 4
    feeds = {
        "a": RNG.integers(-40, 40, [4, 19]).astype(_NP[dtype]),  # Div and Mod see both signs
        "b": b,
        "c": RNG.integers(-40, 40, [4, 1]).astype(_NP[dtype]),
    }
    check(model, feeds)


def test_float_variadic_mod_pow():
    nodes = [
        node("Sum", ["x", "y", "z"], "sum"),
        node("Mean", ["x", "y", "z"], "mean"),
        node("Mean", ["x"], "mean1"),
        node("Min", ["x", "y", "z"], "min3"),
        node("Mod", ["x", "y"], "fmod", fmod=1),
        node("Mod", ["x", "y"], "pymod", fmod=0),
        node("Abs", ["x"], "ax"),
        node("Pow", ["ax", "y"], "pow_ff"),
        node("Pow", ["x", "e"], "pow_fi"),  # integer exponent tensor
        node("Pow", ["x", "two"], "pow_2"),
        node("Pow", ["ax", "half"], "pow_half"),
        node("Pow", ["x", "three"], "pow_3"),
        node("Pow", ["ax", "k"], "pow_k"),
        node("Pow", ["n", "e"], "pow_ii"),  # integer base
    ]
    inits = [
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array([0.5], np.float32), "half"),
        numpy_helper.from_array(np.array(3, np.int64), "three"),
        numpy_helper.from_array(np.array(1.7, np.float32), "k"),
    ]
    inputs = [("x", F, [2, 23]), ("y", F, [23]), ("z", F, [2, 1]), ("e", I64, [23])]
    inputs.append(("n", I64, [2, 23]))
    # opset 28: Mod with fmod=0 on floats (floor mod) became legal
    model = make_model(nodes, inputs, [n.output[0] for n in nodes[:6] + nodes[7:]], inits, 28)
    y = (RNG.standard_normal(23) * 2).astype(np.float32)
    y[np.abs(y) < 0.3] = 0.7
    feeds = {
        "x": (RNG.standard_normal((2, 23)) * 5).astype(np.float32),
        "y": y,
        "z": RNG.standard_normal((2, 1)).astype(np.float32),
        "e": RNG.integers(-2, 4, 23).astype(np.int64),
        "n": RNG.integers(1, 6, (2, 23)).astype(np.int64),
    }
    feeds["e"][feeds["e"] < 0] = 2  # integer ** negative integer is not an integer
    mod = check(model, feeds)
    names = relay_ops(mod)
    assert names.count("relay.power") == 4  # x**2, x**0.5 and x**3 need no pow call
    assert "relay.sqrt" in names


# ----------------------------------------------------------------------------------------------
# casts
# ----------------------------------------------------------------------------------------------


def test_cast():
    to = {"i64": I64, "i32": I32, "b": B, "f": F}
    nodes = [node("Cast", ["x"], f"x_{k}", to=v) for k, v in to.items() if k != "f"]
    nodes += [node("Cast", ["n"], f"n_{k}", to=v) for k, v in to.items() if k != "i64"]
    nodes += [node("Cast", ["m"], f"m_{k}", to=v) for k, v in to.items() if k != "i32"]
    nodes += [node("Cast", ["c"], f"c_{k}", to=v) for k, v in to.items() if k != "b"]
    nodes += [node("CastLike", ["c", "x"], "c_like_x"), node("CastLike", ["n", "m"], "n_like_m")]
    inputs = [("x", F, [3, 21]), ("n", I64, [21]), ("m", I32, [21]), ("c", B, [3, 21])]
    model = make_model(nodes, inputs, [n.output[0] for n in nodes], opset=15)
    x = (RNG.standard_normal((3, 21)) * 10).astype(np.float32)
    x[0, :8] = [2.7, -2.7, 0.5, -0.5, -0.0, 0.0, np.nan, np.inf]  # truncate toward zero
    x[1, :2] = [-1e9, 3e9]  # beyond int32 only in the rows cast to int64... and to bool
    feeds = {
        "x": x,
        "n": RNG.integers(-3, 3, 21).astype(np.int64),
        "m": RNG.integers(-3, 3, 21).astype(np.int32),
        "c": RNG.random((3, 21)) > 0.5,
    }
    # float -> int of NaN/inf/out-of-range values is undefined: compare only defined outputs
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = dict(zip([o.name for o in model.graph.output], sess.run(None, feeds)))
    got = dict(zip(want, xtvm.build(xtvm.from_onnx(model)).run(feeds)))
    defined = np.ones(x.shape, bool)
    defined[0, 6:8] = False
    defined[1, :2] = False
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype and g.shape == w.shape, name
        if name in ("x_i64", "x_i32"):
            np.testing.assert_array_equal(g[defined], w[defined], err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def test_shape_arithmetic_folds_at_import():
    """Cast/Equal/Where/Mod/Mul on shape values become constants, so Reshape sees one."""
    nodes = [
        node("Shape", ["x"], "s"),
        node("Cast", ["s"], "sf", to=F),
        node("Cast", ["sf"], "si", to=I64),
        node("Equal", ["si", "four"], "is4"),
        node("Mul", ["si", "minus1"], "neg"),
        node("Where", ["is4", "neg", "si"], "w"),
        node("Mod", ["w", "three"], "m"),  # [2, 6, 4] -> [2, 6, -4] -> [2, 0, 2]
        node("Greater", ["m", "zero"], "pos"),
        node("Where", ["pos", "m", "minus1"], "shape"),  # [2, -1, 2]
        node("Reshape", ["x", "shape"], "y"),
    ]
    inits = [
        numpy_helper.from_array(np.array(v, np.int64), n)
        for n, v in (("four", 4), ("minus1", -1), ("three", 3), ("zero", 0))
    ]
    model = make_model(nodes, [("x", F, [2, 6, 4])], ["y"], inits)
    mod = check(model, {"x": RNG.standard_normal((2, 6, 4)).astype(np.float32)})
    (reshape,) = [op for op in mod.walk() if op.name != "relay.constant" and op.name in RELAY]
    assert isinstance(reshape, relay.ReshapeOp)
    assert relay.shape_of(reshape.result) == (2, 12, 2)


# ----------------------------------------------------------------------------------------------
# PRelu, errors, fusion patterns
# ----------------------------------------------------------------------------------------------


def test_prelu_slope_broadcasting():
    nodes = [
        node("PRelu", ["x", "s_c11"], "per_channel"),
        node("PRelu", ["x", "s_1"], "shared"),
        node("PRelu", ["x", "s_w"], "trailing"),
    ]
    inits = [
        numpy_helper.from_array(RNG.random((3, 1, 1)).astype(np.float32), "s_c11"),
        numpy_helper.from_array(np.array([0.2], np.float32), "s_1"),
    ]
    inputs = [("x", F, [2, 3, 4, 5]), ("s_w", F, [5])]
    model = make_model(nodes, inputs, ["per_channel", "shared", "trailing"], inits)
    feeds = {
        "x": RNG.standard_normal((2, 3, 4, 5)).astype(np.float32),
        "s_w": RNG.random(5).astype(np.float32),
    }
    check(model, feeds)


def test_prelu_slope_must_broadcast_to_input():
    inits = [numpy_helper.from_array(np.ones((3, 4), np.float32), "s")]
    graph = helper.make_graph(
        [node("PRelu", ["x", "s"], "p")],
        "g",
        [helper.make_tensor_value_info("x", F, [4])],
        [helper.make_tensor_value_info("p", F, [3, 4])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    with pytest.raises(ModelError, match=r"node 'p' \(PRelu\).*does not broadcast"):
        xtvm.from_onnx(model)


@pytest.mark.parametrize(
    "op, attrs, opset, pattern",
    [
        ("Gelu", {"approximate": "erf"}, 20, r"node 'y' \(Gelu\).*approximate='erf'"),
        ("Mod", {"fmod": 2}, 13, r"node 'y' \(Mod\).*fmod=2"),
        ("Cast", {"to": TensorProto.COMPLEX64}, 13, r"node 'y' \(Cast\).*to='COMPLEX64'"),
    ],
)
def test_unsupported_attribute_values(op, attrs, opset, pattern):
    ins = ["x", "x"] if op == "Mod" else ["x"]
    graph = helper.make_graph(
        [node(op, ins, "y", **attrs)],
        "g",
        [helper.make_tensor_value_info("x", F, [4])],
        [helper.make_tensor_value_info("y", F, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    with pytest.raises(ModelError, match=pattern):
        xtvm.from_onnx(model)


def test_unsupported_input_dtype():
    graph = helper.make_graph(
        [node("Neg", ["x"], "y")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.COMPLEX64, [4])],
        [helper.make_tensor_value_info("y", TensorProto.COMPLEX64, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ModelError, match="input 'x' has element type COMPLEX64"):
        xtvm.from_onnx(model)


def test_fusion_patterns():
    from xdsl.builder import Builder
    from xdsl.ir import Block
    from xdsl.rewriter import InsertPoint

    block = Block(arg_types=[relay.tensor_type([4]), relay.tensor_type([4], i1)])
    x, c = block.args
    b = Builder(InsertPoint.at_end(block))
    elem = [relay.SqrtOp(x), relay.LeakyReluOp(x, 0.1), relay.CastOp(x, "int64")]
    bcast = [relay.LessOp(x, x), relay.WhereOp(c, x, x), relay.ModOp(x, x, True)]
    for op in elem + bcast:
        b.insert(op)
        op.verify()
    assert {op_pattern(op) for op in elem} == {OpPattern.ELEMWISE}
    assert {op_pattern(op) for op in bcast} == {OpPattern.BROADCAST}


def test_integer_division_never_traps():
    """x / 0 and MIN / -1 would raise SIGFPE on x86: both are defined (0 and a wrap)."""
    import xtvm
    from xtvm.passes.relay.evaluate import _divide

    g = helper.make_graph(
        [helper.make_node("Div", ["a", "b"], ["y"])],
        "g",
        [
            helper.make_tensor_value_info("a", TensorProto.INT64, [6]),
            helper.make_tensor_value_info("b", TensorProto.INT64, [6]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [6])],
    )
    lib = xtvm.build(
        xtvm.from_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))
    )
    lo = np.iinfo(np.int64).min
    a = np.array([7, -7, 5, -9, lo, 3], np.int64)
    b = np.array([2, 2, 0, 0, -1, -1], np.int64)
    want = np.array([3, -3, 0, 0, lo, -3], np.int64)
    np.testing.assert_array_equal(lib(a, b), want)
    np.testing.assert_array_equal(_divide(a, b), want)
