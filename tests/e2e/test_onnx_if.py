"""ONNX ``If``: a runtime condition compiles to a real branch in the entry (both outcomes from
one compiled module match onnxruntime); a constant condition is folded away."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx_helpers import compare_with_onnxruntime as _compare  # noqa: E402
from onnx_helpers import make_model as _model  # noqa: E402
from onnx_helpers import vi as _vi  # noqa: E402

import xtvm
from xtvm.context import make_context
from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.passes.registry import parse_pipeline

RNG = np.random.default_rng(0)
F = T.FLOAT


def _graph(name: str, nodes: list[onnx.NodeProto], outs: list[str], shape=(2, 3)):
    return h.make_graph(nodes, name, [], [_vi(o, list(shape)) for o in outs])


def _if_ops(module) -> list[relay.IfOp]:
    return [o for o in module.walk() if isinstance(o, relay.IfOp)]


def _runtime_if_model() -> onnx.ModelProto:
    """``y = If(c, relu(exp(x)) * w, tanh(x)) + x``: branches read the outer x and w."""
    then_g = _graph(
        "then",
        [
            h.make_node("Exp", ["x"], ["t0"]),
            h.make_node("Relu", ["t0"], ["t1"]),
            h.make_node("Mul", ["t1", "w"], ["t2"]),
        ],
        ["t2"],
    )
    else_g = _graph("else", [h.make_node("Tanh", ["x"], ["e0"])], ["e0"])
    nodes = [
        h.make_node("If", ["c"], ["r"], then_branch=then_g, else_branch=else_g),
        h.make_node("Add", ["r", "x"], ["y"]),
    ]
    w = h.make_tensor("w", F, [2, 3], RNG.random(6).astype(np.float32).tolist())
    return _model(nodes, [_vi("x", [2, 3]), _vi("c", [], T.BOOL)], [_vi("y", [2, 3])], [w])


@pytest.mark.parametrize("opt", [0, 3])
def test_runtime_condition_runs_both_branches(opt: int) -> None:
    model = _runtime_if_model()
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    feeds = [{"x": x, "c": np.array(True)}, {"x": x, "c": np.array(False)}]
    _compare(model, feeds, opt)


def test_entry_holds_a_branch() -> None:
    """The relay keeps the relay.if; the tir entry has an scf.if; the llvm a cond_br."""
    mod = xtvm.from_onnx(_runtime_if_model())
    assert len(_if_ops(mod)) == 1
    ctx = make_context()
    for p in parse_pipeline("relay-fold-constant,relay-fuse-ops,convert-relay-to-te"):
        p.apply(ctx, mod)
    assert "scf.if" in str(mod)
    for p in parse_pipeline("convert-te-to-tir"):
        p.apply(ctx, mod)
    text = str(mod)
    main = text[text.index("tir.prim_func @main") :]
    assert "scf.if" in main and "memref.load" in main
    for p in parse_pipeline("convert-tir-to-llvm"):
        p.apply(ctx, mod)
    assert "llvm.cond_br" in str(mod)


def test_outputs_outer_values_and_multiple_results() -> None:
    """Branches yield an outer input, a weight, the same value twice and a computed one;
    the conditional's results are graph outputs."""
    then_g = _graph(
        "then",
        [h.make_node("Sigmoid", ["x"], ["s"]), h.make_node("Identity", ["x"], ["i"])],
        ["s", "i", "s"],
    )
    else_g = _graph(
        "else",
        [h.make_node("Neg", ["x"], ["n"]), h.make_node("Identity", ["w"], ["wi"])],
        ["wi", "n", "n"],
    )
    w = h.make_tensor("w", F, [2, 3], RNG.random(6).astype(np.float32).tolist())
    model = _model(
        [h.make_node("If", ["c"], ["a", "b", "d"], then_branch=then_g, else_branch=else_g)],
        [_vi("x", [2, 3]), _vi("c", [1], T.BOOL)],
        [_vi("a", [2, 3]), _vi("b", [2, 3]), _vi("d", [2, 3])],
        [w],
    )
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    lib = xtvm.build(xtvm.from_onnx(model))
    # numpy reference: onnxruntime 1.2x returns garbage for an If output that is an
    # Identity of an outer initializer
    wv = onnx.numpy_helper.to_array(w)
    sig = 1 / (1 + np.exp(-x))
    for c, want in ((True, (sig, x, sig)), (False, (wv, -x, -x))):
        got = lib.run({"x": x, "c": np.array([c])})
        for g, ref in zip(got, want, strict=True):
            np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


