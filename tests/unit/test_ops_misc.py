"""Trig/hyperbolic, activation, generator, masking and small normalization ops: compiled xtvm
output (and the numpy evaluator's value of the relay module) equals onnxruntime's. Cases share
models so each compiles once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError
from xtvm.passes.relay.evaluate import evaluate_function

RNG = np.random.default_rng(5)
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def make_model(nodes, inputs, outputs, inits=(), opset=18, strict=True):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        list(inits),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return onnx.shape_inference.infer_shapes(model, strict_mode=strict)


def run_ort(model, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, dict(feeds))


def check(model, feeds: Mapping[str, np.ndarray], want: list[np.ndarray] | None = None) -> None:
    """Compare every output of the compiled module and of the numpy evaluator with ``want``
    (onnxruntime's outputs by default)."""
    want = run_ort(model, feeds) if want is None else want
    for out, w in zip(model.graph.output, want):  # declare what shape inference left open
        if not out.type.tensor_type.elem_type:
            out.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(w.dtype)
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


def const_node(name: str, value: np.ndarray):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def test_trig_and_hyperbolic():
    unit = ["Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Atanh"]
    nodes = [helper.make_node(op, ["x"], [op.lower()]) for op in unit]
    nodes.append(helper.make_node("Acosh", ["y"], ["acosh"]))
    model = make_model(
        nodes,
        [("x", F, [4, 33]), ("y", F, [4, 33])],
        [n.output[0] for n in nodes],
        opset=13,
    )
    x = RNG.uniform(-0.95, 0.95, (4, 33)).astype(np.float32)
    y = RNG.uniform(1.0, 6.0, (4, 33)).astype(np.float32)
    check(model, {"x": x, "y": y})


def test_activations_and_predicates():
    nodes = [
        helper.make_node("ThresholdedRelu", ["x"], ["tr"], alpha=0.3),
        helper.make_node("ThresholdedRelu", ["x"], ["tr_default"]),
        helper.make_node("Celu", ["x"], ["celu"], alpha=0.7),
        helper.make_node("Mish", ["x"], ["mish"]),
        helper.make_node("Shrink", ["x"], ["shrink"], lambd=0.4, bias=0.2),
        helper.make_node("Shrink", ["x"], ["hard"]),
        helper.make_node("IsNaN", ["z"], ["nan"]),
        helper.make_node("IsInf", ["z"], ["inf"]),
        helper.make_node("IsInf", ["z"], ["pos"], detect_negative=0),
        helper.make_node("IsInf", ["z"], ["neg"], detect_positive=0),
    ]
    model = make_model(nodes, [("x", F, [3, 17]), ("z", F, [6])], [n.output[0] for n in nodes])
    x = RNG.uniform(-3, 3, (3, 17)).astype(np.float32)
    z = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -2.0], np.float32)
    check(model, {"x": x, "z": z})


def test_generators_and_masks():
    depth = np.array(5, np.int64)
    values = np.array([-1.0, 3.0], np.float32)
    nodes = [
        const_node("k", np.array(1, np.int64)),
        const_node("kneg", np.array(-1, np.int64)),
        const_node("depth", depth),
        const_node("values", values),
        helper.make_node("Trilu", ["x"], ["triu"]),
        helper.make_node("Trilu", ["x", "k"], ["triu_k"]),
        helper.make_node("Trilu", ["x", "kneg"], ["tril_k"], upper=0),
        helper.make_node("EyeLike", ["m"], ["eye"], k=1),
        helper.make_node("EyeLike", ["m"], ["eye_i64"], k=-2, dtype=I64),
        helper.make_node("OneHot", ["idx", "depth", "values"], ["onehot"]),
        helper.make_node("OneHot", ["idx", "depth", "values"], ["onehot_axis"], axis=0),
        helper.make_node("ReverseSequence", ["x", "lens"], ["rev"], batch_axis=1, time_axis=0),
    ]
    for op in ("HannWindow", "HammingWindow", "BlackmanWindow"):
        nodes.append(const_node(f"{op}_n", np.array(10, np.int64)))
        nodes.append(helper.make_node(op, [f"{op}_n"], [op], periodic=1))
        nodes.append(helper.make_node(op, [f"{op}_n"], [op + "_sym"], periodic=0))
    model = make_model(
        nodes,
        [("x", F, [2, 4, 5]), ("m", F, [4, 6]), ("idx", I64, [2, 3]), ("lens", I64, [4])],
        [o for n in nodes if n.op_type != "Constant" for o in n.output],
        opset=17,
    )
    feeds = {
        "x": RNG.standard_normal((2, 4, 5)).astype(np.float32),
        "m": np.zeros((4, 6), np.float32),
        "idx": np.array([[0, 4, -1], [-5, 7, 2]], np.int64),
        "lens": np.array([1, 2, 0, 2], np.int64),
    }
    check(model, feeds)


