"""Resize with antialias=1 (opset 18): compiled xtvm output equals onnxruntime's over random
4-D shapes (onnxruntime's cubic takes no other rank), scales or sizes (down- and upsampling),
modes and coordinate transformations."""

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
from xtvm.frontend.onnx.converters.resize_antialias import antialias_matrix

COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"]


def resize_model(shape: tuple[int, ...], scales=None, sizes=None, **attrs) -> onnx.ModelProto:
    """Resize of graph input x with constant scales or sizes."""
    inits, ins = [], ["x", ""]
    if scales is not None:
        inits.append(helper.make_tensor("scales", TensorProto.FLOAT, [len(scales)], scales))
        ins.append("scales")
    else:
        inits.append(helper.make_tensor("sizes", TensorProto.INT64, [len(sizes)], sizes))
        ins += ["", "sizes"]
    graph = helper.make_graph(
        [helper.make_node("Resize", ins, ["y"], antialias=1, **attrs)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return onnx.shape_inference.infer_shapes(model)


def run_both(model: onnx.ModelProto, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {"x": x})
    del model.graph.output[0].type.tensor_type.shape.dim[:]
    for n in want.shape:
        model.graph.output[0].type.tensor_type.shape.dim.add().dim_value = n
    (got,) = xtvm.build(xtvm.from_onnx(model, {"x": x.shape})).run({"x": x})
    return got, want


# no shrinking: every example compiles a model, and a shrink would take many minutes
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    st.tuples(st.just(1), st.integers(1, 2), st.integers(4, 12), st.integers(4, 12)),
    st.lists(st.sampled_from([0.25, 0.3, 0.5, 0.6, 0.75, 1.0, 1.5, 2.0]), min_size=2, max_size=2),
    st.sampled_from(["linear", "cubic"]),
    st.sampled_from(COORDS),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_antialias_matches_onnxruntime(
    shape, scales, mode, coord, exclude, use_sizes, seed
) -> None:
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    attrs = {"mode": mode, "coordinate_transformation_mode": coord, "exclude_outside": int(exclude)}
    if mode == "cubic":
        attrs["cubic_coeff_a"] = -0.5 if exclude else -0.75
    if use_sizes:
        sizes = [*shape[:2]] + [int(n * s) for n, s in zip(shape[2:], scales)]
        model = resize_model(shape, sizes=sizes, **attrs)
    else:
        model = resize_model(shape, scales=[1.0, 1.0, *scales], **attrs)
    got, want = run_both(model, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_antialias_widens_the_filter_when_downsampling() -> None:
    """Halving with the triangle filter blends 4 inputs per output (2 without antialias)."""
    w = antialias_matrix("linear", "half_pixel", 8, 4, 0.5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert (np.count_nonzero(w, axis=1)[1:-1] == 4).all()
    np.testing.assert_allclose(w[1, 1:5], [1 / 8, 3 / 8, 3 / 8, 1 / 8])


def test_antialias_on_nearest_is_a_model_error() -> None:
    model = resize_model((1, 1, 4, 4), scales=[1.0, 1.0, 0.5, 0.5], mode="nearest")
    with pytest.raises(ModelError, match=r"Resize.*antialias=1 applies to linear and cubic"):
        xtvm.from_onnx(model, {"x": (1, 1, 4, 4)})