def test_nested_if_and_computed_condition() -> None:
    """The outer condition is computed at run time (ReduceSum(x) > 0); the else branch holds
    another If on a second input."""
    inner_then = _graph("it", [h.make_node("Abs", ["x"], ["ia"])], ["ia"])
    inner_else = _graph("ie", [h.make_node("Mul", ["x", "x"], ["im"])], ["im"])
    then_g = _graph("then", [h.make_node("Exp", ["x"], ["t"])], ["t"])
    else_g = _graph(
        "else",
        [
            h.make_node("If", ["d"], ["n"], then_branch=inner_then, else_branch=inner_else),
            h.make_node("Add", ["n", "x"], ["e"]),
        ],
        ["e"],
    )
    nodes = [
        h.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
        h.make_node("Greater", ["s", "zero"], ["c"]),
        h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g),
    ]
    zero = h.make_tensor("zero", F, [], [0.0])
    model = _model(nodes, [_vi("x", [2, 3]), _vi("d", [], T.BOOL)], [_vi("y", [2, 3])], [zero])
    x = np.abs(RNG.standard_normal((2, 3)).astype(np.float32))
    feeds = [
        {"x": x, "d": np.array(True)},
        {"x": -x, "d": np.array(True)},
        {"x": -x, "d": np.array(False)},
    ]
    _compare(model, feeds)


def test_constant_condition_is_folded_in_the_frontend() -> None:
    """An initializer condition inlines the taken branch; the other one is never converted
    (here it would not even type-check)."""
    then_g = _graph("then", [h.make_node("Exp", ["x"], ["t"])], ["t"])
    bad = _graph("else", [h.make_node("Transpose", ["x"], ["e"])], ["e"], shape=(3, 2))
    cond = h.make_tensor("c", T.BOOL, [], [True])
    model = _model(
        [h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=bad)],
        [_vi("x", [2, 3])],
        [_vi("y", [2, 3])],
        [cond],
    )
    mod = xtvm.from_onnx(model)
    assert not _if_ops(mod)
    _compare(model, [{"x": RNG.standard_normal((2, 3)).astype(np.float32)}])


def test_condition_folded_by_relay_fold_constant() -> None:
    """A condition that only becomes constant by folding goes in relay-fold-constant."""
    mod = xtvm.from_onnx(_runtime_if_model())
    ifs = _if_ops(mod)
    cond = relay.ConstantOp.from_numpy(np.array(False))
    from xdsl.rewriter import InsertPoint, Rewriter

    Rewriter.insert_op(cond, InsertPoint.before(ifs[0]))
    ifs[0].operands[0] = cond.result
    ctx = make_context()
    for p in parse_pipeline("relay-fold-constant"):
        p.apply(ctx, mod)
    mod.verify()
    assert not _if_ops(mod)
    assert any(isinstance(o, relay.TanhOp) for o in mod.walk())
    assert not any(isinstance(o, relay.ExpOp) for o in mod.walk())


