"""The relay language interpreter: let-form programs, closures, tuples and recursion run
as written, and agree with numpy and with the passes that rewrite the language."""

from __future__ import annotations

import numpy as np
import pytest
from test_relay_functional import PROGRAM, _parse, check_program_results

import xtvm
from xtvm.errors import CompileError
from xtvm.passes.relay.inline_functions import inline_functions
from xtvm.passes.relay.interpret import Closure, interpret
from xtvm.passes.relay.to_a_normal_form import to_a_normal_form

COUNTDOWN = """
func.func @main(%n: tensor<i64>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %y = func.call @double_n(%n, %x) : (tensor<i64>, tensor<3xf32>) -> tensor<3xf32>
  func.return %y : tensor<3xf32>
}
func.func private @double_n(%n: tensor<i64>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %zero = relay.constant dense<0> : tensor<i64>
  %one = relay.constant dense<1> : tensor<i64>
  %more = relay.greater %n, %zero : (tensor<i64>, tensor<i64>) -> tensor<i1>
  %r = relay.if %more : tensor<i1> -> (tensor<3xf32>) {
    %m = relay.subtract %n, %one : (tensor<i64>, tensor<i64>) -> tensor<i64>
    %d = relay.add %x, %x : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    %s = func.call @double_n(%m, %d) : (tensor<i64>, tensor<3xf32>) -> tensor<3xf32>
    relay.yield %s : tensor<3xf32>
  } else {
    relay.yield %x : tensor<3xf32>
  }
  func.return %r : tensor<3xf32>
}
"""


def _inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal(s).astype(np.float32) for s in ((2, 4), (8, 4), (3, 8))]


def test_program_as_written_matches_numpy() -> None:
    x, w1, w2 = _inputs()
    y, (h, s) = interpret(_parse(PROGRAM), [x, w1, w2])
    check_program_results(x, w1, w2, y, h, s)


def test_rewrites_keep_the_numbers() -> None:
    args = _inputs()
    want = interpret(_parse(PROGRAM), args)
    anf = _parse(PROGRAM)
    to_a_normal_form(anf)
    inlined = _parse(PROGRAM)
    inline_functions(inlined)
    got_anf = interpret(anf, args)
    got_inlined = interpret(inlined, args)  # the tuple result is flattened there
    np.testing.assert_array_equal(got_anf[0], want[0])
    for g, w in zip(got_anf[1], want[1], strict=True):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(got_inlined, [want[0], *want[1]], strict=True):
        np.testing.assert_array_equal(g, w)


def test_closures_capture_their_scope() -> None:
    text = """
    func.func @main(%k: tensor<2xf32>) -> ((tensor<2xf32>) -> tensor<2xf32>) {
      %adder = relay.fn (%a: tensor<2xf32>) {
        %g = relay.fn (%z: tensor<2xf32>) {
          %s = relay.add %z, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
          relay.yield %s : tensor<2xf32>
        }
        relay.yield %g : (tensor<2xf32>) -> tensor<2xf32>
      }
      %plus = relay.call %adder(%k) : (tensor<2xf32>) -> ((tensor<2xf32>) -> tensor<2xf32>)
      func.return %plus : (tensor<2xf32>) -> tensor<2xf32>
    }
    func.func @apply(%f: (tensor<2xf32>) -> tensor<2xf32>, %x: tensor<2xf32>) -> tensor<2xf32> {
      %y = relay.call %f(%x) : (tensor<2xf32>) -> tensor<2xf32>
      func.return %y : tensor<2xf32>
    }"""
    module = _parse(text)
    k = np.array([1.0, 2.0], np.float32)
    (plus,) = interpret(module, [k])
    assert isinstance(plus, Closure)
    x = np.array([10.0, 20.0], np.float32)
    (y,) = interpret(module, [plus, x], entry="apply")
    np.testing.assert_array_equal(y, x + k)


def test_recursion_runs_but_does_not_compile() -> None:
    x = np.array([1.0, -2.0, 0.5], np.float32)
    (y,) = interpret(_parse(COUNTDOWN), [np.array(5, np.int64), x])
    np.testing.assert_array_equal(y, x * 32)
    with pytest.raises(CompileError, match="recursive"):
        xtvm.build(_parse(COUNTDOWN), cache=False)


def test_unbounded_recursion_is_a_typed_error() -> None:
    text = COUNTDOWN.replace("relay.greater %n, %zero", "relay.greater %one, %zero")
    with pytest.raises(CompileError, match="too deeply"):
        interpret(_parse(text), [np.array(1, np.int64), np.zeros(3, np.float32)])
