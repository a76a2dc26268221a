"""Operands fed at run time: shape operands computed from ``Shape`` of a static tensor fold to
constants; value-only operands (Clip bounds, Trilu's k, a CumSum axis) stay runtime tensors
and one compiled library serves every value; a true runtime shape operand is a ModelError
naming the node and the operand. References: onnxruntime."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as TP
from onnx import helper

import xtvm
from xtvm.errors import ModelError

RNG = np.random.default_rng(7)


def ints(name: str, values: list[int]) -> onnx.TensorProto:
    return helper.make_tensor(name, TP.INT64, [len(values)], values)


def scalar(name: str, value: float, dtype: int = TP.INT64) -> onnx.TensorProto:
    return helper.make_tensor(name, dtype, [], [value])


def model_of(nodes, inputs, outputs, inits=()) -> onnx.ModelProto:
    """Graph of ``nodes``; output types and shapes from ONNX shape inference."""
    graph = helper.make_graph(nodes, "g", [], [], list(inits))
    graph.input.extend(helper.make_tensor_value_info(n, t, s) for n, t, s in inputs)
    graph.output.extend(helper.make_empty_tensor_value_info(o) for o in outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in inferred.graph.value_info}
    for out in model.graph.output:
        out.CopyFrom(known[out.name])
    return model


def compare(model: onnx.ModelProto, feed_sets: list[dict[str, np.ndarray]]) -> None:
    """One xtvm build, run on every feed set, each output equal to onnxruntime's."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    lib = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in feed_sets[0].items()}))
    for feeds in feed_sets:
        want = sess.run(None, feeds)
        got = lib.run(feeds)
        for out, w, g in zip(model.graph.output, want, got):
            assert g.shape == w.shape and g.dtype == w.dtype, out.name
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=f"{out.name} {feeds}")


def test_shape_operands_computed_from_shape_fold() -> None:
    """Pad, Range, Tile, Expand, ConstantOfShape, Reshape, Slice, Resize, TopK and OneHot
    with operands derived from Shape(x) of a static x."""
    n = helper.make_node
    nodes = [
        n("Shape", ["x"], ["s"]),
        n("Gather", ["s", "one"], ["d1"], axis=0),  # [3]
        n("Concat", ["zeros5", "d1"], ["pads"], axis=0),
        n("Pad", ["x", "pads"], ["pad"]),
        n("Squeeze", ["d1"], ["limit"]),
        n("Range", ["zero", "limit", "one_s"], ["range"]),
        n("Div", ["s", "s"], ["ones3"]),
        n("Add", ["ones3", "ones3"], ["reps"]),
        n("Tile", ["x", "reps"], ["tile"]),
        n("Expand", ["b", "s"], ["expand"]),
        n("ConstantOfShape", ["s"], ["fill"]),
        n("ReduceProd", ["s"], ["numel"], keepdims=1),
        n("Reshape", ["x", "numel"], ["flat"]),
        n("Sub", ["d1", "one"], ["end"]),
        n("Slice", ["x", "one", "end", "one"], ["slice"]),
        n("Mul", ["s", "reps"], ["sizes"]),
        n("Resize", ["x", "", "", "sizes"], ["resize"], mode="nearest"),
        n("TopK", ["x", "d1"], ["topk", "topk_i"]),
        n("OneHot", ["idx", "d1", "onoff"], ["onehot"]),
    ]
    inits = [
        ints("one", [1]),
        ints("zeros5", [0, 0, 0, 1, 0]),
        scalar("zero", 0),
        scalar("one_s", 1),
        helper.make_tensor("onoff", TP.FLOAT, [2], [0.0, 1.0]),
    ]
    outs = ["pad", "range", "tile", "expand", "fill", "flat", "slice", "resize", "topk", "onehot"]
    inputs = [("x", TP.FLOAT, [2, 3, 4]), ("b", TP.FLOAT, [3, 1]), ("idx", TP.INT64, [5])]
    feeds = {
        "x": RNG.standard_normal((2, 3, 4)).astype(np.float32),
        "b": RNG.standard_normal((3, 1)).astype(np.float32),
        "idx": np.array([0, 2, 1, -1, 2], np.int64),
    }
    compare(model_of(nodes, inputs, outs, inits), [feeds])


