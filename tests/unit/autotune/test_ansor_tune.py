"""End to end: ``tune(..., tuner="ansor")`` tunes every kernel with a reduction (with a
template or not) from its compute alone, writes records, and a build with those records
applies them and computes the right thing."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import xtvm
from xtvm.autotune.dispatch import TEMPLATE_FREE_KEY
from xtvm.autotune.records import load_records
from xtvm.autotune.task import extract_tasks
from xtvm.autotune.tune import tune


def model() -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """``softmax(relu(x @ w.T + b))``: a templated dense and a softmax (no knobs)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((24, 32)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1),
        helper.make_node("Relu", ["g"], ["r"]),
        helper.make_node("Softmax", ["r"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 24])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), w, b


def test_template_free_extraction_adds_reduction_kernels() -> None:
    m, _, _ = model()
    mod = xtvm.from_onnx(m)
    plain = extract_tasks(mod, profile=False)
    free = extract_tasks(mod, profile=False, template_free=True)
    assert len(free) >= len(plain) >= 1
    assert all(t.text for t in free)


def test_tune_ansor_writes_records_the_build_applies(tmp_path) -> None:
    m, w, b = model()
    mod = xtvm.from_onnx(m)
    path = tmp_path / "r.json"
    res = tune(mod, path, tuner="ansor", trials=6, batch_size=3, seed=0)
    assert res.trials == 6
    recs = load_records(path)
    states = [r for r in recs if TEMPLATE_FREE_KEY in r.config and r.tuner != "verify"]
    assert states and all(r.tuner == "ansor" for r in states)
    assert {r.workload for r in states} == {p.task.workload for p in res.tasks}  # all tasks
    x = np.random.default_rng(1).standard_normal((16, 32)).astype(np.float32)
    got = xtvm.build(mod, tuning_records=path)(x=x)
    z = np.maximum(x @ w.T + b, 0.0)
    want = np.exp(z - z.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