def test_branches_with_different_shapes_are_a_model_error() -> None:
    then_g = _graph("then", [h.make_node("Exp", ["x"], ["t"])], ["t"])
    else_g = _graph("else", [h.make_node("Transpose", ["x"], ["e"])], ["e"], shape=(3, 2))
    model = h.make_model(
        h.make_graph(
            [h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
            "g",
            [_vi("x", [2, 3]), _vi("c", [], T.BOOL)],
            [h.make_tensor_value_info("y", F, ["a", "b"])],
        ),
        opset_imports=[h.make_opsetid("", 17)],
    )
    with pytest.raises(ModelError, match="then_branch but .* in else_branch"):
        xtvm.from_onnx(model)


def test_unsupported_op_inside_a_branch_is_reported() -> None:
    then_g = _graph("then", [h.make_node("Exp", ["x"], ["t"])], ["t"])
    else_g = _graph("else", [h.make_node("NoSuchOp", ["x"], ["e"])], ["e"])
    model = h.make_model(
        h.make_graph(
            [h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
            "g",
            [_vi("x", [2, 3]), _vi("c", [], T.BOOL)],
            [_vi("y", [2, 3])],
        ),
        opset_imports=[h.make_opsetid("", 17)],
    )
    with pytest.raises(xtvm.errors.UnsupportedOperatorError, match="NoSuchOp"):
        xtvm.from_onnx(model)


def test_branch_unbuildable_at_bound_shapes_fails_only_when_taken() -> None:
    """A branch ill-typed at the bound shapes (a reshape of 6 elements to [4, -1]) compiles
    to an error status: the other branch still runs, taking this one raises."""
    shape = h.make_tensor("shape", T.INT64, [2], [4, -1])
    then_g = h.make_graph(
        [h.make_node("Reshape", ["x", "shape"], ["t"])],
        "then",
        [],
        [h.make_tensor_value_info("t", F, ["a", "b"])],
    )
    else_g = _graph("else", [h.make_node("Exp", ["x"], ["e"])], ["e"])
    model = _model(
        [h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
        [_vi("x", [2, 3]), _vi("c", [], T.BOOL)],
        [h.make_tensor_value_info("y", F, ["a", "b"])],
        [shape],
    )
    with pytest.warns(UserWarning, match="then_branch cannot be compiled"):
        mod = xtvm.from_onnx(model)
    lib = xtvm.build(mod)
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(lib.run({"x": x, "c": np.array(False)})[0], np.exp(x), rtol=1e-6)
    with pytest.raises(xtvm.errors.XTVMError, match="status 2"):
        lib.run({"x": x, "c": np.array(True)})


def test_branches_share_workspace() -> None:
    """Intermediates of the two branches never coexist, so they share workspace: one
    [64, 64] float buffer (16 KiB) serves both; both outcomes still match onnxruntime."""
    shape = (64, 64)
    then_g = _graph(
        "then",
        [h.make_node("Softmax", ["x"], ["s"]), h.make_node("Softmax", ["s"], ["t"])],
        ["t"],
        shape,
    )
    else_g = _graph(
        "else",
        [h.make_node("LogSoftmax", ["x"], ["l"]), h.make_node("Softmax", ["l"], ["u"])],
        ["u"],
        shape,
    )
    model = _model(
        [h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
        [_vi("x", list(shape)), _vi("c", [], T.BOOL)],
        [_vi("y", list(shape))],
    )
    mod = xtvm.from_onnx(model)
    ctx = make_context()
    for p in parse_pipeline("relay-fold-constant,relay-fuse-ops,convert-relay-to-te"):
        p.apply(ctx, mod)
    for p in parse_pipeline("convert-te-to-tir"):
        p.apply(ctx, mod)
    entry = next(
        o for o in mod.walk() if o.name == "tir.prim_func" and "xtvm.entry" in o.attributes
    )
    assert entry.attributes["xtvm.workspace_bytes"].value.data == 64 * 64 * 4
    x = RNG.standard_normal(shape).astype(np.float32)
    _compare(model, [{"x": x, "c": np.array(v)} for v in (True, False)])


def test_nested_result_yielded_twice_by_the_outer_branch() -> None:
    """The outer then branch yields the inner If's result twice (one output buffer, one
    copy); the else branch yields an outer input and a computed value. Numpy reference:
    onnxruntime 1.2x returns wrong numbers for this graph."""
    inner = h.make_node(
        "If",
        ["d"],
        ["n"],
        then_branch=_graph("it", [h.make_node("Abs", ["x"], ["ia"])], ["ia"]),
        else_branch=_graph("ie", [h.make_node("Neg", ["x"], ["ib"])], ["ib"]),
    )
    else_g = _graph(
        "e",
        [h.make_node("Exp", ["x"], ["ex"]), h.make_node("Identity", ["x"], ["xi"])],
        ["xi", "ex"],
    )
    outer = h.make_node(
        "If", ["c"], ["y", "z"], then_branch=_graph("t", [inner], ["n", "n"]), else_branch=else_g
    )
    model = _model(
        [outer, h.make_node("Add", ["y", "z"], ["w"])],
        [_vi("x", [2, 3]), _vi("c", [], T.BOOL), _vi("d", [], T.BOOL)],
        [_vi("y", [2, 3]), _vi("w", [2, 3])],
    )
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    for opt in (0, 3):
        lib = xtvm.build(xtvm.from_onnx(model), opt_level=opt)
        for c in (True, False):
            for d in (True, False):
                n = np.abs(x) if d else -x
                want = (n, 2 * n) if c else (x, x + np.exp(x))
                got = lib.run({"x": x, "c": np.array(c), "d": np.array(d)})
                for g, ref in zip(got, want, strict=True):
                    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


def test_blocked_layout_value_read_inside_branches() -> None:
    """A convolution before the If goes to the blocked layout (relay-alter-layout); the
    branches read its NCHW form, made before the relay.if, and convolve again inside."""
    wa = h.make_tensor("wa", F, [16, 8, 3, 3], RNG.standard_normal(16 * 8 * 9).astype("f").tolist())
    wb = h.make_tensor("wb", F, [16, 16, 1, 1], RNG.standard_normal(256).astype("f").tolist())
    out = [1, 16, 6, 6]
    then_g = _graph(
        "then",
        [h.make_node("Conv", ["a", "wb"], ["t0"]), h.make_node("Relu", ["t0"], ["t"])],
        ["t"],
        out,
    )
    else_g = _graph("else", [h.make_node("Sigmoid", ["a"], ["e"])], ["e"], out)
    model = _model(
        [
            h.make_node("Conv", ["x", "wa"], ["a"], pads=[1, 1, 1, 1]),
            h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g),
        ],
        [_vi("x", [1, 8, 6, 6]), _vi("c", [], T.BOOL)],
        [_vi("y", out)],
        [wa, wb],
    )
    x = RNG.standard_normal((1, 8, 6, 6)).astype(np.float32)
    _compare(model, [{"x": x, "c": np.array(v)} for v in (True, False)])
