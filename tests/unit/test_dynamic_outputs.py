"""Outputs whose length depends on the data (bounded buffer + count), against onnxruntime.

Covers the model shapes exporters emit around NonZero (``torch.nonzero``'s Transpose,
gathering with the indices, boolean-mask indexing via GatherND), multi-output Unique,
Compress with a constant condition (folded to a static shape), TopK with a run-time k, the
typed errors for consumers that cannot take such a tensor, and the runtime's slicing.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError, XTVMError
from xtvm.runtime.dynamic import DynamicOutputs

ort = pytest.importorskip("onnxruntime")

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def _model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _compare(model: onnx.ModelProto, feeds_list: list[dict[str, np.ndarray]]) -> None:
    lib = xtvm.build(xtvm.from_onnx(model))
    sess = ort.InferenceSession(model.SerializeToString())
    for feeds in feeds_list:
        want = sess.run(None, feeds)
        got = lib.run(feeds)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-6)


def _feeds(shape, seeds=(0, 1, 2), zeros=True) -> list[dict[str, np.ndarray]]:
    out = [{"x": np.random.default_rng(s).standard_normal(shape).astype(np.float32)} for s in seeds]
    if zeros:  # nothing positive: every output has length 0
        out.append({"x": -np.abs(out[0]["x"]) - 1})
    return out


ZERO = [("zero", np.array(0, np.float32))]
# nz = NonZero(x > 0), the start of most tests below (with ZERO among the initializers)
POSITIVE = [
    helper.make_node("Greater", ["x", "zero"], ["m"]),
    helper.make_node("NonZero", ["m"], ["nz"]),
]


def test_transpose_of_nonzero_as_torch_nonzero_exports_it() -> None:
    m = _model(
        [
            *POSITIVE,
            helper.make_node("Transpose", ["nz"], ["y"], perm=[1, 0]),
        ],
        [("x", F, [3, 4, 5])],
        [("y", I64, ["n", 3])],
        ZERO,
    )
    _compare(m, _feeds((3, 4, 5)))


def test_gather_with_nonzero_indices_and_elementwise_consumers() -> None:
    m = _model(
        [
            *POSITIVE,
            helper.make_node("Squeeze", ["nz", "ax0"], ["idx"]),
            helper.make_node("Gather", ["w", "idx"], ["rows"], axis=0),
            helper.make_node("Mul", ["rows", "scale"], ["scaled"]),
            helper.make_node("Add", ["idx", "one"], ["shifted"]),
        ],
        [("x", F, [7])],
        [("scaled", F, ["n", 3]), ("shifted", I64, ["n"])],
        [
            *ZERO,
            ("ax0", np.array([0], np.int64)),
            ("w", np.arange(21, dtype=np.float32).reshape(7, 3)),
            ("scale", np.array([1.0, 2.0, 3.0], np.float32)),
            ("one", np.array(1, np.int64)),
        ],
    )
    _compare(m, _feeds((7,)))


def test_boolean_mask_indexing_through_gather_nd() -> None:
    # x[x > 0] as torch exports it: NonZero -> Transpose -> GatherND
    m = _model(
        [
            *POSITIVE,
            helper.make_node("Transpose", ["nz"], ["idx"], perm=[1, 0]),
            helper.make_node("GatherND", ["x", "idx"], ["y"]),
        ],
        [("x", F, [4, 6])],
        [("y", F, ["n"])],
        ZERO,
    )
    _compare(m, _feeds((4, 6)))


def test_unique_all_outputs_sorted_and_unsorted() -> None:
    for sorted_ in (0, 1):
        m = _model(
            [helper.make_node("Unique", ["x"], ["y", "i", "inv", "c"], sorted=sorted_)],
            [("x", F, [10])],
            [("y", F, ["u"]), ("i", I64, ["u"]), ("inv", I64, [10]), ("c", I64, ["u"])],
        )
        rng = np.random.default_rng(sorted_)
        feeds = [{"x": rng.integers(-3, 3, 10).astype(np.float32)} for _ in range(3)]
        feeds.append({"x": np.full(10, 2.5, np.float32)})
        _compare(m, feeds)


def test_compress_with_a_constant_condition_is_static() -> None:
    m = _model(
        [helper.make_node("Compress", ["x", "cond"], ["y"], axis=1)],
        [("x", F, [2, 5])],
        [("y", F, [2, 2])],
        [("cond", np.array([False, True, False, True], bool))],
    )
    lib = xtvm.build(xtvm.from_onnx(m))
    assert lib.output_info == [{"name": "y", "shape": (2, 2), "dtype": "float32"}]
    _compare(m, _feeds((2, 5), zeros=False))


def test_topk_with_a_runtime_k() -> None:
    m = _model(
        [helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=0)],
        [("x", F, [3, 6]), ("k", I64, [1])],
        [("v", F, [3, "k"]), ("i", I64, [3, "k"])],
    )
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    _compare(m, [{"x": x, "k": np.array([k], np.int64)} for k in (0, 2, 6)])


def test_output_info_marks_the_bound_and_axis() -> None:
    m = _model(
        [helper.make_node("NonZero", ["x"], ["y"])],
        [("x", F, [2, 3])],
        [("y", I64, [2, "n"])],
    )
    lib = xtvm.build(xtvm.from_onnx(m))
    assert lib.output_info == [{"name": "y", "shape": (2, 6), "dtype": "int64", "dynamic_axis": 1}]
    got = lib.run({"x": np.array([[0, 1, 0], [2, 0, 3]], np.float32)})[0]
    np.testing.assert_array_equal(got, [[0, 1, 1], [1, 0, 2]])


@pytest.mark.parametrize(
    ("node", "extra", "word", "shape"),
    [
        (helper.make_node("Shape", ["nz"], ["y"]), [], "Shape", [2]),
        (helper.make_node("ReduceSum", ["nz"], ["y"], keepdims=0), [], "ReduceSum", []),
        (
            helper.make_node("Reshape", ["nz", "flat"], ["y"]),
            [("flat", np.array([-1]))],
            "Reshape",
            ["d"],
        ),
        (
            helper.make_node("Slice", ["nz", "s", "e", "a"], ["y"]),
            [("s", np.array([1])), ("e", np.array([9])), ("a", np.array([1]))],
            "Slice",
            [2, "d"],
        ),
        (
            helper.make_node("Add", ["nz", "full"], ["y"]),
            [("full", np.zeros((2, 6)))],
            "static length meets",
            [2, 6],
        ),
        (
            helper.make_node("Concat", ["nz", "nz"], ["y"], axis=1),
            [],
            "joined along another axis",
            [2, "d"],
        ),
        (helper.make_node("TopK", ["nz", "k"], ["y", "i"]), [("k", [1])], "TopK", [2, 1]),
    ],
)
def test_consumers_that_cannot_take_a_bounded_tensor_name_the_op(node, extra, word, shape) -> None:
    m = _model(
        [helper.make_node("NonZero", ["x"], ["nz"]), node],
        [("x", F, [2, 3])],
        [("y", I64, shape)],
        [(n, np.asarray(v, np.int64)) for n, v in extra],
    )
    with pytest.raises(ModelError, match=word) as info:
        xtvm.from_onnx(m)
    assert "\n" not in str(info.value)


def test_exported_library_returns_real_sizes(tmp_path) -> None:
    m = _model(
        [helper.make_node("NonZero", ["x"], ["y"])],
        [("x", F, [5])],
        [("y", I64, [1, "n"])],
    )
    path = str(tmp_path / "nz.so")
    xtvm.build(xtvm.from_onnx(m)).export_library(path)
    lib = xtvm.runtime.load(path)
    got = lib.run({"x": np.array([0, 3, 0, 0, 1], np.float32)})[0]
    np.testing.assert_array_equal(got, [[1, 4]])


def test_runtime_rejects_a_bad_count_output_and_a_count_past_the_bound() -> None:
    good = [
        {"name": "y", "shape": (4,), "dtype": "int64"},
        {"name": "xtvm.count:0:y", "shape": (), "dtype": "int64"},
    ]
    dyn = DynamicOutputs(good)
    y = np.arange(4)
    assert dyn.finish([y, np.array(2)])[0].tolist() == [0, 1]
    with pytest.raises(XTVMError, match="outside"):
        dyn.finish([y, np.array(5)])
    with pytest.raises(XTVMError, match="bad count output"):
        DynamicOutputs([good[0], {"name": "xtvm.count:0:z", "shape": (), "dtype": "int64"}])


def test_constant_operands_fold_to_static_outputs() -> None:
    m = _model(
        [
            helper.make_node("NonZero", ["c"], ["nz"]),
            helper.make_node("Add", ["nz", "k"], ["a"]),
            helper.make_node("Unique", ["u"], ["y", "i", "inv", "cnt"]),
            helper.make_node("Add", ["y", "x"], ["b"]),
            helper.make_node("NonMaxSuppression", ["bx", "sc", "mx", "th"], ["sel"]),
            helper.make_node("Add", ["sel", "k"], ["s"]),
        ],
        [("x", F, [1]), ("k", I64, [1])],
        [("a", I64, [2, "n"]), ("b", F, ["m"]), ("cnt", I64, ["m"]), ("s", I64, ["q", 3])],
        [
            ("c", np.array([[0, 1], [2, 0]], np.float32)),
            ("u", np.array([3, 1, 3, 2, 1], np.float32)),
            ("bx", np.array([[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, 3, 1, 4]]], np.float32)),
            ("sc", np.array([[[0.9, 0.8, 0.7]]], np.float32)),
            ("mx", np.array([2], np.int64)),
            ("th", np.array([0.5], np.float32)),
        ],
    )
    lib = xtvm.build(xtvm.from_onnx(m))
    assert not any("dynamic_axis" in o for o in lib.output_info)
    _compare(m, [{"x": np.array([5], np.float32), "k": np.array([1], np.int64)}])


def test_zero_size_inputs_give_empty_outputs() -> None:
    m = _model(
        [helper.make_node("NonZero", ["x"], ["y"])], [("x", F, [0, 3])], [("y", I64, [2, "n"])]
    )
    _compare(m, [{"x": np.zeros((0, 3), np.float32)}])


def test_unique_treats_nan_as_one_value_like_numpy() -> None:
    m = _model(
        [helper.make_node("Unique", ["x"], ["y", "i", "inv", "c"])],
        [("x", F, [6])],
        [("y", F, ["u"]), ("i", I64, ["u"]), ("inv", I64, [6]), ("c", I64, ["u"])],
    )
    x = np.array([np.nan, 1, np.nan, 2, 1, -np.inf], np.float32)
    got = xtvm.build(xtvm.from_onnx(m)).run({"x": x})
    want = np.unique(x, True, True, True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_a_branch_returning_a_bounded_tensor_never_runs() -> None:
    def branch(name: str, node) -> onnx.GraphProto:
        out = helper.make_tensor_value_info("o", I64, [1, "n"])
        return helper.make_graph([node], name, [], [out])

    then_ = branch("then", helper.make_node("NonZero", ["x"], ["o"]))
    else_ = branch(
        "else",
        helper.make_node(
            "Constant", [], ["o"], value=numpy_helper.from_array(np.zeros((1, 1), np.int64))
        ),
    )
    m = _model(
        [helper.make_node("If", ["c"], ["y"], then_branch=then_, else_branch=else_)],
        [("x", F, [4]), ("c", TensorProto.BOOL, [])],
        [("y", I64, [1, "n"])],
    )
    # the If converter turns a branch that cannot compile into a run-time error status
    with pytest.warns(UserWarning, match="data-dependent length"):
        lib = xtvm.build(xtvm.from_onnx(m))
    x = np.ones(4, np.float32)
    np.testing.assert_array_equal(lib.run({"x": x, "c": np.array(False)})[0], [[0]])
    with pytest.raises(XTVMError):
        lib.run({"x": x, "c": np.array(True)})


def test_nonzero_of_an_image_sized_mask() -> None:
    # 3 * 61 * 67 entries: blocks of isqrt(n) with a ragged last one, a 14-step search
    shape = (1, 3, 61, 67)
    m = _model(
        [helper.make_node("NonZero", ["x"], ["y"])], [("x", F, list(shape))], [("y", I64, [4, "n"])]
    )
    lib = xtvm.build(xtvm.from_onnx(m))
    rng = np.random.default_rng(0)
    for p in (0.0, 0.01, 0.6, 1.0):
        x = (rng.random(shape) < p).astype(np.float32)
        np.testing.assert_array_equal(lib.run({"x": x})[0], np.array(np.nonzero(x)))


def test_prefix_slice_along_the_bounded_axis() -> None:
    # the first three hits, as a detector keeps its top detections: min(count, 3) rows
    m = _model(
        [
            *POSITIVE,
            helper.make_node("Slice", ["nz", "s", "e", "a"], ["y"]),
        ],
        [("x", F, [2, 5])],
        [("y", I64, [2, "n"])],
        [*ZERO, ("s", np.array([0])), ("e", np.array([3])), ("a", np.array([1]))],
    )
    x = np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32)
    _compare(m, [*_feeds((2, 5)), {"x": x}])


def test_detection_post_processing_after_nms() -> None:
    # selected[:, 2] picks box indices; the kept boxes and scores are gathered with them
    m = _model(
        [
            helper.make_node("NonMaxSuppression", ["b", "s", "mx", "th"], ["sel"]),
            helper.make_node("Gather", ["sel", "two"], ["box_idx"], axis=1),
            helper.make_node("Squeeze", ["b", "ax0"], ["b0"]),
            helper.make_node("Gather", ["b0", "box_idx"], ["kept"], axis=0),
            helper.make_node("Cast", ["box_idx"], ["as_float"], to=F),
        ],
        [("b", F, [1, 6, 4]), ("s", F, [1, 1, 6])],
        [("kept", F, ["n", 4]), ("as_float", F, ["n"])],
        [
            ("mx", np.array([4], np.int64)),
            ("th", np.array([0.4], np.float32)),
            ("two", np.array(2, np.int64)),
            ("ax0", np.array([0], np.int64)),
        ],
    )
    rng = np.random.default_rng(3)
    feeds = []
    for _ in range(4):
        xy = rng.integers(0, 4, (1, 6, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + rng.integers(1, 3, (1, 6, 2))], axis=2)
        feeds.append({"b": boxes.astype(np.float32), "s": rng.random((1, 1, 6), np.float32)})
    _compare(m, feeds)


def test_reductions_over_the_other_axes_keep_the_count() -> None:
    # per selected row: the arg-max class and the largest score
    m = _model(
        [
            *POSITIVE,
            helper.make_node("Squeeze", ["nz", "ax0"], ["idx"]),
            helper.make_node("Gather", ["scores", "idx"], ["rows"], axis=0),
            helper.make_node("ArgMax", ["rows"], ["cls"], axis=1, keepdims=0),
            helper.make_node("ReduceMax", ["rows"], ["best"], axes=[1], keepdims=1),
        ],
        [("x", F, [6]), ("scores", F, [6, 4])],
        [("cls", I64, ["n"]), ("best", F, ["n", 1])],
        [*ZERO, ("ax0", np.array([0], np.int64))],
    )
    rng = np.random.default_rng(5)
    scores = rng.standard_normal((6, 4)).astype(np.float32)
    _compare(m, [{**f, "scores": scores} for f in _feeds((6,))])
