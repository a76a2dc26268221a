"""Relay as a language: programs written with functions, let and tuples compile and run.

The program text is parsed as a user would write it; numpy computes the same thing
directly (the reference). Also: unknown callees and recursion are typed errors, and the
let form survives very deep nesting (one region per binding).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region
from xdsl.parser import Parser
from xdsl.printer import Printer

import xtvm
from xtvm.context import make_context
from xtvm.dialects import relay
from xtvm.errors import CompileError
from xtvm.passes.relay.to_a_normal_form import to_a_normal_form
from xtvm.passes.relay.to_graph_normal_form import to_graph_normal_form

T8 = "tensor<2x8xf32>"
T3 = "tensor<2x3xf32>"
PAIR = f"tuple<{T8}, {T3}>"
PROGRAM = f"""
func.func @main(%x: tensor<2x4xf32> {{xtvm.name = "x"}}, %w1: tensor<8x4xf32> {{xtvm.name = "w1"}},
                %w2: tensor<3x8xf32> {{xtvm.name = "w2"}})
    -> ({T3} {{xtvm.name = "y"}}, {PAIR} {{xtvm.name = "t"}}) {{
  %layer = relay.fn (%d: tensor<2x4xf32>) -> ({T8}) {{
    %h = relay.dense %d, %w1 : (tensor<2x4xf32>, tensor<8x4xf32>) -> {T8}
    %r = relay.relu %h : {T8}
    relay.yield %r : {T8}
  }}
  %out = relay.let (%f = %layer : (tensor<2x4xf32>) -> {T8}) -> ({PAIR}) {{
    %h1 = relay.call %f(%x) : (tensor<2x4xf32>) -> {T8}
    %pair = relay.let (%h = %h1 : {T8}) -> ({PAIR}) {{
      %o = relay.dense %h, %w2 : ({T8}, tensor<3x8xf32>) -> {T3}
      %s = func.call @swish(%o) : ({T3}) -> {T3}
      %t = relay.tuple(%h, %s) : {PAIR}
      relay.yield %t : {PAIR}
    }}
    relay.yield %pair : {PAIR}
  }}
  %s2 = relay.tuple_get %out[1] : {PAIR}
  %y = relay.add %s2, %s2 : ({T3}, {T3}) -> {T3}
  func.return %y, %out : {T3}, {PAIR}
}}

func.func private @swish(%v: {T3}) -> {T3} {{
  %g = relay.sigmoid %v : {T3}
  %m = relay.multiply %v, %g : ({T3}, {T3}) -> {T3}
  func.return %m : {T3}
}}
"""


def check_program_results(*arrays: np.ndarray) -> None:
    """PROGRAM's results against numpy in float64: h = relu(x w1^T), s = swish(h w2^T),
    y = 2 s. ``arrays``: the inputs x, w1, w2, then the results y, h, s."""
    x, w1, w2, y, h, s = arrays
    h_ref = np.maximum(x.astype(np.float64) @ w1.T, 0)
    o = h_ref @ w2.T
    s_ref = o / (1 + np.exp(-o))
    np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s, s_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, 2 * s_ref, rtol=1e-5, atol=1e-5)


def _parse(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


@pytest.mark.parametrize("opt_level", [0, 3])
def test_program_with_functions_let_and_tuples(opt_level: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    w1 = rng.standard_normal((8, 4)).astype(np.float32)
    w2 = rng.standard_normal((3, 8)).astype(np.float32)
    lib = xtvm.build(_parse(PROGRAM), opt_level=opt_level, cache=False)
    y, h, s = lib.run({"x": x, "w1": w1, "w2": w2})

    check_program_results(x, w1, w2, y, h, s)
    # the tuple result became one output per field, named after it
    assert [o["name"] for o in lib.metadata["outputs"]] == ["y", "t_0", "t_1"]


def test_tuple_inputs_become_one_input_per_tensor() -> None:
    text = """
    func.func @main(%t: tuple<tensor<3xf32>, tuple<tensor<3xf32>>> {xtvm.name = "t"})
        -> tensor<3xf32> {
      %a = relay.tuple_get %t[0] : tuple<tensor<3xf32>, tuple<tensor<3xf32>>>
      %n = relay.tuple_get %t[1] : tuple<tensor<3xf32>, tuple<tensor<3xf32>>>
      %b = relay.tuple_get %n[0] : tuple<tensor<3xf32>>
      %d = relay.subtract %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
      func.return %d : tensor<3xf32>
    }"""
    lib = xtvm.build(_parse(text), cache=False)
    assert [i["name"] for i in lib.metadata["inputs"]] == ["t_0", "t_1"]
    a, b = np.array([1, 2, 3], np.float32), np.array([0.5, 4, -1], np.float32)
    (d,) = lib.run({"t_0": a, "t_1": b})
    np.testing.assert_array_equal(d, a - b)


def test_let_form_of_the_program_compiles_the_same() -> None:
    module = _parse(PROGRAM)
    assert to_a_normal_form(module) > 0
    module.verify()
    x, w1, w2 = (np.full(s, 0.5, np.float32) for s in ((2, 4), (8, 4), (3, 8)))
    want = xtvm.build(_parse(PROGRAM), cache=False).run({"x": x, "w1": w1, "w2": w2})
    got = xtvm.build(module, cache=False).run({"x": x, "w1": w1, "w2": w2})
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_call_of_an_unknown_function_is_a_compile_error() -> None:
    text = """
    func.func @main(%x: tensor<4xf32>, %f: (tensor<4xf32>) -> tensor<4xf32>) -> tensor<4xf32> {
      %y = relay.call %f(%x) : (tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }"""
    with pytest.raises(CompileError, match="cannot remove relay.call"):
        xtvm.build(_parse(text), cache=False)


def test_call_of_a_declaration_is_a_compile_error() -> None:
    text = """
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = func.call @ext(%x) : (tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }
    func.func @ext(%x: tensor<4xf32>) -> tensor<4xf32>"""
    with pytest.raises(CompileError, match="cannot inline func.call @ext"):
        xtvm.build(_parse(text), cache=False)


def test_recursion_is_a_compile_error() -> None:
    text = """
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = func.call @g(%x) : (tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }
    func.func private @g(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = func.call @h(%x) : (tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }
    func.func private @h(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = func.call @g(%x) : (tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }"""
    with pytest.raises(CompileError, match="recursive"):
        xtvm.build(_parse(text), cache=False)


def _chain(n: int) -> ModuleOp:
    """``n`` alternating tanh/sigmoid ops, each also added to the input (two uses each)."""
    t = relay.tensor_type((4,))
    block = Block(arg_types=[t])
    v = block.args[0]
    for i in range(n):
        u = (relay.TanhOp if i % 2 else relay.SigmoidOp)(v)
        a = relay.AddOp(u.results[0], u.results[0])
        block.add_ops([u, a])
        v = a.results[0]
    block.add_op(ReturnOp(v))
    return ModuleOp([FuncOp("main", ((t,), (t,)), Region(block))])


def test_deep_let_nesting_verifies_prints_and_dissolves() -> None:
    module = _chain(400)  # 800 lets deep: past the default recursion limit of 1000 frames
    original = module.clone()
    assert to_a_normal_form(module) == 800
    module.verify()
    out = io.StringIO()
    Printer(stream=out).print_op(module)
    reparsed = _parse(out.getvalue())
    assert to_graph_normal_form(reparsed) == 800
    assert reparsed.is_structurally_equivalent(original)
