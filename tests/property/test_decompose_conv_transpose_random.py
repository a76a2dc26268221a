"""relay-decompose-conv-transpose never changes results: random transposed convolutions.

Random kernels, strides, dilations, paddings (some beyond the taps' reach, so the input is
sliced), output paddings (some past the natural size, so whole phases are zeros), odd
spatial sizes and channel counts, groups (1, depthwise, and grouped ones the pass must leave
alone), with or without a per-channel bias add and a relu. The numpy evaluator's results
before and after the pass must agree (its ``conv2d_transpose`` is a direct scatter-add, an
independent reference); a few cases are also compiled with -O3.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region

import xtvm
from xtvm.context import make_context
from xtvm.dialects import relay
from xtvm.dialects.relay.conv_transpose import conv_transpose_out_dim
from xtvm.passes.registry import parse_pipeline
from xtvm.passes.relay.evaluate import evaluate_function

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Case:
    """A one-conv-transpose function, its input, and whether the pass must rewrite it
    (None: it may)."""

    def __init__(self, module: ModuleOp, x: np.ndarray, rewritable: bool | None):
        self.module, self.x, self.rewritable = module, x, rewritable

    def __repr__(self) -> str:
        return f"input {list(self.x.shape)}\n{self.module}"


@st.composite
def cases(draw) -> Case:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    style = draw(st.sampled_from(("dense", "dense", "dense", "depthwise", "grouped")))
    n = draw(st.integers(1, 2))
    c = draw(st.integers(1, 6))
    if style == "grouped":
        groups, c, opg = 2, 2 * c, draw(st.integers(1, 3))
    elif style == "depthwise":
        groups, opg = c, 1
    else:
        groups, opg = 1, draw(st.integers(1, 6))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    k = [draw(st.integers(1, 5)) for _ in range(2)]
    s = [draw(st.integers(1, 4)) for _ in range(2)]
    d = [draw(st.integers(1, 3)) for _ in range(2)]
    reach = [dd * (kk - 1) for dd, kk in zip(d, k)]
    pads = [draw(st.integers(0, reach[i % 2] + 1)) for i in range(4)]
    out_pad = [draw(st.integers(0, max(ss, dd))) for ss, dd in zip(s, d)]
    dims = [(h, 0), (w, 1)]
    outs = [
        conv_transpose_out_dim(size, k[i], s[i], pads[i], pads[i + 2], d[i], out_pad[i])
        for size, i in dims
    ]
    assume(all(o > 0 for o in outs))
    reached = all(
        any(
            0 <= (y + pads[i] - kk * d[i]) // s[i] < size and (y + pads[i] - kk * d[i]) % s[i] == 0
            for y in range(outs[i])
            for kk in range(k[i])
        )
        for size, i in dims
    )
    block = Block(arg_types=[relay.tensor_type((n, c, h, w))])

    def const(shape: tuple[int, ...]):
        op = relay.ConstantOp.from_numpy(rng.standard_normal(shape).astype(np.float32))
        block.add_op(op)
        return op.result

    weight = const((c, opg, *k))
    y = relay.Conv2dTransposeOp(block.args[0], weight, s, pads, d, out_pad, groups)
    block.add_op(y)
    value = y.result
    if draw(st.booleans()):
        o = opg * groups
        shape = draw(st.sampled_from(((1, o, 1, 1), (o, 1, 1), (1,))))
        add = relay.AddOp(value, const(shape))
        block.add_op(add)
        value = add.result
    if draw(st.booleans()):
        relu = relay.ReluOp(value)
        block.add_op(relu)
        value = relu.result
    block.add_op(ReturnOp(value))
    module = ModuleOp([FuncOp("main", ([block.args[0].type], [value.type]), Region(block))])
    module.verify()
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    # grouped convs (not depthwise) stay; one whose every output is padding (zeros) may stay
    handled = groups == 1 or c // groups == opg == 1
    return Case(module, x, False if not handled else True if reached else None)


def _main(module: ModuleOp) -> FuncOp:
    return next(op for op in module.ops if isinstance(op, FuncOp))


@settings(max_examples=250, **SETTINGS)
@given(cases())
def test_decomposition_keeps_results(case: Case) -> None:
    module, x = case.module, case.x
    types = _main(module).function_type
    before = evaluate_function(_main(module), [x])
    for p in parse_pipeline("relay-decompose-conv-transpose"):
        p.apply(make_context(), module)
    module.verify()
    assert _main(module).function_type == types
    left = sum(isinstance(op, relay.Conv2dTransposeOp) for op in _main(module).walk())
    if case.rewritable is not None:
        assert left == (0 if case.rewritable else 1)
    after = evaluate_function(_main(module), [x])
    for b, a in zip(before, after):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@settings(max_examples=6, **SETTINGS)
@given(cases())
def test_compiled_o3_matches_the_evaluator(case: Case) -> None:
    want = evaluate_function(_main(case.module), [case.x])
    got = xtvm.build(case.module, opt_level=3).run([case.x])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
