"""The let form never changes a program: random dataflow graphs through ANF and back.

Random graphs of elementwise ops (unary, binary with broadcasting, constants, values used
several times, several results, dead ops, ``relay.if`` on a runtime boolean whose branches
read outer values). ``relay-to-a-normal-form`` must give a verifying
let form in which every computed value is bound once by a let and read only through it,
that computes the same numbers (run as written by the language interpreter), and must be
idempotent; ``relay-to-graph-normal-form`` must give back exactly the original
graph, whose numbers the numpy evaluator checks against a direct float64 numpy evaluation
of the drawn graph (the independent reference). A few cases are compiled from their let
form with ``xtvm.build`` and run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region, SSAValue

import xtvm
from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import evaluate_function
from xtvm.passes.relay.interpret import interpret
from xtvm.passes.relay.to_a_normal_form import to_a_normal_form
from xtvm.passes.relay.to_graph_normal_form import to_graph_normal_form, walk_ops

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_UNARY: dict[str, tuple[type, Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (relay.TanhOp, np.tanh),
    "sigmoid": (relay.SigmoidOp, lambda x: 1 / (1 + np.exp(-x))),
    "negative": (relay.NegativeOp, np.negative),
    "relu": (relay.ReluOp, lambda x: np.maximum(x, 0)),
    "abs": (relay.AbsOp, np.abs),
}
_BINARY: dict[str, tuple[type, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "add": (relay.AddOp, np.add),
    "subtract": (relay.SubtractOp, np.subtract),
    "multiply": (relay.MultiplyOp, np.multiply),
    "maximum": (relay.MaximumOp, np.maximum),
    "minimum": (relay.MinimumOp, np.minimum),
}
_SHAPES = [(3, 4), (4,), (3, 1), (1, 4)]


@dataclass
class Graph:
    """A drawn graph: nodes are ("input", k) / ("const", array) / (op name, operand ids);
    ("if", (p, q)) is ``relay.if %c`` (the last input, a bool) of ``tanh(p) + q`` else ``p * q``,
    branches reading outer values."""

    nodes: list[tuple]
    outputs: list[int]
    inputs: list[np.ndarray]

    @property
    def has_if(self) -> bool:
        return any(kind == "if" for kind, _ in self.nodes)

    def reference(self) -> list[np.ndarray]:
        vals: list[np.ndarray] = []
        for kind, arg in self.nodes:
            if kind == "input":
                vals.append(self.inputs[arg].astype(np.float64))
            elif kind == "const":
                vals.append(arg.astype(np.float64))
            elif kind == "if":
                p, q = vals[arg[0]], vals[arg[1]]
                vals.append(np.tanh(p) + q if self.inputs[-1] else p * q)
            elif kind in _UNARY:
                vals.append(_UNARY[kind][1](vals[arg[0]]))
            else:
                vals.append(_BINARY[kind][1](vals[arg[0]], vals[arg[1]]))
        return [vals[i] for i in self.outputs]

    def module(self) -> ModuleOp:
        arg_types = [
            relay.tensor_type(x.shape, relay.element_type_of(x.dtype)) for x in self.inputs
        ]
        block = Block(arg_types=arg_types)
        vals: list[SSAValue] = []
        for kind, arg in self.nodes:
            if kind == "input":
                vals.append(block.args[arg])
                continue
            if kind == "const":
                op = relay.ConstantOp.from_numpy(arg)
            elif kind == "if":
                op = _if_op(block.args[-1], vals[arg[0]], vals[arg[1]])
            elif kind in _UNARY:
                op = _UNARY[kind][0](vals[arg[0]])
            else:
                op = _BINARY[kind][0](vals[arg[0]], vals[arg[1]])
            block.add_op(op)
            vals.append(op.results[0])
        outs = [vals[i] for i in self.outputs]
        block.add_op(ReturnOp(*outs))
        fn = FuncOp("main", (arg_types, [v.type for v in outs]), Region(block))
        return ModuleOp([fn])


def _if_op(cond: SSAValue, p: SSAValue, q: SSAValue) -> relay.IfOp:
    t = relay.TanhOp(p)
    a = relay.AddOp(t.results[0], q)
    m = relay.MultiplyOp(p, q)
    then_block, else_block = Block([t, a, relay.YieldOp(a.results[0])]), Block()
    else_block.add_ops([m, relay.YieldOp(m.results[0])])
    return relay.IfOp(cond, [a.results[0].type], Region(then_block), Region(else_block))


@st.composite
def graphs(draw) -> Graph:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n_in = draw(st.integers(1, 3))
    inputs = [
        rng.standard_normal(_SHAPES[draw(st.integers(0, len(_SHAPES) - 1))]).astype(np.float32)
        for _ in range(n_in)
    ]
    nodes: list[tuple] = [("input", k) for k in range(n_in)]
    for _ in range(draw(st.integers(1, 12))):
        choice = draw(st.sampled_from(["unary", "binary", "binary", "const", "if"]))
        pick = st.integers(0, len(nodes) - 1)
        if choice == "const":
            shape = _SHAPES[draw(st.integers(0, len(_SHAPES) - 1))]
            nodes.append(("const", rng.standard_normal(shape).astype(np.float32)))
        elif choice == "if":
            nodes.append(("if", (draw(pick), draw(pick))))
        elif choice == "unary":
            nodes.append((draw(st.sampled_from(sorted(_UNARY))), (draw(pick),)))
        else:
            nodes.append((draw(st.sampled_from(sorted(_BINARY))), (draw(pick), draw(pick))))
    computed = [i for i, (kind, _) in enumerate(nodes) if kind not in ("input", "const")]
    if not computed:  # at least one op to return
        nodes.append(("tanh", (0,)))
        computed = [len(nodes) - 1]
    outputs = draw(st.lists(st.sampled_from(computed), min_size=1, max_size=3))
    graph = Graph(nodes, outputs, inputs)
    if graph.has_if:
        inputs.append(np.array(draw(st.booleans())))
    return graph


def _check_a_normal_form(module: ModuleOp) -> None:
    """Every computed value is read only as the value of one let."""
    for op in walk_ops(module):
        if isinstance(op, relay.ConstantOp | relay.LetOp | ReturnOp | relay.YieldOp):
            continue
        for r in op.results:
            uses = list(r.uses)
            assert len(uses) <= 1, f"{op.name} result read {len(uses)} times"
            if uses:
                assert isinstance(uses[0].operation, relay.LetOp) and uses[0].index == 0


def _main(module: ModuleOp) -> FuncOp:
    fn = next(iter(module.ops))
    assert isinstance(fn, FuncOp)
    return fn


@settings(max_examples=60, **SETTINGS)
@given(graphs())
def test_anf_then_gnf_is_the_identity(g: Graph) -> None:
    original = g.module()
    original.verify()
    anf = original.clone()
    to_a_normal_form(anf)
    anf.verify()
    _check_a_normal_form(anf)
    # the let form as written, run by the language interpreter
    for out, want in zip(interpret(anf, g.inputs), g.reference(), strict=True):
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    again = anf.clone()
    to_a_normal_form(again)
    assert again.is_structurally_equivalent(anf), "ANF is not idempotent"
    gnf = anf.clone()
    to_graph_normal_form(gnf)
    gnf.verify()
    assert gnf.is_structurally_equivalent(original)
    # dataflow: the plain numpy evaluator (it has no relay.if); else the interpreter
    got = interpret(gnf, g.inputs) if g.has_if else evaluate_function(_main(gnf), g.inputs)
    for out, want in zip(got, g.reference(), strict=True):
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


@settings(max_examples=4, **SETTINGS)
@given(graphs())
def test_let_form_compiles_to_the_same_numbers(g: Graph) -> None:
    anf = g.module()
    to_a_normal_form(anf)
    lib = xtvm.build(anf, opt_level=3, cache=False)
    got = lib.run(list(g.inputs))
    for out, want in zip(got, g.reference(), strict=True):
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
