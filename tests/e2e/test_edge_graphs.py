"""Graphs with nothing to compute still build: outputs that are inputs, weights or repeats."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import xtvm


def _model(nodes, outputs, initializers=()):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [3]) for o in outputs],
        initializer=list(initializers),
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_identity_graph():
    lib = xtvm.build(xtvm.from_onnx(_model([helper.make_node("Identity", ["x"], ["y"])], ["y"])))
    x = np.array([1.0, -2.0, 3.0], np.float32)
    np.testing.assert_array_equal(lib(x), x)


def test_outputs_repeat_an_input_and_a_weight():
    w = numpy_helper.from_array(np.array([4.0, 5.0, 6.0], np.float32), "w")
    nodes = [
        helper.make_node("Identity", ["x"], ["a"]),
        helper.make_node("Identity", ["x"], ["b"]),
        helper.make_node("Identity", ["w"], ["c"]),
    ]
    lib = xtvm.build(xtvm.from_onnx(_model(nodes, ["a", "b", "c"], [w])))
    x = np.array([1.0, 2.0, 3.0], np.float32)
    a, b, c = lib(x)
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, x)
    np.testing.assert_array_equal(c, [4.0, 5.0, 6.0])
