"""A fast sample of the ONNX node-test conformance run, and the runner's own machinery.

The full run is ``python -m xtvm.testing.conformance`` (docs/onnx-support.md); here a few
cases known to pass must keep passing, each compiled in a forked worker exactly as there.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

from xtvm.testing.cases import Case, load_cases
from xtvm.testing.compare import compare_outputs
from xtvm.testing.conformance import run_conformance
from xtvm.testing.fair import exclusion
from xtvm.testing.isolate import CRASH, TIMEOUT, run_isolated
from xtvm.testing.shape_operands import case_shape_operands, constant_values, freeze_inputs

# Cases that pass today (mode a), one or two per supported op; importing only their
# modules under onnx.backend.test.case.node keeps loading under a second.
KNOWN_PASSING = {
    "relu": ["test_relu"],
    "add": ["test_add_bcast"],
    "sub": ["test_sub_bcast"],
    "gemm": ["test_gemm_transposeA", "test_gemm_default_vector_bias"],
    "matmul": ["test_matmul_3d"],
    "softmax": ["test_softmax_axis_1"],
    "concat": ["test_concat_2d_axis_negative_1"],
    "sigmoid": ["test_sigmoid"],
    "batch_normalization": ["test_batchnorm_epsilon"],
    "max": ["test_max_two_inputs"],
    "conv": ["test_conv_with_strides_padding"],
    "maxpool": ["test_maxpool_2d_pads"],
    "gather": ["test_gather_negative_indices"],
    "layernormalization": ["test_layer_normalization_4d_axis1"],
    "lstm": ["test_lstm_defaults"],
    "lpnormalization": ["test_l2normalization_axis_0"],
    "attention": ["test_attention_4d_gqa"],
    "where": ["test_where_example"],
    "cast": ["test_cast_FLOAT_to_DOUBLE"],
    "einsum": ["test_einsum_batch_matmul"],
    "gelu": ["test_gelu_tanh_1"],
    "gridsample": ["test_gridsample_bilinear"],
    "dequantizelinear": ["test_dequantizelinear"],
    "bitshift": ["test_bitshift_right_uint8"],
    "trilu": ["test_triu"],
}
# Pass only once their shape operands (graph inputs) are frozen into initializers (mode b).
KNOWN_PASSING_MODE_B = {
    "reshape": ["test_reshape_negative_dim"],
    "tile": ["test_tile"],
    "slice": ["test_slice_neg_steps"],
}


def _load(table: dict[str, list[str]]) -> list[Case]:
    return load_cases(names=[n for names in table.values() for n in names], modules=list(table))


def test_known_passing_sample() -> None:
    cases = _load(KNOWN_PASSING)
    results = run_conformance(cases, jobs=2, timeout=60, modes=("a",))
    bad = {r["name"]: f"{r['a']['status']}: {r['a']['message']}" for r in results}
    bad = {k: v for k, v in bad.items() if not v.startswith("pass")}
    assert not bad, bad
    assert all(r["fair"] for r in results)


def test_mode_b_freezes_shape_operands() -> None:
    results = {
        r["name"]: r for r in run_conformance(_load(KNOWN_PASSING_MODE_B), jobs=2, timeout=60)
    }
    assert results["test_reshape_negative_dim"]["b_frozen"] == ["shape"]
    for r in results.values():
        assert r["a"]["status"] != "pass"  # shape operands as run-time inputs: not compiled
        assert r["b"]["status"] == "pass", (r["name"], r["b"]["message"])


def _ok() -> int:
    return 42


def _raise() -> None:
    raise ValueError("bad\nsecond line")


def _sleep() -> None:
    time.sleep(30)


def test_isolation_reports_crashes_and_timeouts() -> None:
    tasks = [("ok", _ok, ()), ("abort", os.abort, ()), ("raise", _raise, ()), ("hang", _sleep, ())]
    start = time.perf_counter()
    out = {o.key: o for o in run_isolated(iter(tasks), jobs=2, timeout=1.0)}
    assert time.perf_counter() - start < 10
    assert out["ok"].status is None and out["ok"].value == 42
    assert out["abort"].status == CRASH and "SIGABRT" in out["abort"].message
    assert out["raise"].status == CRASH
    assert "ValueError" in out["raise"].message and "second line" not in out["raise"].message
    assert out["hang"].status == TIMEOUT


def _aborting_check(case: Case, use_cache: bool) -> dict:
    os.abort()


def test_a_crashing_case_does_not_stop_the_run() -> None:
    cases = _load({"relu": ["test_relu"], "add": ["test_add"]})
    results = run_conformance(cases, jobs=2, timeout=30, modes=("a",), check=_aborting_check)
    assert [r["a"]["status"] for r in results] == ["crash", "crash"]
    assert "SIGABRT" in results[0]["a"]["message"]


def test_frozen_model_matches_reference() -> None:
    (case,) = load_cases(names=["test_reshape_reordered_all_dims"], modules=["reshape"])
    names = case_shape_operands(case)
    assert names == ["shape"]
    values = constant_values(case, names)
    assert values is not None
    frozen = freeze_inputs(case, values)
    assert [v.name for v in frozen.model.graph.input] == ["data"]
    ((inputs, expected),) = frozen.data_sets
    got = ReferenceEvaluator(frozen.model).run(None, dict(zip(frozen.input_names, inputs)))
    assert compare_outputs(expected, got, case.rtol, case.atol) is None


def test_varying_shape_operands_are_not_frozen() -> None:
    (case,) = load_cases(names=["test_reshape_reordered_all_dims"], modules=["reshape"])
    ((inputs, outputs),) = case.data_sets
    other = [inputs[0], np.array([1, -1], dtype=np.int64)]
    varied = Case(case.name, case.model, [(inputs, outputs), (other, outputs)], 1e-3, 1e-7)
    assert constant_values(varied, ["shape"]) is None


@pytest.mark.parametrize(
    ("name", "module", "rule"),
    [
        ("test_relu", "relu", None),
        ("test_training_dropout", "dropout", "training"),
        ("test_max_float16", "max", None),
        ("test_cast_FLOAT_to_FLOAT8E4M3FN", "cast", "dtype"),
        ("test_nllloss_NC", "negativeloglikelihoodloss", None),
        ("test_bernoulli", "bernoulli", "random"),
        ("test_adagrad", "adagrad", "training"),
    ],
)
def test_fair_subset_rules(name: str, module: str, rule: str | None) -> None:
    (case,) = load_cases(names=[name], modules=[module])
    found = exclusion(case)
    assert (found[0] if found else None) == rule


def test_expanded_case_counts_under_its_op() -> None:
    cases = load_cases(
        names=["test_softmax_axis_0", "test_softmax_axis_0_expanded"], modules=["softmax"]
    )
    assert cases[1].model.graph.node[0].op_type != "Softmax"
    assert [c.op_type for c in cases] == ["Softmax", "Softmax"]


def test_compare_outputs_rules() -> None:
    import ml_dtypes

    half = np.array([1.0, np.nan, 3.0], dtype=ml_dtypes.bfloat16)
    assert compare_outputs([half], [half.copy()], 1e-3, 1e-7) is None
    assert "2/3 elements differ" in compare_outputs([half], [half * 2], 1e-3, 1e-7)
    x = np.array([1.0, np.nan, 3.0], dtype=np.float32)
    assert compare_outputs([x], [x.copy()], 1e-3, 1e-7) is None  # NaN equals NaN
    assert "dtype float64" in compare_outputs([x], [x.astype(np.float64)], 1e-3, 1e-7)
    off = np.array([0, 0, 0.01], dtype=np.float32)
    assert "1/3 elements differ" in compare_outputs([x], [x + off], 1e-3, 1e-7)
    assert compare_outputs([x], [x + off / 5], 1e-3, 1e-7) is None  # within rtol
    assert "shape" in compare_outputs([x], [x[:2]], 1e-3, 1e-7)
    assert "2 outputs" in compare_outputs([x], [x, x], 1e-3, 1e-7)
    b = np.array([True, False])
    assert "1/2" in compare_outputs([b], [np.array([True, True])], 0, 0)
