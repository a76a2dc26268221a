"""Zero-size tensors (a dim of 0) end to end, compared with onnxruntime.

An empty result depends on no data, so the importer makes it an empty constant; what is left
to compile are ops that read an empty operand into a non-empty result: reductions over an
empty axis (their identity), concatenations, matmuls with an empty inner dim.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm

N = helper.make_node
F = np.float32
FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64
EMPTY = np.zeros((2, 0, 4), F)
FULL = np.arange(24, dtype=F).reshape(2, 3, 4) - 11.5


def _model(
    nodes: list[onnx.NodeProto],
    feed: dict[str, np.ndarray],
    outputs: dict[str, tuple[int, int]],
    inits: Sequence[tuple[str, np.ndarray]] = (),
) -> onnx.ModelProto:
    """``outputs`` maps a name to (rank, element type); its dims are declared ``?``."""
    ins = [
        helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
        for k, v in feed.items()
    ]
    outs = [helper.make_tensor_value_info(k, t, ["?"] * r) for k, (r, t) in outputs.items()]
    inits_ = [numpy_helper.from_array(a, k) for k, a in inits]
    graph = helper.make_graph(nodes, "zero_size", ins, outs, inits_)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _check(model: onnx.ModelProto, feed: dict[str, np.ndarray], lib=None) -> list[np.ndarray]:
    """Outputs of xtvm and onnxruntime agree in shape, dtype and value (NaN == NaN)."""
    if lib is None:
        lib = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in feed.items()}))
    got = lib.run(feed)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, feed)
    for g, w in zip(got, want, strict=True):
        assert (g.shape, g.dtype) == (w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)
    return got


def _i64(*v: int) -> np.ndarray:
    return np.array(v, np.int64)


REDUCE_OPS = [
    "ReduceSum",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceMean",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
]


@pytest.mark.parametrize("op", REDUCE_OPS)
@pytest.mark.parametrize("source", ["input", "initializer"])
def test_reduce_over_empty_axis_is_the_identity(op: str, source: str) -> None:
    """ReduceSum 0, ReduceProd 1, ReduceMax -inf, ReduceMin +inf, ReduceLogSum(Exp) -inf;
    ReduceMean 0 as onnxruntime gives (ONNX leaves it undefined). From an initializer the
    reduction is folded at import by the numpy evaluator; from an input, it is compiled."""
    feed = {"z": np.ones((2, 4), F)}
    inits: list[tuple[str, np.ndarray]] = [("ax", _i64(1))]
    if source == "input":
        feed["x"] = EMPTY
    else:
        inits.append(("x", EMPTY))
    nodes = [N(op, ["x", "ax"], ["r"], keepdims=0), N("Add", ["r", "z"], ["y"])]
    _check(_model(nodes, feed, {"y": (2, FLOAT)}, inits), feed)


@pytest.mark.parametrize(
    ("op", "dtype", "elem"),
    [
        ("ReduceMax", np.int32, TensorProto.INT32),
        ("ReduceMin", np.int64, INT64),
        ("ReduceSum", np.int64, INT64),
    ],
)
def test_integer_reduce_over_empty_axis(op: str, dtype: type, elem: int) -> None:
    feed = {"x": EMPTY.astype(dtype)}
    nodes = [N(op, ["x", "ax"], ["y"], keepdims=1)]
    got = _check(_model(nodes, feed, {"y": (3, elem)}, [("ax", _i64(1))]), feed)
    assert got[0].shape == (2, 1, 4)


CASES = {
    "relu": ([N("Relu", ["x"], ["y"])], {"x": EMPTY}, {"y": 3}, []),
    "broadcast-add": ([N("Add", ["x", "w"], ["y"])], {"x": EMPTY}, {"y": 3}, [("w", FULL[0, 0])]),
    "identity-output": ([N("Identity", ["x"], ["y"])], {"x": EMPTY}, {"y": 3}, []),
    "concat-empty-input": (
        [N("Concat", ["x", "z"], ["y"], axis=1)],
        {"x": EMPTY, "z": FULL},
        {"y": 3},
        [],
    ),
    "concat-all-empty": ([N("Concat", ["x", "x"], ["y"], axis=1)], {"x": EMPTY}, {"y": 3}, []),
    "slice-to-empty-then-concat": (
        [N("Slice", ["z", "s", "e", "a"], ["w"]), N("Concat", ["w", "z"], ["y"], axis=1)],
        {"z": FULL},
        {"y": 3, "w": 3},
        [("s", _i64(5)), ("e", _i64(9)), ("a", _i64(1))],
    ),
    "split-zero-piece": (
        [N("Split", ["z", "sp"], ["a", "b", "c"], axis=1)],
        {"z": FULL},
        {"a": 3, "b": 3, "c": 3},
        [("sp", _i64(1, 0, 2))],
    ),
    "matmul-empty-inner-dim": (
        [N("MatMul", ["a", "b"], ["y"])],
        {"a": np.zeros((3, 0), F), "b": np.zeros((0, 5), F)},
        {"y": 2},
        [],
    ),
    "gemm-empty-inner-dim-bias": (
        [N("Gemm", ["a", "b", "c"], ["y"])],
        {"a": np.zeros((3, 0), F)},
        {"y": 2},
        [("b", np.zeros((0, 5), F)), ("c", np.arange(5, dtype=F))],
    ),
    "conv-empty-batch": (
        [N("Conv", ["x", "w"], ["y"])],
        {"x": np.zeros((0, 3, 5, 5), F)},
        {"y": 4},
        [("w", np.ones((2, 3, 3, 3), F))],
    ),
    "pad-empty": (
        [N("Pad", ["x", "p", "v"], ["y"])],
        {"x": EMPTY},
        {"y": 3},
        [("p", _i64(0, 1, 0, 0, 1, 0)), ("v", np.array(2.5, F))],
    ),
    "tile-zero-repeats": (
        [N("Tile", ["z", "r"], ["y"])],
        {"z": FULL},
        {"y": 3},
        [("r", _i64(1, 0, 2))],
    ),
    "expand-to-empty": (
        [N("Expand", ["z", "s"], ["y"])],
        {"z": FULL[:, :1]},
        {"y": 3},
        [("s", _i64(2, 0, 4))],
    ),
    "gather-no-indices": (
        [N("Gather", ["z", "i"], ["y"], axis=1)],
        {"z": FULL},
        {"y": 3},
        [("i", np.zeros((0,), np.int64))],
    ),
    "shape-of-empty": ([N("Shape", ["x"], ["y"])], {"x": EMPTY}, {"y": 1}, []),
    "softmax-empty": ([N("Softmax", ["x"], ["y"], axis=1)], {"x": EMPTY}, {"y": 3}, []),
    "topk-k0": (
        [N("TopK", ["z", "k"], ["v", "i"], axis=2)],
        {"z": FULL},
        {"v": 3, "i": 3},
        [("k", _i64(0))],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_zero_size_graph(name: str) -> None:
    nodes, feed, ranks, inits = CASES[name]
    # every output is float but TopK's indices and Shape's result
    int_out = {"i"} | ({"y"} if name == "shape-of-empty" else set())
    outs = {k: (r, INT64 if k in int_out else FLOAT) for k, r in ranks.items()}
    _check(_model(nodes, feed, outs, inits), feed)


def test_zero_size_through_an_exported_library(tmp_path: os.PathLike) -> None:
    """The runtime loaded from a shared library takes and returns empty arrays too, and
    still checks shapes."""
    nodes = [N("Relu", ["x"], ["y"]), N("Concat", ["x", "z"], ["c"], axis=1)]
    feed = {"x": EMPTY, "z": FULL}
    model = _model(nodes, feed, {"y": (3, FLOAT), "c": (3, FLOAT)})
    path = os.path.join(tmp_path, "m.so")
    xtvm.build(xtvm.from_onnx(model)).export_library(path)
    lib = xtvm.runtime.load(path)
    _check(model, feed, lib)
    with pytest.raises(xtvm.errors.InputError, match=r"expected shape \[2, 0, 4\]"):
        lib.run({"x": np.zeros((2, 1, 4), F), "z": FULL})


REJECTED = {
    # onnxruntime: "RUNTIME_EXCEPTION ... ArgMax"; xtvm must not return a made-up index
    "argmax-over-empty-axis": (
        [N("ArgMax", ["x"], ["y"], axis=1)],
        {"x": EMPTY},
        "relay.argmax cannot compute a non-empty result",
    ),
    # run-time indices into an empty axis would read past the buffer
    "gather-runtime-index-from-empty": (
        [N("Gather", ["x", "i"], ["y"], axis=1)],
        {"x": EMPTY, "i": np.array([0], np.int64)},
        "relay.take cannot compute a non-empty result",
    ),
    # onnxruntime: "Invalid input shape. Only N can be zero"
    "average-pool-over-empty-spatial-dims": (
        [N("GlobalAveragePool", ["x"], ["y"])],
        {"x": np.zeros((1, 2, 0, 3), F)},
        "zero-size operand 0",
    ),
    "max-pool-over-empty-spatial-dims": (
        [N("GlobalMaxPool", ["x"], ["y"])],
        {"x": np.zeros((1, 2, 0, 3), F)},
        "cannot pool over the empty spatial dims",
    ),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_ops_that_cannot_read_empty_operands_name_the_node(name: str) -> None:
    nodes, feed, pattern = REJECTED[name]
    model = _model(nodes, feed, {"y": (3, FLOAT)})
    with pytest.raises(xtvm.errors.ModelError, match=rf"node #0 \(\w+\): .*{pattern}"):
        xtvm.from_onnx(model)
