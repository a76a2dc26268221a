"""Realistic model families (xtvm.testing.model_zoo, "tiny" size) through the whole stack.

Each family is exported the way PyTorch / Paddle write it (symbolic dims, unfolded
BatchNormalization, Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains); binding the
symbolic dims through ``shape_dict`` must make it compile, and the result must match
onnxruntime at rtol 1e-3 / atol 1e-4 on random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import xtvm
from xtvm.errors import ShapeError
from xtvm.testing.model_zoo import FAMILIES, make_model, random_inputs

NAMES = sorted(FAMILIES)


@pytest.mark.parametrize("name", NAMES)
def test_family_matches_onnxruntime(name: str, ort_run) -> None:
    model = make_model(name, "tiny")
    lib = xtvm.build(xtvm.from_onnx(model, shape_dict=FAMILIES[name].shape_dict("tiny")))
    for seed in (0, 1):
        feeds = random_inputs(name, "tiny", seed=seed)
        got = lib.run(feeds)
        want = ort_run(model, feeds)
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_family_declares_symbolic_dims(name: str) -> None:
    """The generators really leave the dims symbolic that the family says it does."""
    graph_inputs = {vi.name: vi for vi in make_model(name, "tiny").graph.input}
    for input_name, axis, param in FAMILIES[name].symbolic:
        dim = graph_inputs[input_name].type.tensor_type.shape.dim[axis]
        assert dim.dim_param == param and not dim.HasField("dim_value")


# op patterns each generator must keep emitting, since they are what the family is here to test
EXPORTER_PATTERNS = {
    "resnet18_like": {"BatchNormalization", "MaxPool", "Shape", "Gather", "Unsqueeze", "Concat"},
    "mobilenetv2_like": {"Clip", "Conv", "BatchNormalization", "Flatten", "Gemm"},
    "yolo_like": {"Sigmoid", "Mul", "Resize", "MaxPool", "Split", "Pow", "Transpose", "Shape"},
    "dbnet_like": {"Resize", "ConvTranspose", "Sigmoid", "Slice", "Shape"},
    "crnn_like": {"LSTM", "ConstantOfShape", "Squeeze", "Transpose", "LogSoftmax", "MatMul"},
    "svtr_like": {"LayerNormalization", "Erf", "Softmax", "HardSwish", "ReduceMean", "Slice"},
    "bert_like": {"Range", "Expand", "Cast", "ReduceMean", "Sqrt", "Pow", "Erf", "Tanh", "Gemm"},
}


@pytest.mark.parametrize("name", NAMES)
def test_family_uses_exporter_patterns(name: str) -> None:
    ops = {node.op_type for node in make_model(name, "tiny").graph.node}
    assert EXPORTER_PATTERNS[name] <= ops


@pytest.mark.parametrize("name", NAMES)
def test_unbound_symbolic_dim_is_a_one_line_shape_error(name: str) -> None:
    model = make_model(name, "tiny")
    first_input, _, param = FAMILIES[name].symbolic[0]
    with pytest.raises(ShapeError) as info:
        xtvm.from_onnx(model, shape_dict={})
    message = str(info.value)
    assert "\n" not in message
    assert f"'{first_input}'" in message and f"'{param}'" in message