def test_cumprod_matches_numpy():
    """CumProd (opset 26) in all four exclusive/reverse combinations; onnxruntime may not
    implement it, so numpy is the reference."""
    nodes = [const_node("axis", np.array(1, np.int64))]
    x = RNG.uniform(0.5, 1.5, (3, 6)).astype(np.float32)
    want = []
    for exclusive in (0, 1):
        for reverse in (0, 1):
            name = f"cp_{exclusive}{reverse}"
            nodes.append(
                helper.make_node(
                    "CumProd", ["x", "axis"], [name], exclusive=exclusive, reverse=reverse
                )
            )
            v = x[:, ::-1] if reverse else x
            out = np.cumprod(v, axis=1)
            if exclusive:
                out = np.concatenate([np.ones((3, 1), np.float32), out[:, :-1]], axis=1)
            want.append((out[:, ::-1] if reverse else out).astype(np.float32))
    model = make_model(nodes, [("x", F, [3, 6])], [n.output[0] for n in nodes[1:]], opset=26)
    check(model, {"x": x}, want)


def test_pooling_and_normalization():
    nodes = [
        helper.make_node("LpPool", ["x"], ["lp2"], kernel_shape=[2, 3], strides=[1, 2]),
        helper.make_node("LpPool", ["x"], ["lp3"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], p=3),
        helper.make_node("LpPool", ["s"], ["lp1d"], kernel_shape=[3], strides=[2], pads=[1, 1]),
        helper.make_node("LRN", ["x"], ["lrn"], size=3, alpha=2e-3, beta=0.6, bias=1.5),
        helper.make_node("LRN", ["x"], ["lrn5"], size=5),
        helper.make_node("MeanVarianceNormalization", ["x"], ["mvn"]),
        helper.make_node("MeanVarianceNormalization", ["x"], ["mvn_c"], axes=[1, 2, 3]),
        helper.make_node("GroupNormalization", ["x", "gs", "gb"], ["gn"], num_groups=2),
        helper.make_node("Det", ["d2"], ["det2"]),
        helper.make_node("Det", ["d3"], ["det3"]),
    ]
    inputs = [
        ("x", F, [2, 4, 5, 7]),
        ("s", F, [2, 3, 9]),
        ("gs", F, [4]),
        ("gb", F, [4]),
        ("d2", F, [3, 2, 2]),
        ("d3", F, [3, 3]),
    ]
    # onnx's strict inference fails inside MVN's function body at opset 21
    model = make_model(nodes, inputs, [n.output[0] for n in nodes], opset=21, strict=False)
    feeds = {n: RNG.standard_normal(s).astype(np.float32) for n, _, s in inputs}
    check(model, feeds)


@pytest.mark.parametrize(
    ("node", "inputs", "message"),
    [
        (
            helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 2, 2]),
            [("x", F, [1, 1, 3, 3, 3])],
            "only 1-D and 2-D LpPool",
        ),
        (
            helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], p=0),
            [("x", F, [1, 1, 3, 3])],
            "attribute p=0",
        ),
        (
            helper.make_node("Det", ["x"], ["y"]),
            [("x", F, [4, 4])],
            "up to 3x3",
        ),
    ],
)
def test_unsupported_values_name_the_node(node, inputs, message):
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info("y", F, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    with pytest.raises(ModelError, match=message) as info:
        xtvm.from_onnx(model)
    assert node.op_type in str(info.value)
