"""Random data through the bounded-output ops: NonZero, Unique, Compress against numpy,
NonMaxSuppression against onnxruntime.

NaN counts as one value, as in numpy. Each configuration is compiled once (the data, not the shape, is what varies), then
hypothesis draws inputs with many zeros, duplicates, overlapping boxes and tied scores.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper

import xtvm

SETTINGS = dict(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _model(node, inputs, outputs) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _small_ints(shape):
    return hnp.arrays(np.float32, shape, elements=st.integers(-2, 2).map(float))


@cache
def _nonzero(shape: tuple[int, ...]):
    m = _model(
        helper.make_node("NonZero", ["x"], ["y"]),
        [("x", F, list(shape))],
        [("y", I64, [len(shape), "n"])],
    )
    return xtvm.build(xtvm.from_onnx(m))


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 2, 3)])
@settings(**SETTINGS)
@given(data=st.data())
def test_nonzero_matches_numpy(shape, data) -> None:
    x = data.draw(_small_ints(shape))
    got = _nonzero(shape).run({"x": x})[0]
    np.testing.assert_array_equal(got, np.array(np.nonzero(x), np.int64).reshape(len(shape), -1))


@cache
def _unique(shape: tuple[int, ...], axis: int | None, sorted_: int):
    kw = {} if axis is None else {"axis": axis}
    n = "u"
    y_shape = [n] if axis is None else [n if d == axis else e for d, e in enumerate(shape)]
    inv = int(np.prod(shape)) if axis is None else shape[axis]
    m = _model(
        helper.make_node("Unique", ["x"], ["y", "i", "inv", "c"], sorted=sorted_, **kw),
        [("x", F, list(shape))],
        [("y", F, y_shape), ("i", I64, [n]), ("inv", I64, [inv]), ("c", I64, [n])],
    )
    return xtvm.build(xtvm.from_onnx(m))


def _unique_ref(x: np.ndarray, axis: int | None, sorted_: int) -> list[np.ndarray]:
    y, idx, inv, cnt = np.unique(x, True, True, True, axis=axis)
    inv = inv.reshape(-1)
    if not sorted_:  # order of first appearance instead of value order
        order = np.argsort(idx, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        y = np.take(y, order, axis=0 if axis is None else axis)
        idx, cnt, inv = idx[order], cnt[order], rank[inv]
    return [y, idx.astype(np.int64), inv.astype(np.int64), cnt.astype(np.int64)]


@pytest.mark.parametrize(
    ("shape", "axis", "sorted_"),
    [((9,), None, 1), ((9,), None, 0), ((2, 3), None, 1), ((5, 2), 0, 1), ((2, 5), 1, 0)],
)
@settings(**SETTINGS)
@given(data=st.data())
def test_unique_matches_numpy(shape, axis, sorted_, data) -> None:
    values = st.one_of(st.integers(-2, 2).map(float), st.just(float("nan")))
    x = data.draw(hnp.arrays(np.float32, shape, elements=values))
    got = _unique(shape, axis, sorted_).run({"x": x})
    for g, w in zip(got, _unique_ref(x, axis, sorted_)):
        np.testing.assert_array_equal(g, w)


@cache
def _compress(shape: tuple[int, ...], length: int, axis: int | None):
    kw = {} if axis is None else {"axis": axis}
    m = _model(
        helper.make_node("Compress", ["x", "cond"], ["y"], **kw),
        [("x", F, list(shape)), ("cond", B, [length])],
        [("y", F, None if axis is None else ["?"] * len(shape))],
    )
    if axis is None:
        m.graph.output[0].type.tensor_type.shape.dim.add().dim_param = "n"
    return xtvm.build(xtvm.from_onnx(m))


@pytest.mark.parametrize(
    ("shape", "length", "axis"), [((4, 3), 4, 0), ((4, 3), 2, 1), ((2, 3), 5, None)]
)
@settings(**SETTINGS)
@given(data=st.data())
def test_compress_matches_numpy(shape, length, axis, data) -> None:
    x = data.draw(_small_ints(shape))
    cond = data.draw(hnp.arrays(np.bool_, (length,)))
    got = _compress(shape, length, axis).run({"x": x, "cond": cond})[0]
    np.testing.assert_array_equal(got, np.compress(cond, x, axis=axis))


NMS_INPUTS = [
    ("boxes", F, [2, 5, 4]),
    ("scores", F, [2, 2, 5]),
    ("max_out", I64, [1]),
    ("iou", F, [1]),
    ("score", F, [1]),
]


@cache
def _nms(center: int):
    m = _model(
        helper.make_node(
            "NonMaxSuppression",
            ["boxes", "scores", "max_out", "iou", "score"],
            ["y"],
            center_point_box=center,
        ),
        NMS_INPUTS,
        [("y", I64, ["n", 3])],
    )
    ort = pytest.importorskip("onnxruntime")
    return xtvm.build(xtvm.from_onnx(m)), ort.InferenceSession(m.SerializeToString())


def _strip_boxes(center: int):
    """Boxes along one strip, so partial overlaps (and chains of suppression) are common."""
    corner = st.tuples(st.integers(0, 1), st.integers(0, 5), st.integers(1, 3))

    def box(t: tuple[int, int, int]) -> list[float]:
        y, x, w = t
        if center:
            return [x + w / 2, y + 1.0, float(w), 2.0]
        return [float(y), float(x), y + 2.0, float(x + w)]

    return st.lists(corner.map(box), min_size=10, max_size=10).map(
        lambda b: np.array(b, np.float32).reshape(2, 5, 4)
    )


def _check_nms(center: int, feeds: dict[str, np.ndarray]) -> None:
    lib, sess = _nms(center)
    np.testing.assert_array_equal(lib.run(feeds)[0], sess.run(None, feeds)[0])


def test_nms_chain_of_suppressions() -> None:
    # A suppresses B, B would suppress C, A does not touch C: greedy keeps A and C
    boxes = np.zeros((2, 5, 4), np.float32)
    boxes[0, :3] = [[0, 0, 2, 2], [0, 1, 2, 3], [0, 2, 2, 4]]
    boxes[0, 3:] = [[5, 5, 6, 6], [5, 5, 6, 6]]
    scores = np.zeros((2, 2, 5), np.float32)
    scores[0, 0] = [0.9, 0.8, 0.7, 0.6, 0.5]
    feeds = {
        "boxes": boxes,
        "scores": scores,
        "max_out": np.array([5], np.int64),
        "iou": np.array([0.3], np.float32),
        "score": np.array([0.1], np.float32),
    }
    _check_nms(0, feeds)


@pytest.mark.parametrize("center", [0, 1])
@settings(**SETTINGS)
@given(data=st.data())
def test_nms_matches_onnxruntime(center, data) -> None:
    boxes = data.draw(_strip_boxes(center))
    levels = st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9])
    scores = data.draw(hnp.arrays(np.float32, (2, 2, 5), elements=levels))
    feeds = {
        "boxes": boxes,
        "scores": scores,
        "max_out": np.array([data.draw(st.integers(0, 6))], np.int64),
        "iou": np.array([data.draw(st.sampled_from([0.0, 0.2, 0.3, 0.5]))], np.float32),
        "score": np.array([data.draw(st.sampled_from([0.0, 0.4]))], np.float32),
    }
    _check_nms(center, feeds)
