"""ONNX ``Loop`` and ``Scan``: runtime trip counts and conditions compile to a real loop in the
entry (several trip counts from one compiled module match onnxruntime); small constant loops
are unrolled at import; Scan slices its inputs at the iteration."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx_helpers import compare_with_onnxruntime as _compare  # noqa: E402
from onnx_helpers import make_model as _model  # noqa: E402
from onnx_helpers import vi as _vi  # noqa: E402

import xtvm
from xtvm.dialects import relay
from xtvm.errors import ModelError, UnsupportedOperatorError
from xtvm.frontend.onnx.converters.loop import UNROLL_LIMIT

F = T.FLOAT
RNG = np.random.default_rng(0)


def _loops(model: onnx.ModelProto) -> list[relay.LoopOp]:
    return [o for o in xtvm.from_onnx(model).walk() if isinstance(o, relay.LoopOp)]


def _body(early: bool, scan: bool, extra: list[onnx.NodeProto] = ()) -> onnx.GraphProto:
    """``y = y * 0.5 + x + iter``; with ``early`` it stops once ``sum(y) >= limit`` (both x
    and limit are outer-scope names)."""
    cond = (
        h.make_node("Less", ["s", "limit"], ["c_out"])
        if early
        else h.make_node("Identity", ["c_in"], ["c_out"])
    )
    nodes = [
        h.make_node("Cast", ["i"], ["fi"], to=F),
        h.make_node("Mul", ["y_in", "half"], ["t0"]),
        h.make_node("Add", ["t0", "x"], ["t1"]),
        h.make_node("Add", ["t1", "fi"], ["y_out"]),
        h.make_node("ReduceSum", ["y_out"], ["s"], keepdims=0),
        cond,
        h.make_node("Tanh", ["y_out"], ["row"]),
        *extra,
    ]
    outs = [_vi("c_out", [], T.BOOL), _vi("y_out", [2, 3])]
    if scan:
        outs.append(_vi("row", [2, 3]))
    return h.make_graph(
        nodes,
        "body",
        [_vi("i", [], T.INT64), _vi("c_in", [], T.BOOL), _vi("y_in", [2, 3])],
        outs,
        initializer=[h.make_tensor("half", F, [], [0.5])],
    )


def _loop_model(trip: int | None, cond: bool | None, early: bool, scan: bool = False):
    """A Loop whose trip count / initial condition are initializers, or graph inputs (None)."""
    inputs = [_vi("x", [2, 3]), _vi("y0", [2, 3])]
    inits = [h.make_tensor("limit", F, [], [40.0])]
    if trip is None:
        inputs.append(_vi("M", [], T.INT64))
    else:
        inits.append(h.make_tensor("M", T.INT64, [], [trip]))
    if cond is None:
        inputs.append(_vi("c", [], T.BOOL))
    else:
        inits.append(h.make_tensor("c", T.BOOL, [], [cond]))
    outs = [_vi("y", [2, 3])] + ([_vi("rows", [trip or 0, 2, 3])] if scan else [])
    node = h.make_node(
        "Loop", ["M", "c", "y0"], ["y", "rows"] if scan else ["y"], body=_body(early, scan)
    )
    return _model([node], inputs, outs, inits)


def _feeds(**extra: np.ndarray) -> dict[str, np.ndarray]:
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    return {"x": x, "y0": RNG.standard_normal((2, 3)).astype(np.float32), **extra}


def test_runtime_trip_count_and_condition_one_module():
    """One compiled module, several trip counts (0 included) and initial conditions."""
    m = _loop_model(None, None, early=False)
    assert len(_loops(m)) == 1
    feeds = [_feeds(M=np.array(k, np.int64), c=np.array(True)) for k in (0, 1, 3, 9)]
    feeds.append(_feeds(M=np.array(5, np.int64), c=np.array(False)))
    _compare(m, feeds)


def test_early_exit_condition_from_the_body():
    """The body's condition stops the loop before the trip count (and not, for small M)."""
    m = _loop_model(None, None, early=True)
    _compare(m, [_feeds(M=np.array(k, np.int64), c=np.array(True)) for k in (2, 100)])
    _compare(m, [_feeds(M=np.array(100, np.int64), c=np.array(True))], opt=0)