def test_value_operands_stay_runtime_inputs() -> None:
    """Clip bounds (min > max too), Trilu k (negative, past the matrix) and a CumSum axis
    (negative too) change between runs of one compiled library."""
    n = helper.make_node
    nodes = [
        n("Clip", ["x", "lo", "hi"], ["clip"]),
        n("Trilu", ["m", "k"], ["triu"]),
        n("Trilu", ["m", "k"], ["tril"], upper=0),
        n("CumSum", ["x", "axis"], ["cumsum"], exclusive=1),
    ]
    inputs = [
        ("x", TP.FLOAT, [2, 3, 4]),
        ("lo", TP.FLOAT, []),
        ("hi", TP.FLOAT, []),
        ("m", TP.FLOAT, [4, 5]),
        ("k", TP.INT64, []),
        ("axis", TP.INT32, []),
    ]
    model = model_of(nodes, inputs, ["clip", "triu", "tril", "cumsum"])
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    m = RNG.standard_normal((4, 5)).astype(np.float32)
    sets = [
        (-0.5, 0.5, 0, 0),
        (0.3, -0.2, -2, -1),
        (-9.0, 9.0, 7, 1),
        (0.0, 1.0, 1, -3),
    ]
    f32 = np.float32
    feeds = [
        {"x": x, "lo": f32(lo), "hi": f32(hi), "m": m, "k": np.int64(k), "axis": np.int32(a)}
        for lo, hi, k, a in sets
    ]
    compare(model, [{k: np.asarray(v) for k, v in f.items()} for f in feeds])


def test_runtime_squeeze_axes_with_one_candidate() -> None:
    """A runtime axes operand of length 1 on an input with one dim of size 1 drops it."""
    model = model_of(
        [helper.make_node("Squeeze", ["q", "axes"], ["y"])],
        [("q", TP.FLOAT, [2, 1, 3]), ("axes", TP.INT64, [1])],
        ["y"],
    )
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", TP.FLOAT, [2, 3]))
    q = RNG.standard_normal((2, 1, 3)).astype(np.float32)
    compare(model, [{"q": q, "axes": np.array([1])}, {"q": q, "axes": np.array([-2])}])


@pytest.mark.parametrize(
    ("op", "inputs", "extra", "operand"),
    [
        ("Pad", ["x", "p"], [("p", [6])], "pads (input 1)"),
        ("Range", ["a", "b", "c"], [("a", []), ("b", []), ("c", [])], "start (input 0)"),
        ("Tile", ["x", "p"], [("p", [3])], "repeats (input 1)"),
        ("Expand", ["x", "p"], [("p", [3])], "shape (input 1)"),
        ("ConstantOfShape", ["p"], [("p", [3])], "shape (input 0)"),
        ("Reshape", ["x", "p"], [("p", [2])], "shape (input 1)"),
        ("Slice", ["x", "p", "q"], [("p", [1]), ("q", [1])], "starts (input 1)"),
        ("Resize", ["x", "", "", "p"], [("p", [3])], "sizes (input 3)"),
        ("OneHot", ["p", "d", "v"], [("p", [3]), ("d", []), ("v", [2])], "depth (input 1)"),
        ("Squeeze", ["x", "p"], [("p", [1])], "axes (input 1)"),
    ],
)
def test_runtime_shape_operands_are_model_errors(op, inputs, extra, operand) -> None:
    """The output shape would depend on the operand's value: a one-line typed error."""
    types = {"v": TP.FLOAT}
    graph_inputs = [("x", TP.FLOAT, [2, 3, 4])] * ("x" in inputs)
    graph_inputs += [(name, types.get(name, TP.INT64), shape) for name, shape in extra]
    graph = helper.make_graph(
        [helper.make_node(op, inputs, ["y"])],
        "g",
        [helper.make_tensor_value_info(*i) for i in graph_inputs],
        [helper.make_tensor_value_info("y", TP.FLOAT, ["?"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with warnings.catch_warnings(), pytest.raises(ModelError) as info:
        warnings.simplefilter("ignore")
        xtvm.from_onnx(model, {name: tuple(shape) for name, _, shape in graph_inputs})
    message = str(info.value)
    assert f"({op})" in message and operand in message and "\n" not in message


def test_dropout_ratio_at_run_time_and_its_mask() -> None:
    """Inference Dropout: a runtime ratio changes nothing, and the mask keeps everything."""
    model = model_of(
        [helper.make_node("Dropout", ["x", "ratio"], ["y", "mask"])],
        [("x", TP.FLOAT, [2, 3]), ("ratio", TP.FLOAT, [])],
        ["y", "mask"],
    )
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    compare(model, [{"x": x, "ratio": np.asarray(np.float32(r))} for r in (0.0, 0.5)])
