"""Helpers for operator tests: a one-graph float model, and a check of xtvm against a reference.

Shared by the ``tests/unit/test_ops_*.py`` files so that each compares the same way: every
output of the compiled module (and, optionally, of the relay numpy evaluator) against
onnxruntime or onnx's ``ReferenceEvaluator`` (for opsets onnxruntime lacks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def float_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: dict[str, tuple[int, ...]],
    outputs: Sequence[str],
    opset: int,
    inits: dict[str, np.ndarray] | None = None,
    ir_version: int = 8,
) -> onnx.ModelProto:
    """float32 inputs/outputs; output shapes from ONNX shape inference (the importer wants them)."""
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir_version
    return onnx.shape_inference.infer_shapes(m)


def check_model(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    rtol: float = 1e-4,
    atol: float = 1e-5,
    reference: bool = False,
    evaluate: bool = True,
) -> None:
    """Compile ``model`` with xtvm and compare each output (shape and values) with onnxruntime,
    or with onnx's reference evaluator when ``reference``; with ``evaluate`` the relay numpy
    evaluator's results are checked too."""
    from xdsl.dialects import func

    import xtvm
    from xtvm.passes.relay.evaluate import evaluate_function

    if reference:
        from onnx.reference import ReferenceEvaluator

        want = ReferenceEvaluator(model).run(None, feeds)
    else:
        import onnxruntime as ort

        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        want = sess.run(None, feeds)
    mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
    evaluated: list[np.ndarray | None] = [None] * len(want)
    if evaluate:
        main = next(op for op in mod.ops if isinstance(op, func.FuncOp))
        evaluated = list(evaluate_function(main, list(feeds.values())))
    got = xtvm.build(mod).run(feeds)
    for out, w, g, e in zip(model.graph.output, want, got, evaluated):
        assert g.shape == np.shape(w), (out.name, g.shape, np.shape(w))
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"compiled {out.name}")
        if e is not None:
            np.testing.assert_allclose(e, w, rtol=rtol, atol=atol, err_msg=f"evaluated {out.name}")
