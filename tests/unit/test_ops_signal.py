"""Signal family (DFT, STFT): compiled code matches onnxruntime.

Each test builds one ONNX model whose node variants are independent outputs, so the whole
group compiles once.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.errors import ModelError
from xtvm.frontend.onnx.converters.signal import dft_matrix
from xtvm.testing.onnx_check import check_model
from xtvm.testing.onnx_check import float_model as _model

RNG = np.random.default_rng(0)
F = TensorProto.FLOAT


def _check(model, feeds, rtol=1e-4, atol=1e-5):
    check_model(model, feeds, rtol=rtol, atol=atol, evaluate=False)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_dft_matrix_matches_numpy_fft() -> None:
    x = RNG.standard_normal(6) + 1j * RNG.standard_normal(6)
    xin = np.stack([x.real, x.imag], -1).reshape(-1)
    w, k, _ = dft_matrix(6, 2, 8, inverse=False, onesided=False)  # zero-padded to 8
    y = (w @ xin).reshape(k, 2)
    np.testing.assert_allclose(y[:, 0] + 1j * y[:, 1], np.fft.fft(x, 8), atol=1e-12)
    w, k, _ = dft_matrix(6, 2, 4, inverse=True, onesided=False)  # truncated to 4
    y = (w @ xin).reshape(k, 2)
    np.testing.assert_allclose(y[:, 0] + 1j * y[:, 1], np.fft.ifft(x, 4), atol=1e-12)
    w, k, c = dft_matrix(4, 2, 6, inverse=True, onesided=True)
    spec = np.fft.rfft(RNG.standard_normal(6))
    sin = np.stack([spec.real, spec.imag], -1).reshape(-1)
    assert c == 1
    np.testing.assert_allclose(w @ sin, np.fft.irfft(spec, 6), atol=1e-12)


def test_dft_opset20_variants() -> None:
    inits = {
        "ax1": np.array(1, np.int64),
        "ax2": np.array(-2, np.int64),
        "n12": np.array(12, np.int64),
        "n6": np.array(6, np.int64),
    }
    nodes = [
        helper.make_node("DFT", ["xr", "", "ax1"], ["fwd"]),
        helper.make_node("DFT", ["xr", "n12", "ax1"], ["rfft"], onesided=1),  # zero-padded
        helper.make_node("DFT", ["xc", "n6", "ax2"], ["inv"], inverse=1),  # truncated
        helper.make_node("DFT", ["xc"], ["cplx"]),  # default axis -2
        helper.make_node("DFT", ["xh", "", "ax1"], ["irfft"], inverse=1, onesided=1),
    ]
    feeds = {"xr": _x(2, 8, 3, 1), "xc": _x(2, 3, 8, 2), "xh": _x(2, 5, 3, 2)}
    shapes = {k: v.shape for k, v in feeds.items()}
    _check(_model(nodes, shapes, ["fwd", "rfft", "inv", "cplx", "irfft"], 20, inits), feeds)


def test_dft_opset17_axis_attribute() -> None:
    nodes = [
        helper.make_node("DFT", ["x"], ["a"]),  # default axis 1
        helper.make_node("DFT", ["x"], ["b"], axis=2, onesided=1),
        helper.make_node("DFT", ["x"], ["c"], axis=-2, inverse=1),
    ]
    feeds = {"x": _x(2, 5, 7, 1)}
    _check(_model(nodes, {"x": (2, 5, 7, 1)}, ["a", "b", "c"], 17), feeds)


def test_stft_window_and_frame_length() -> None:
    inits = {"step": np.array(3, np.int64), "flen": np.array(8, np.int64)}
    nodes = [
        helper.make_node("STFT", ["s", "step", "win"], ["w"]),
        helper.make_node("STFT", ["s", "step", "", "flen"], ["f"]),
        helper.make_node("STFT", ["c", "step", "win"], ["two"], onesided=0),
    ]
    win = np.hanning(8).astype(np.float32)
    feeds = {"s": _x(2, 30, 1), "win": win, "c": _x(1, 20, 2)}
    shapes = {k: v.shape for k, v in feeds.items()}
    model = _model(nodes, shapes, ["w", "f", "two"], 17, inits)
    # onnx's shape inference ignores onesided for STFT; declare the real output shapes
    del model.graph.output[:]
    for name, shape in [("w", [2, 8, 5, 2]), ("f", [2, 8, 5, 2]), ("two", [1, 5, 8, 2])]:
        model.graph.output.append(helper.make_tensor_value_info(name, F, shape))
    _check(model, feeds)


@pytest.mark.parametrize(
    ("node", "match"),
    [
        (helper.make_node("DFT", ["x"], ["y"], axis=3), "last"),
        (helper.make_node("STFT", ["x", "step"], ["y"]), "frame_length"),
    ],
)
def test_signal_errors_name_the_node(node: onnx.NodeProto, match: str) -> None:
    inits = {"step": np.array(2, np.int64)}
    shape = [1, 8, 1] if node.op_type == "STFT" else [1, 4, 8, 1]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", F, shape)],
        [helper.make_tensor_value_info("y", F, [1])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ModelError, match=match) as e:
        xtvm.from_onnx(model, {})
    assert node.op_type in str(e.value)
