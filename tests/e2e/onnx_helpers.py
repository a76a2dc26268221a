"""Small ONNX graphs built in tests, and their comparison with onnxruntime through one
compiled module (shared by the control-flow tests)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto
from onnx import helper as h

import xtvm
from xtvm.testing.compare import compare_outputs


def vi(name: str, shape: list[int] | None, elt: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return h.make_tensor_value_info(name, elt, shape)


def make_model(nodes, inputs, outputs, inits=(), opset: int = 17) -> onnx.ModelProto:  # noqa: ANN001
    """A checked single-graph model of the default domain at ``opset``."""
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


def compare_with_onnxruntime(
    model: onnx.ModelProto, feeds_list: list[dict[str, np.ndarray]], opt: int = 3
) -> None:
    """Each feed through one compiled module vs onnxruntime (count, shape, dtype, values)."""
    lib = xtvm.build(xtvm.from_onnx(model), opt_level=opt)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for feeds in feeds_list:
        problem = compare_outputs(sess.run(None, feeds), lib.run(feeds), 1e-5, 1e-5)
        assert problem is None, f"{feeds}: {problem}"