def test_constant_trip_count_with_scan_outputs_is_a_loop():
    """20 iterations (over the unroll limit): a relay.loop whose rows are stacked."""
    assert UNROLL_LIMIT < 20
    m = _loop_model(20, True, early=False, scan=True)
    (loop,) = _loops(m)
    assert loop.static_trips == 20 and loop.cond is None
    _compare(m, [_feeds(), _feeds()])


def test_small_constant_loop_is_unrolled():
    m = _loop_model(4, True, early=False, scan=True)
    assert not _loops(m)
    _compare(m, [_feeds()])


def test_unrolled_loop_with_a_constant_condition_stopping_it():
    """Unrolling evaluates a condition known at import: the loop stops after iteration 2."""
    body = h.make_graph(
        [
            h.make_node("Less", ["i", "two"], ["c_out"]),
            h.make_node("Add", ["y_in", "x"], ["y_out"]),
        ],
        "body",
        [_vi("i", [], T.INT64), _vi("c_in", [], T.BOOL), _vi("y_in", [2, 3])],
        [_vi("c_out", [], T.BOOL), _vi("y_out", [2, 3])],
        initializer=[h.make_tensor("two", T.INT64, [], [2])],
    )
    node = h.make_node("Loop", ["M", "c", "y0"], ["y"], body=body)
    m = _model(
        [node],
        [_vi("x", [2, 3]), _vi("y0", [2, 3])],
        [_vi("y", [2, 3])],
        [h.make_tensor("M", T.INT64, [], [10]), h.make_tensor("c", T.BOOL, [], [True])],
    )
    assert not _loops(m)
    _compare(m, [_feeds()])


def test_runtime_condition_with_constant_trip_count_is_a_loop():
    """Unrolling gives up when the body's condition is only known at run time."""
    m = _loop_model(12, True, early=True)
    assert len(_loops(m)) == 1
    _compare(
        m, [_feeds(), {"x": np.full((2, 3), 3.0, np.float32), "y0": np.zeros((2, 3), np.float32)}]
    )


def test_scan_outputs_with_a_runtime_trip_count_are_a_clear_error():
    with pytest.raises(UnsupportedOperatorError, match="runtime trip count: their length"):
        xtvm.from_onnx(_loop_model(None, True, early=False, scan=True))


def test_scan_outputs_of_an_early_exit_are_bounded():
    """A static trip count of 30 with a condition that stops it after a few iterations:
    the rows are a bound of 30 plus a count, returned at their real length."""
    m = _loop_model(30, True, early=True, scan=True)
    (loop,) = _loops(m)
    assert loop.static_trips == 30 and loop.cond is not None
    stop_early = {"x": np.full((2, 3), 2.0, np.float32), "y0": np.zeros((2, 3), np.float32)}
    run_all = {"x": np.full((2, 3), -9.0, np.float32), "y0": np.zeros((2, 3), np.float32)}
    _compare(m, [stop_early, _feeds(), run_all])


def test_carried_value_changing_shape_is_a_clear_error():
    body = h.make_graph(
        [
            h.make_node("Identity", ["c_in"], ["c_out"]),
            h.make_node("Concat", ["y_in", "y_in"], ["y_out"], axis=0),
        ],
        "body",
        [_vi("i", [], T.INT64), _vi("c_in", [], T.BOOL), _vi("y_in", ["n", 3])],
        [_vi("c_out", [], T.BOOL), _vi("y_out", ["n", 3])],
    )
    node = h.make_node("Loop", ["M", "", "y0"], ["y"], body=body)
    m = _model([node], [_vi("M", [], T.INT64), _vi("y0", [2, 3])], [_vi("y", ["n", 3])])
    with pytest.raises(ModelError, match="loop-carried value 0 is tensor<2x3xf32>.*keep its shape"):
        xtvm.from_onnx(m)


