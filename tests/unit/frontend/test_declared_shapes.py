"""Declared shapes are hints, as onnxruntime treats them: ``?``/empty dim names are
independent unknowns, the user's shapes win, wrong declared output shapes only warn."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import xtvm
from xtvm.errors import ShapeError, ShapeWarning

Dims = Sequence[int | str | None]


def _value_info(name: str, dims: Dims) -> onnx.ValueInfoProto:
    """A float tensor value; None leaves a dim with neither dim_value nor dim_param."""
    vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, [1] * len(dims))
    shape = vi.type.tensor_type.shape
    for d, spec in zip(shape.dim, dims):
        d.Clear()
        if isinstance(spec, int):
            d.dim_value = spec
        elif isinstance(spec, str):
            d.dim_param = spec
    return vi


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, Dims], outputs: dict[str, Dims]):
    graph = helper.make_graph(
        nodes,
        "g",
        [_value_info(n, d) for n, d in inputs.items()],
        [_value_info(n, d) for n, d in outputs.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _compare(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Compile with the feed's shapes; assert every output matches onnxruntime's."""
    lib = xtvm.build(xtvm.from_onnx(model, {k: v.shape for k, v in feed.items()}))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got, want = lib.run(feed), sess.run(None, feed)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    return got


def _pool_model(dims: Dims) -> onnx.ModelProto:
    """Conv + ReduceMean over H and W: the output depends on both unknown spatial dims."""
    w = helper.make_tensor(
        "w", TensorProto.FLOAT, [4, 3, 3, 3], np.linspace(-1, 1, 108, dtype=np.float32)
    )
    nodes = [
        helper.make_node("Constant", [], ["wc"], value=w),
        helper.make_node("Conv", ["x", "wc"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("ReduceMean", ["c"], ["y"], axes=[2, 3], keepdims=0),
    ]
    return _model(nodes, {"x": dims}, {"y": [dims[0], 4]})


@pytest.mark.parametrize(
    "dims",
    [[-1, 3, "?", "?"], [None, 3, None, None], [-1, 3, "", ""], ["?", 3, "h", "w"]],
    ids=["question-marks", "no-dim-param", "empty-names", "named"],
)
def test_anonymous_dims_are_independent(dims: Dims) -> None:
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 6, 10)).astype(np.float32)
    assert _compare(_pool_model(dims), {"x": x})[0].shape == (2, 4)


def test_unbound_question_mark_names_input_and_dim() -> None:
    with pytest.raises(ShapeError, match=r"input 'x' has unresolved dim 2"):
        xtvm.from_onnx(_pool_model([1, 3, "?", "?"]))


def test_named_dim_binds_every_input() -> None:
    model = _model(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        {"a": ["batch", 4], "b": ["batch", 4]},
        {"y": ["batch", 4]},
    )
    mod = xtvm.from_onnx(model, {"a": [3, 4]})  # b's batch comes from a
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(2))
    np.testing.assert_allclose(xtvm.build(mod)(a=a, b=b), a + b, rtol=1e-6)
    with pytest.raises(ShapeError, match="'batch' is bound to both 3 and 5"):
        xtvm.from_onnx(model, {"a": [3, 4], "b": [5, 4]})


def test_user_shape_contradicting_fixed_dim_is_an_error() -> None:
    # onnxruntime rejects such inputs too ("Got invalid dimensions")
    with pytest.raises(ShapeError, match=r"shape_dict\['x'\].*fixed dim 1 = 3"):
        xtvm.from_onnx(_pool_model([1, 3, "?", "?"]), {"x": [1, 4, 8, 8]})


def test_declared_zero_dim_is_fixed() -> None:
    # onnxruntime: "Got invalid dimensions for input: x ... Got: 2 Expected: 0"
    model = _model([helper.make_node("Relu", ["x"], ["y"])], {"x": [0, 5]}, {"y": [0, 5]})
    with pytest.raises(ShapeError, match=r"shape_dict\['x'\].*fixed dim 0 = 0"):
        xtvm.from_onnx(model, {"x": [2, 5]})
    assert _compare(model, {"x": np.zeros((0, 5), np.float32)})[0].shape == (0, 5)


@pytest.mark.parametrize(
    "declared",
    [[1, "?"], [3, 2], [6], [2, 3, 1]],
    ids=["stale-batch", "swapped", "rank-lower", "rank-higher"],
)
def test_wrong_declared_output_shape_warns(declared: Dims) -> None:
    """A CNN+LSTM recognizer declares [1, ?] and computes [32, 1, 8210]: onnxruntime warns
    and runs, and so does xtvm, with the computed shape."""
    model = _model(
        [helper.make_node("Transpose", ["x"], ["t"]), helper.make_node("Tanh", ["t"], ["y"])],
        {"x": [3, 2]},
        {"y": declared},
    )
    x = np.linspace(-2, 2, 6, dtype=np.float32).reshape(3, 2)
    with pytest.warns(ShapeWarning, match=r"'y' is declared .* but computes \[2, 3\]"):
        got = _compare(model, {"x": x})
    assert got[0].shape == (2, 3)


def test_matching_declared_output_shape_does_not_warn() -> None:
    model = _pool_model(["n", 3, "?", "?"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShapeWarning)
        xtvm.from_onnx(model, {"x": [2, 3, 5, 5]}).verify()


def _shapeless(model: onnx.ModelProto, *names: str) -> onnx.ModelProto:
    """``model`` with the named graph inputs/outputs declaring no shape at all."""
    for vi in [*model.graph.input, *model.graph.output]:
        if vi.name in names:
            vi.type.tensor_type.ClearField("shape")
    return model


def test_values_declaring_no_shape() -> None:
    """The ONNX checker wants a shape on every graph input and output; onnxruntime does not,
    and exporters omit output shapes. An input without one needs shape_dict."""
    model = _shapeless(_pool_model([2, 3, 6, 6]), "x", "y")
    x = np.random.default_rng(2).uniform(-1, 1, (2, 3, 6, 6)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShapeWarning)
        assert _compare(model, {"x": x})[0].shape == (2, 4)
    assert not model.graph.output[0].type.tensor_type.HasField("shape")  # restored
    with pytest.raises(ShapeError, match="input 'x' declares no shape; give it with shape_dict"):
        xtvm.from_onnx(model)


def test_cli_says_the_shape_warning_in_one_line(tmp_path) -> None:
    """``xtvm compile`` prints ``warning: ...`` (no source line) and succeeds."""
    model = _model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, {"y": [1, "?"]})
    onnx.save(model, tmp_path / "m.onnx")
    proc = subprocess.run(
        [sys.executable, "-m", "xtvm.cli.main", "compile", str(tmp_path / "m.onnx")]
        + ["-O0", "-o", str(tmp_path / "m.so")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "warning: graph output shape mismatch (the computed shapes are used): "
        "'y' is declared [1, ?] but computes [2, 3]"
    ]
