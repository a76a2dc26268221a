"""``relay.loop`` written in the text format: the interpreter, numpy and the compiled module
agree (runtime trip count and condition, stacked rows, swapped carried values, a loop nested
in a loop), and the relay passes keep it a loop."""

from __future__ import annotations

import numpy as np
import pytest
from test_relay_functional import _parse

import xtvm
from xtvm.dialects import relay
from xtvm.passes.relay.interpret import interpret

PROGRAM = """
func.func @main(%m: tensor<i64>, %c: tensor<i1>, %a: tensor<4xf32>, %b: tensor<4xf32>, %x: tensor<3x4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>) {
  %lim = relay.constant dense<20.0> : tensor<f32>
  %p, %q = relay.loop trip(%m : tensor<i64>) cond(%c : tensor<i1>) (%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %u: tensor<4xf32>, %v: tensor<4xf32>):
    %fi = relay.cast %i : (tensor<i64>) -> tensor<f32>
    %w = relay.add %u, %fi : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
    %s = relay.reduce %w {kind = "sum", axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
    %go = relay.less %s, %lim : (tensor<f32>, tensor<f32>) -> tensor<i1>
    relay.yield %go, %v, %w : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }
  %s:2 = relay.loop trips 3 (%p) : (tensor<4xf32>) -> (tensor<3x4xf32>) {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<4xf32>):
    %row = relay.take %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<i64>) -> tensor<4xf32>
    %inner = relay.loop trip(%m : tensor<i64>) (%row) : (tensor<4xf32>) -> () {
    ^bb0(%j: tensor<i64>, %kk: tensor<i1>, %r: tensor<4xf32>):
      %h = relay.tanh %r : tensor<4xf32>
      relay.yield %kk, %h : tensor<i1>, tensor<4xf32>
    }
    %w = relay.add %v, %inner : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    relay.yield %k, %w, %w : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }
  func.return %p, %q, %s#0, %s#1 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>
}
"""


def _reference(m: int, c: bool, a, b, x) -> list[np.ndarray]:
    u, v, i = a, b, 0
    while i < m and c:
        w = u + np.float32(i)
        c = bool(w.sum() < 20.0)
        u, v, i = v, w, i + 1
    rows, acc = [], u
    for k in range(3):
        r = x[k]
        for _ in range(max(m, 0)):
            r = np.tanh(r)
        acc = acc + r
        rows.append(acc)
    return [u, v, acc, np.stack(rows)]


@pytest.mark.parametrize("opt", [0, 3])
def test_loop_program_interpreted_and_compiled(opt: int) -> None:
    module = _parse(PROGRAM)
    loops = [o for o in module.walk() if isinstance(o, relay.LoopOp)]
    assert len(loops) == 3
    lib = xtvm.build(_parse(PROGRAM), opt_level=opt)
    rng = np.random.default_rng(0)
    for m, c in ((0, True), (1, True), (2, False), (4, True), (40, True)):
        a, b = (rng.standard_normal(4).astype(np.float32) for _ in range(2))
        x = rng.standard_normal((3, 4)).astype(np.float32)
        inputs = [np.array(m, np.int64), np.array(c), a, b, x]
        want = _reference(m, c, a, b, x)
        got_i = interpret(_parse(PROGRAM), inputs)
        got_c = lib.run(inputs)
        for w, gi, gc in zip(want, got_i, got_c):
            np.testing.assert_allclose(gi, w, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(gc, w, rtol=1e-5, atol=1e-5)