def test_if_inside_loop_and_swapped_carried_values():
    """An If on the iteration's parity inside a runtime loop; two carried values swap."""
    then_g = h.make_graph(
        [h.make_node("Mul", ["a_in", "x"], ["t"])], "then", [], [_vi("t", [2, 3])]
    )
    else_g = h.make_graph(
        [h.make_node("Sub", ["a_in", "x"], ["e"])], "else", [], [_vi("e", [2, 3])]
    )
    body = h.make_graph(
        [
            h.make_node("Mod", ["i", "two"], ["r"]),
            h.make_node("Equal", ["r", "zero"], ["even"]),
            h.make_node("If", ["even"], ["a_new"], then_branch=then_g, else_branch=else_g),
            h.make_node("Identity", ["c_in"], ["c_out"]),
            h.make_node("Identity", ["a_new"], ["b_out"]),
            h.make_node("Identity", ["b_in"], ["a_out"]),
        ],
        "body",
        [_vi("i", [], T.INT64), _vi("c_in", [], T.BOOL), _vi("a_in", [2, 3]), _vi("b_in", [2, 3])],
        [_vi("c_out", [], T.BOOL), _vi("a_out", [2, 3]), _vi("b_out", [2, 3])],
        initializer=[
            h.make_tensor("two", T.INT64, [], [2]),
            h.make_tensor("zero", T.INT64, [], [0]),
        ],
    )
    node = h.make_node("Loop", ["M", "", "a0", "b0"], ["a", "b"], body=body)
    m = _model(
        [node],
        [_vi("M", [], T.INT64), _vi("x", [2, 3]), _vi("a0", [2, 3]), _vi("b0", [2, 3])],
        [_vi("a", [2, 3]), _vi("b", [2, 3])],
    )
    assert len(_loops(m)) == 1
    feeds = []
    for k in (0, 1, 2, 5):
        f = {n: RNG.standard_normal((2, 3)).astype(np.float32) for n in ("x", "a0", "b0")}
        feeds.append({"M": np.array(k, np.int64), **f})
    _compare(m, feeds)


def _scan_model(n: int, in_axis: int, in_dir: int, out_axis: int, out_dir: int):
    """Running sum and product of the slices of x (shape depends on the scanned axis)."""
    shape = [3, 4]
    shape.insert(in_axis, n)
    body = h.make_graph(
        [
            h.make_node("Add", ["s_in", "xi"], ["s_out"]),
            h.make_node("Mul", ["s_out", "w"], ["row"]),
        ],
        "body",
        [_vi("s_in", [3, 4]), _vi("xi", [3, 4])],
        [_vi("s_out", [3, 4]), _vi("row", [3, 4])],
    )
    node = h.make_node(
        "Scan",
        ["s0", "x"],
        ["s", "rows"],
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[in_axis],
        scan_input_directions=[in_dir],
        scan_output_axes=[out_axis],
        scan_output_directions=[out_dir],
    )
    return _model(
        [node],
        [_vi("s0", [3, 4]), _vi("x", shape), _vi("w", [3, 4])],
        [_vi("s", [3, 4]), _vi("rows", ["a", "b", "c"])],
    )


@pytest.mark.parametrize(
    "n,in_axis,in_dir,out_axis,out_dir",
    [(3, 0, 0, 0, 0), (5, 1, 1, 2, 0), (20, 2, 1, 1, 1), (18, 0, 0, -1, 0)],
)
def test_scan_vs_onnxruntime(n, in_axis, in_dir, out_axis, out_dir):
    m = _scan_model(n, in_axis, in_dir, out_axis, out_dir)
    assert len(_loops(m)) == (1 if n > UNROLL_LIMIT else 0)
    shape = [3, 4]
    shape.insert(in_axis, n)
    feeds = {
        "s0": RNG.standard_normal((3, 4)).astype(np.float32),
        "x": RNG.standard_normal(shape).astype(np.float32),
        "w": RNG.standard_normal((3, 4)).astype(np.float32),
    }
    _compare(m, [feeds])


