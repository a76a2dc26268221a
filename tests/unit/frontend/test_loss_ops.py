"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: compiled xtvm output equals a numpy
reference written from the ONNX spec and onnxruntime's, over random shapes, reductions,
weights and ignore_index values (including ones outside [0, C))."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import xtvm
from xtvm.errors import ModelError

ATTRS = ("reduction", "ignore_index")


def loss_model(
    op: str, x_shape: tuple[int, ...], weighted: bool, log_prob: bool, dtype: int, **attrs
) -> onnx.ModelProto:
    """One loss node over graph inputs x, t (int64) and optionally w."""
    c = x_shape[1]
    inputs = [
        helper.make_tensor_value_info("x", dtype, list(x_shape)),
        helper.make_tensor_value_info("t", TensorProto.INT64, [x_shape[0], *x_shape[2:]]),
    ]
    if weighted:
        inputs.append(helper.make_tensor_value_info("w", dtype, [c]))
    outs = ["loss", "log_prob"] if log_prob else ["loss"]
    node = helper.make_node(op, [i.name for i in inputs], outs, **attrs)
    graph = helper.make_graph(
        [node], "g", inputs, [helper.make_empty_tensor_value_info(o) for o in outs]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model


def reference(
    logp: np.ndarray, t: np.ndarray, w: np.ndarray | None, reduction: str, ii: int | None
) -> np.ndarray:
    """The spec's function body in numpy: ignored elements carry no loss and no weight."""
    keep = np.ones(t.shape, bool) if ii is None else t != ii
    safe = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    weight = np.ones(t.shape, logp.dtype) if w is None else w[safe]
    weight = np.where(keep, weight, 0).astype(logp.dtype)
    loss = np.where(keep, -picked * weight, 0).astype(logp.dtype)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum(), logp.dtype)
    return np.asarray(loss.sum() / weight.sum(), logp.dtype)


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@st.composite
def loss_cases(draw: st.DrawFn) -> dict:
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
    ii = draw(st.one_of(st.none(), st.sampled_from([-1, 0, 1, c, 7])))
    seed = draw(st.integers(0, 2**16))
    return {
        "op": draw(st.sampled_from(["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"])),
        "shape": (n, c, *spatial),
        "reduction": draw(st.sampled_from(["none", "sum", "mean"])),
        "ignore_index": ii,
        "weighted": draw(st.booleans()),
        "float64": draw(st.booleans()),
        "seed": seed,
    }


# no shrinking: every example compiles a model, and a shrink would take many minutes
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(loss_cases())
def test_loss_matches_reference_and_onnxruntime(case: dict) -> None:
    rng = np.random.default_rng(case["seed"])
    dtype = np.float64 if case["float64"] else np.float32
    shape, ii = case["shape"], case["ignore_index"]
    x = rng.standard_normal(shape).astype(dtype)
    t = rng.integers(0, shape[1], (shape[0], *shape[2:])).astype(np.int64)
    if ii is not None:
        t = np.where(rng.random(t.shape) < 0.3, ii, t)
        t.reshape(-1)[0] = 0 if ii != 0 else 1 % shape[1]  # keep one element: no 0/0
        if shape[1] == 1 and ii == 0:
            t.reshape(-1)[0] = 0  # one class and it is ignored: every element is ignored
    feeds = {"x": x, "t": t}
    if case["weighted"]:
        feeds["w"] = rng.uniform(0.5, 2.0, shape[1]).astype(dtype)
    sce = case["op"] == "SoftmaxCrossEntropyLoss"
    attrs = {"reduction": case["reduction"]}
    if ii is not None:
        attrs["ignore_index"] = ii
    onnx_type = TensorProto.DOUBLE if case["float64"] else TensorProto.FLOAT
    model = loss_model(case["op"], shape, case["weighted"], sce, onnx_type, **attrs)
    got = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})).run(feeds)
    logp = log_softmax(x) if sce else x
    want = [reference(logp, t, feeds.get("w"), case["reduction"], ii)]
    if sce:
        want.append(logp)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_out = sess.run(None, feeds)
    tol = {"rtol": 1e-5, "atol": 1e-6}
    for g, w, o in zip(got, want, ort_out):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, **tol)
        np.testing.assert_allclose(g, o, **tol)


def test_every_element_ignored_gives_nan_mean() -> None:
    model = loss_model(
        "NegativeLogLikelihoodLoss",
        (2, 3),
        False,
        False,
        TensorProto.FLOAT,
        reduction="mean",
        ignore_index=1,
    )
    feeds = {"x": np.zeros((2, 3), np.float32), "t": np.array([1, 1], np.int64)}
    (got,) = xtvm.build(xtvm.from_onnx(model, {"x": (2, 3), "t": (2,)})).run(feeds)
    assert np.isnan(got)


@pytest.mark.parametrize(
    ("attrs", "t_shape", "message"),
    [
        ({"reduction": "avg"}, [2], "reduction='avg'"),
        ({}, [3], "target shape [3] must be [2]"),
    ],
)
def test_bad_loss_operands_are_model_errors(attrs: dict, t_shape: list, message: str) -> None:
    graph = helper.make_graph(
        [helper.make_node("NegativeLogLikelihoodLoss", ["x", "t"], ["y"], **attrs)],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]),
            helper.make_tensor_value_info("t", TensorProto.INT64, t_shape),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(
        ModelError, match="NegativeLogLikelihoodLoss.*" + message.replace("[", r"\[")
    ):
        xtvm.from_onnx(model, {"x": (2, 4), "t": tuple(t_shape)})
