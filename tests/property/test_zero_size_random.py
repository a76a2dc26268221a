"""Zero-size tensors on random shapes: Concat, Slice and reductions whose operands or reduced
axes have 0 elements, compiled with xtvm and compared with numpy and onnxruntime."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ShapeWarning

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REDUCE_OPS = (
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
)


def _model(
    node: onnx.NodeProto, feed: dict[str, np.ndarray], consts: dict[str, np.ndarray], rank: int
) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in feed.items()]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["?"] * rank)
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    graph = helper.make_graph([node], "g", ins, [out], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _run(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(xtvm's output, onnxruntime's output)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShapeWarning)
        mod = xtvm.from_onnx(model, {k: v.shape for k, v in feed.items()})
    got = xtvm.build(mod, opt_level=2).run(feed)[0]
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return got, sess.run(None, feed)[0]


def _data(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape).astype(np.float32)


@st.composite
def concat_cases(draw: st.DrawFn) -> tuple[int, list[tuple[int, ...]]]:
    rank = draw(st.integers(1, 3))
    axis = draw(st.integers(0, rank - 1))
    base = [draw(st.integers(1, 3)) for _ in range(rank)]
    n = draw(st.integers(2, 4))
    lengths = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return axis, [tuple(base[:axis] + [k] + base[axis + 1 :]) for k in lengths]


@settings(max_examples=12, **SETTINGS)
@given(concat_cases(), st.integers(0, 2**16))
def test_concat_with_empty_operands(case: tuple[int, list[tuple[int, ...]]], seed: int) -> None:
    axis, shapes = case
    rng = np.random.default_rng(seed)
    feed = {f"x{i}": _data(rng, s) for i, s in enumerate(shapes)}
    node = helper.make_node("Concat", list(feed), ["y"], axis=axis)
    got, want = _run(_model(node, feed, {}, len(shapes[0])), feed)
    np.testing.assert_array_equal(got, np.concatenate(list(feed.values()), axis=axis))
    np.testing.assert_array_equal(got, want)


@st.composite
def slice_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], list[int], list[int], list[int]]:
    shape = tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(1, 3))))
    starts, ends, steps = [], [], []
    for _ in shape:
        starts.append(draw(st.integers(-6, 6)))
        ends.append(draw(st.integers(-6, 6)))
        steps.append(draw(st.sampled_from([1, 2, -1, -2])))
    return shape, starts, ends, steps


@settings(max_examples=15, **SETTINGS)
@given(slice_cases(), st.integers(0, 2**16))
def test_slice_to_or_from_empty(case: tuple, seed: int) -> None:
    """Starts and ends drawn around the dims' bounds: many slices select nothing."""
    shape, starts, ends, steps = case
    feed = {"x": _data(np.random.default_rng(seed), shape)}
    consts = {
        "s": np.array(starts, np.int64),
        "e": np.array(ends, np.int64),
        "a": np.arange(len(shape), dtype=np.int64),
        "t": np.array(steps, np.int64),
    }
    node = helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])
    got, want = _run(_model(node, feed, consts, len(shape)), feed)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@st.composite
def reduce_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], list[int], int]:
    rank = draw(st.integers(1, 3))
    axes = sorted(draw(st.sets(st.integers(0, rank - 1), min_size=1)))
    # at least one reduced axis is empty; a kept axis is empty now and then
    empty = draw(st.sampled_from(axes))
    dims = st.one_of(st.integers(1, 3), st.just(0)) if rank > 1 else st.integers(1, 3)
    shape = tuple(0 if d == empty else draw(dims) for d in range(rank))
    return shape, axes, draw(st.integers(0, 1))


@pytest.mark.parametrize("op", REDUCE_OPS)
@settings(max_examples=4, **SETTINGS)
@given(case=reduce_cases(), seed=st.integers(0, 2**16))
def test_reduce_over_empty_axes(op: str, case: tuple[tuple[int, ...], list[int], int], seed: int):
    """The identity of each reduction (onnxruntime's 0 for ReduceMean)."""
    shape, axes, keep = case
    feed = {"x": _data(np.random.default_rng(seed), shape)}
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keep)
    rank = len(shape) if keep else len(shape) - len(axes)
    got, want = _run(_model(node, feed, {"axes": np.array(axes, np.int64)}, rank), feed)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