def _counted(name: str, trip: str, nodes: list[onnx.NodeProto], carried: str, shape: list[int]):
    """A Loop node over ``trip`` (a runtime count, no condition) carrying ``carried``."""
    body = h.make_graph(
        [h.make_node("Identity", [f"{name}_c"], [f"{name}_c_out"]), *nodes],
        f"{name}_body",
        [_vi(f"{name}_i", [], T.INT64), _vi(f"{name}_c", [], T.BOOL), _vi(f"{carried}_in", shape)],
        [_vi(f"{name}_c_out", [], T.BOOL), _vi(f"{carried}_out", shape)],
    )
    return h.make_node("Loop", [trip, "", carried], [f"{name}_res"], body=body)


def test_nested_loops_and_a_loop_inside_an_if():
    """An inner runtime loop inside an outer one (reading the outer iteration), and a loop
    in one branch of an If."""
    inner = _counted(
        "inner",
        "n",
        [
            h.make_node("Cast", ["outer_i"], ["fo"], to=F),
            h.make_node("Add", ["z_in", "fo"], ["z1"]),
            h.make_node("Mul", ["z1", "x"], ["z_out"]),
        ],
        "z",
        [2, 3],
    )
    outer = _counted(
        "outer",
        "m",
        [
            h.make_node("Identity", ["y_in"], ["z"]),
            inner,
            h.make_node("Tanh", ["inner_res"], ["y_out"]),
        ],
        "y",
        [2, 3],
    )
    looped = _counted("br", "m", [h.make_node("Sin", ["w_in"], ["w_out"])], "w", [2, 3])
    then_g = h.make_graph(
        [h.make_node("Identity", ["outer_res"], ["w"]), looped],
        "then",
        [],
        [_vi("br_res", [2, 3])],
    )
    else_g = h.make_graph([h.make_node("Neg", ["x"], ["e"])], "else", [], [_vi("e", [2, 3])])
    m = _model(
        [outer, h.make_node("If", ["flag"], ["r"], then_branch=then_g, else_branch=else_g)],
        [
            _vi("m", [], T.INT64),
            _vi("n", [], T.INT64),
            _vi("flag", [], T.BOOL),
            _vi("x", [2, 3]),
            _vi("y", [2, 3]),
        ],
        [_vi("outer_res", [2, 3]), _vi("r", [2, 3])],
    )
    assert len(_loops(m)) == 3
    feeds = []
    for mm, nn, flag in ((0, 2, True), (3, 0, True), (2, 3, False), (4, 2, True)):
        f = {n: (0.5 * RNG.standard_normal((2, 3))).astype(np.float32) for n in ("x", "y")}
        feeds.append(
            {"m": np.array(mm, np.int64), "n": np.array(nn, np.int64), "flag": np.array(flag), **f}
        )
    _compare(m, feeds)
    _compare(m, feeds[:2], opt=0)


def test_convolution_in_a_loop_body():
    """O3's layout rewriting and fusion work inside a loop body (a conv + relu per step)."""
    w = RNG.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.2
    body = h.make_graph(
        [
            h.make_node("Identity", ["c_in"], ["c_out"]),
            h.make_node("Conv", ["a_in", "w"], ["a1"], pads=[1, 1, 1, 1]),
            h.make_node("Relu", ["a1"], ["a_out"]),
        ],
        "body",
        [_vi("i", [], T.INT64), _vi("c_in", [], T.BOOL), _vi("a_in", [1, 4, 8, 8])],
        [_vi("c_out", [], T.BOOL), _vi("a_out", [1, 4, 8, 8])],
    )
    node = h.make_node("Loop", ["M", "", "a0"], ["a"], body=body)
    m = _model(
        [node],
        [_vi("M", [], T.INT64), _vi("a0", [1, 4, 8, 8])],
        [_vi("a", [1, 4, 8, 8])],
        [h.make_tensor("w", F, w.shape, w.reshape(-1).tolist())],
    )
    a0 = RNG.standard_normal((1, 4, 8, 8)).astype(np.float32)
    _compare(m, [{"M": np.array(k, np.int64), "a0": a0} for k in (0, 1, 4)])


