"""float16 models (inputs, weights, outputs in half precision) against onnxruntime.

xtvm computes in float32 and rounds to float16 where onnxruntime's CPU provider does
(xtvm/frontend/onnx/half.py); kernels differ in summation order and transcendental
approximations, so results may differ by a few half-precision ulps.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm

F16 = TensorProto.FLOAT16
RNG = np.random.default_rng(7)


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in inits],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _half(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float16)


def _check(model, feeds, ort_run, ulps=4, opt_level=3):
    want = ort_run(model, feeds)
    lib = xtvm.build(xtvm.from_onnx(model), opt_level=opt_level)
    got = lib.run(feeds)
    assert [o["dtype"] for o in lib.output_info] == [w.dtype.name for w in want]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        # a few half ulps of the larger magnitude (half ulp at 1.0 is 2**-10)
        scale = np.maximum(np.abs(w.astype(np.float32)), 1.0)
        err = np.abs(g.astype(np.float32) - w.astype(np.float32))
        assert np.all(err <= ulps * 2.0**-10 * scale), float((err / scale).max())
    return got, want


@pytest.mark.parametrize("opt_level", [0, 3])
def test_elementwise_chain(ort_run, opt_level):
    nodes = [
        helper.make_node("Mul", ["x", "w"], ["a"]),
        helper.make_node("Add", ["a", "b"], ["c"]),
        helper.make_node("Sigmoid", ["c"], ["d"]),
        helper.make_node("Tanh", ["d"], ["e"]),
        helper.make_node("Max", ["e", "c"], ["y"]),  # rounds its inputs, like onnxruntime
    ]
    inits = [("w", _half(16)), ("b", _half(16))]
    m = _model(nodes, [("x", F16, [4, 16])], [("y", F16, [4, 16])], inits)
    got, want = _check(m, {"x": _half(4, 16, scale=3)}, ort_run, ulps=2, opt_level=opt_level)
    assert np.mean(got[0] == want[0]) > 0.95  # mostly bit-identical


def test_conv_relu_pool(ort_run):
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    inits = [("w", _half(8, 4, 3, 3, scale=0.3)), ("b", _half(8))]
    m = _model(nodes, [("x", F16, [1, 4, 8, 8])], [("y", F16, [1, 8, 4, 4])], inits)
    _check(m, {"x": _half(1, 4, 8, 8)}, ort_run)


def test_matmul_softmax(ort_run):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("Softmax", ["a"], ["y"], axis=-1),
    ]
    m = _model(
        nodes, [("x", F16, [2, 8, 32])], [("y", F16, [2, 8, 16])], [("w", _half(32, 16, scale=0.2))]
    )
    _check(m, {"x": _half(2, 8, 32)}, ort_run)


def test_layer_norm_gemm(ort_run):
    nodes = [
        helper.make_node("LayerNormalization", ["x", "g", "b"], ["n"], axis=-1),
        helper.make_node("Gemm", ["n", "w"], ["y"], transB=1),
    ]
    inits = [("g", _half(32)), ("b", _half(32)), ("w", _half(8, 32, scale=0.2))]
    m = _model(nodes, [("x", F16, [4, 32])], [("y", F16, [4, 8])], inits)
    _check(m, {"x": _half(4, 32, scale=2)}, ort_run)


def test_mixed_precision_casts(ort_run):
    """float32 in, a float16 section, float32 and float16 out."""
    nodes = [
        helper.make_node("Cast", ["x"], ["h"], to=F16),
        helper.make_node("Exp", ["h"], ["e"]),
        helper.make_node("Reshape", ["e", "s"], ["r"]),
        helper.make_node("ReduceSum", ["r"], ["y16"], keepdims=0),
        helper.make_node("Cast", ["y16"], ["y"], to=TensorProto.FLOAT),
    ]
    m = _model(
        nodes,
        [("x", TensorProto.FLOAT, [4, 8])],
        [("y", TensorProto.FLOAT, []), ("y16", F16, [])],
        [("s", np.array([32], np.int64))],
        opset=13,
    )
    _check(m, {"x": RNG.standard_normal((4, 8)).astype(np.float32)}, ort_run, ulps=8)


def test_runtime_rejects_float32_for_a_float16_input():
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [("x", F16, [3])], [("y", F16, [3])])
    lib = xtvm.build(xtvm.from_onnx(m))
    assert lib.input_info[0]["dtype"] == "float16"
    with pytest.raises(xtvm.errors.InputError, match="float16"):
        lib.run({"x": np.ones(3, np.float32)})
    np.testing.assert_array_equal(lib.run({"x": np.array([-1, 0, 2], np.float16)})[0], [0, 0, 2])


def _chain(specs, out_shape, out_type=F16, inits=()):
    nodes = []
    prev = "x"
    for k, (op, extra, attrs) in enumerate(specs):
        nodes.append(helper.make_node(op, [prev, *extra], [f"v{k}"], **attrs))
        prev = f"v{k}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    return _model(nodes, [("x", F16, [64, 64])], [("y", out_type, out_shape)], inits)


_S = ("s", np.array([64, 64], np.int64))
ROUNDING_CASES = {
    # a native op between float32-run ops runs in float32 too: no rounding around Max
    "isolated_max": ([("Sin", [], {}), ("Max", ["x"], {}), ("Sin", [], {})], [64, 64], ()),
    # two native ops in a row run in half: Sin's result is rounded before the Reshape
    "native_pair": (
        [("Sin", [], {}), ("Reshape", ["s"], {}), ("Transpose", [], {}), ("Sin", [], {})],
        [64, 64],
        (_S,),
    ),
    # a LayerNormalization fed by a native op rounds its output
    "layer_norm": (
        [
            ("Reshape", ["s"], {}),
            ("LayerNormalization", ["g"], {"axis": -1}),
            ("Sin", [], {}),
        ],
        [64, 64],
        (_S, ("g", np.ones(64, np.float16))),
    ),
    # a Cast from half to the same half type is dropped, not a rounding
    "noop_cast": ([("Sin", [], {}), ("Cast", [], {"to": F16}), ("Sin", [], {})], [64, 64], ()),
    # a Cast from half reads the unrounded float32 value, as onnxruntime does
    "cast_from_half": ([("Sin", [], {}), ("Cast", [], {"to": TensorProto.FLOAT})], [64, 64], ()),
}


@pytest.mark.parametrize("case", sorted(ROUNDING_CASES))
def test_rounding_points_follow_onnxruntime(ort_run, case):
    specs, shape, inits = ROUNDING_CASES[case]
    out_type = TensorProto.FLOAT if case == "cast_from_half" else F16
    m = _chain(specs, shape, out_type, inits)
    got, want = _check(m, {"x": _half(64, 64, scale=2)}, ort_run, ulps=1)
    if out_type == F16:  # the wrong rounding choice differs on about a fifth of the elements
        assert np.mean(got[0] == want[0]) > 0.97
    else:  # float32 Sin kernels differ in the last bits; a rounding would cost 2**-11
        np.testing.assert_allclose(got[0], want[0], rtol=0, atol=1e-6)


def test_half_intermediates_are_stored_as_half(ort_run):
    """relay-half-storage: a rounded value crossing a kernel boundary is a half tensor."""
    w = ("w", _half(8, 8, 3, 3, scale=0.2))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        # two native ops in a row run in half: the conv result is rounded
        helper.make_node("Reshape", ["c", "s"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 1, 3, 2]),
        helper.make_node("Conv", ["t", "w"], ["y"], pads=[1, 1, 1, 1]),
    ]
    s = ("s", np.array([1, 8, 8, 8], np.int64))
    m = _model(nodes, [("x", F16, [1, 8, 8, 8])], [("y", F16, [1, 8, 8, 8])], [w, s])
    _check(m, {"x": _half(1, 8, 8, 8)}, ort_run)
    te = str(xtvm.build(xtvm.from_onnx(m)).get_source("te"))
    calls = [line for line in te.splitlines() if "te.call @fused_conv2d" in line]
    assert calls and calls[0].rstrip().endswith("xf16>"), calls
    # the layout pass still blocks the convolutions, and the rounding is fused into them
    assert all("conv2d_nchwc" in line for line in calls), calls
    assert "cast" in calls[0].split("(")[0], calls


def test_if_with_half_branches(ort_run):
    """Branches read the enclosing value as a half tensor and return half tensors (both
    rounded, as onnxruntime passes them); inside, the float32 chains are not rounded."""

    def branch(ops, name):
        nodes, prev = [], "a"
        for k, op in enumerate(ops):
            out = name if k == len(ops) - 1 else f"{name}{k}"
            nodes.append(helper.make_node(op, [prev], [out]))
            prev = out
        return helper.make_graph(
            nodes, name, [], [helper.make_tensor_value_info(name, F16, [64, 64])]
        )

    node = helper.make_node(
        "If",
        ["c"],
        ["b"],
        then_branch=branch(["Sin", "Transpose", "Sin"], "s"),
        else_branch=branch(["Cos", "Identity", "Transpose", "Cos"], "k"),
    )
    nodes = [helper.make_node("Exp", ["x"], ["a"]), node, helper.make_node("Sin", ["b"], ["y"])]
    m = _model(nodes, [("c", TensorProto.BOOL, []), ("x", F16, [64, 64])], [("y", F16, [64, 64])])
    lib = xtvm.build(xtvm.from_onnx(m))
    x = _half(64, 64)
    for c in (True, False):
        feeds = {"c": np.array(c), "x": x}
        (want,) = ort_run(m, feeds)
        (got,) = lib.run(feeds)
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), atol=2e-3)
        assert np.mean(got == want) > 0.97  # another rounding choice differs on ~10%