def test_float16_carried_values_round_each_iteration():
    """A half-precision carried value is rounded at every iteration, as onnxruntime does
    (bit-identical results; without the rounding they drift by ulps)."""
    e = T.FLOAT16
    body = h.make_graph(
        [
            h.make_node("Identity", ["c_in"], ["c_out"]),
            h.make_node("Add", ["y_in", "x"], ["y1"]),
            h.make_node("Mul", ["y1", "x"], ["y_out"]),
        ],
        "body",
        [_vi("i", [], T.INT64), _vi("c_in", [], T.BOOL), _vi("y_in", [5], e)],
        [_vi("c_out", [], T.BOOL), _vi("y_out", [5], e)],
    )
    node = h.make_node("Loop", ["M", "", "y0"], ["y"], body=body)
    m = _model(
        [node], [_vi("M", [], T.INT64), _vi("x", [5], e), _vi("y0", [5], e)], [_vi("y", [5], e)]
    )
    rng = np.random.default_rng(1)
    feeds = []
    for k in (0, 3, 6, 9):
        x = (rng.standard_normal(5) * 0.9).astype(np.float16)
        feeds.append(
            {"M": np.array(k, np.int64), "x": x, "y0": rng.standard_normal(5).astype(np.float16)}
        )
    lib = xtvm.build(xtvm.from_onnx(m))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for f in feeds:
        (got,), (want,) = lib.run(f), sess.run(None, f)
        assert got.dtype == np.float16
        np.testing.assert_array_equal(got, want)


def test_mixed_float16_and_float32_carried_values():
    """Each Loop output takes its own body output's type: a float32 carried value next to a
    float16 one is not rounded to half."""
    body = h.make_graph(
        [
            h.make_node("Identity", ["c_in"], ["c_out"]),
            h.make_node("Cast", ["a_in"], ["a32"], to=F),
            h.make_node("Add", ["b_in", "a32"], ["b1"]),
            h.make_node("Mul", ["b1", "w"], ["b_out"]),
            h.make_node("Cast", ["b_out"], ["bh"], to=T.FLOAT16),
            h.make_node("Add", ["a_in", "bh"], ["a_out"]),
        ],
        "body",
        [
            _vi("i", [], T.INT64),
            _vi("c_in", [], T.BOOL),
            _vi("a_in", [4], T.FLOAT16),
            _vi("b_in", [4]),
        ],
        [_vi("c_out", [], T.BOOL), _vi("a_out", [4], T.FLOAT16), _vi("b_out", [4])],
    )
    node = h.make_node("Loop", ["M", "", "a0", "b0"], ["a", "b"], body=body)
    m = _model(
        [node],
        [_vi("M", [], T.INT64), _vi("a0", [4], T.FLOAT16), _vi("b0", [4]), _vi("w", [4])],
        [_vi("a", [4], T.FLOAT16), _vi("b", [4])],
    )
    rng = np.random.default_rng(2)
    feeds = [
        {
            "M": np.array(k, np.int64),
            "a0": (rng.standard_normal(4) * 0.3).astype(np.float16),
            "b0": rng.standard_normal(4).astype(np.float32),
            "w": (rng.standard_normal(4) * 0.7).astype(np.float32),
        }
        for k in (1, 5)
    ]
    lib = xtvm.build(xtvm.from_onnx(m))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for f in feeds:
        (a, b), (wa, wb) = lib.run(f), sess.run(None, f)
        assert a.dtype == np.float16 and b.dtype == np.float32
        # half arithmetic inside the body rounds where onnxruntime's cast elimination does,
        # within an ulp; the float32 value must keep float32 precision
        np.testing.assert_allclose(a.astype(np.float32), wa.astype(np.float32), rtol=2e-3)
        np.testing.assert_allclose(b, wb, rtol=2e-3, atol=2e-3)  # a feeds b
        assert np.any(b != b.astype(np.float16).astype(np.float32))
