"""relay-alter-layout never changes results: random small conv / elementwise / pooling graphs.

Each graph is a chain over NCHW tensors of random channel counts (so blocks that are and are
not the lane count both occur) with side inputs from earlier values (residual adds,
concatenations), grouped convs (blocked, or NCHW with one output channel per group) and ops
that cannot take the blocked layout (a reshape round trip, softmax). The numpy evaluator's results before and after
``relay-alter-layout,relay-fold-constant`` must agree; a few graphs are also compiled with -O3
and compared with the evaluator on the original graph.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region, SSAValue

import xtvm
from xtvm.context import make_context
from xtvm.dialects import relay
from xtvm.passes.registry import PIPELINES, parse_pipeline
from xtvm.passes.relay.alter_layout_rules import channel_block
from xtvm.passes.relay.evaluate import evaluate_function

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KINDS = (
    *("conv", "conv", "conv", "bias", "bias", "unary", "residual", "pool", "pool"),
    *("concat", "opaque", "resize", "pad"),
)


class _Graph:
    """A function body under construction; ``cur`` is the value the next op consumes."""

    def __init__(self, draw: Callable, shape: tuple[int, ...]):
        self.draw = draw
        self.block = Block(arg_types=[relay.tensor_type(shape)])
        self.values: list[SSAValue] = [self.block.args[0]]
        self.rng = np.random.default_rng(draw(st.integers(0, 2**16)))

    @property
    def cur(self) -> SSAValue:
        return self.values[-1]

    def emit(self, op) -> SSAValue:
        self.block.add_op(op)
        self.values.append(op.results[0])
        return op.results[0]

    def const(self, shape: tuple[int, ...], scale: float = 0.5) -> SSAValue:
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        op = relay.ConstantOp.from_numpy(data)
        self.block.add_op(op)
        return op.result

    def same_shape(self, want: Callable[[tuple[int, ...]], bool]) -> SSAValue | None:
        found = [v for v in self.values[:-1] if want(relay.shape_of(v))]
        return self.draw(st.sampled_from(found)) if found else None


def _conv(g: _Graph) -> None:
    n, c, h, w = relay.shape_of(g.cur)
    d = g.draw
    k = d(st.sampled_from((1, 3)))
    stride = d(st.sampled_from((1, 1, 2)))
    pad = d(st.integers(0, k // 2))
    if h + 2 * pad < k or w + 2 * pad < k:
        return
    style = d(st.sampled_from(("dense", "dense", "depthwise", "grouped")))
    if style == "depthwise":
        o, groups = c, c
    else:
        o = d(st.integers(1, 24))
        divisors = [q for q in (2, 3, 4, 6, 8) if c % q == 0 and o % q == 0]
        groups = d(st.sampled_from(divisors)) if style == "grouped" and divisors else 1
    w_ = g.const((o, c // groups, k, k), scale=1.0 / np.sqrt(c * k * k / groups))
    g.emit(relay.Conv2dOp(g.cur, w_, (stride, stride), (pad,) * 4, (1, 1), groups))


def _bias(g: _Graph) -> None:
    _, c, h, w = relay.shape_of(g.cur)
    shape = g.draw(st.sampled_from([(c, 1, 1), (1, c, 1, 1), (), (1,), (w,), (1, 1, h, w)]))
    op = g.draw(st.sampled_from((relay.AddOp, relay.MultiplyOp, relay.SubtractOp)))
    g.emit(op(g.cur, g.const(shape)))


def _unary(g: _Graph) -> None:
    kind = g.draw(st.sampled_from(("relu", "sigmoid", "clip", "abs", "tanh")))
    x = g.cur
    op = {
        "relu": lambda: relay.ReluOp(x),
        "sigmoid": lambda: relay.SigmoidOp(x),
        "clip": lambda: relay.ClipOp(x, -0.5, 1.0),
        "abs": lambda: relay.AbsOp(x),
        "tanh": lambda: relay.TanhOp(x),
    }[kind]()
    g.emit(op)


def _residual(g: _Graph) -> None:
    shape = relay.shape_of(g.cur)
    other = g.same_shape(lambda s: s == shape)
    if other is None:
        other = g.block.args[0] if relay.shape_of(g.block.args[0]) == shape else None
    if other is not None:
        op = g.draw(st.sampled_from((relay.AddOp, relay.MaximumOp)))
        g.emit(op(g.cur, other))


def _pool(g: _Graph) -> None:
    _, _, h, w = relay.shape_of(g.cur)
    d = g.draw
    kind = d(st.sampled_from(("max", "avg", "global")))
    if kind == "global":
        g.emit(relay.GlobalAvgPool2dOp(g.cur))
        return
    k = d(st.integers(1, 3))
    if k > min(h, w):
        return
    kw = {
        "strides": (d(st.integers(1, 2)),) * 2,
        "padding": (d(st.integers(0, k - 1)),) * 4,
        "ceil_mode": d(st.booleans()),
    }
    if kind == "max":
        g.emit(relay.MaxPool2dOp(g.cur, (k, k), **kw))
    else:
        g.emit(relay.AvgPool2dOp(g.cur, (k, k), d(st.booleans()), **kw))


def _concat(g: _Graph) -> None:
    n, _, h, w = relay.shape_of(g.cur)
    other = g.same_shape(lambda s: len(s) == 4 and (s[0], s[2], s[3]) == (n, h, w))
    if other is not None:
        g.emit(relay.ConcatenateOp([g.cur, other], 1))


def _opaque(g: _Graph) -> None:
    shape = relay.shape_of(g.cur)
    kind = g.draw(st.sampled_from(("reshape", "softmax")))
    if kind == "softmax":
        g.emit(relay.SoftmaxOp(g.cur, 1))
        return
    flat = g.emit(relay.ReshapeOp(g.cur, (shape[0], int(np.prod(shape[1:])))))
    g.emit(relay.ReshapeOp(flat, shape))


def _resize(g: _Graph) -> None:
    n, c, h, w = relay.shape_of(g.cur)
    if h * w > 64:
        return
    g.emit(
        relay.ResizeOp(
            g.cur, (n, c, 2 * h, 2 * w), (1.0, 1.0, 2.0, 2.0), "nearest", "asymmetric", "floor"
        )
    )


def _pad(g: _Graph) -> None:
    d = g.draw
    before, after = (
        (0, 0, d(st.integers(0, 2)), d(st.integers(0, 2))),
        (0, 0, d(st.integers(0, 2)), 1),
    )
    g.emit(relay.PadOp(g.cur, before, after, d(st.sampled_from(("constant", "edge"))), 0.5))


_RULES = {
    "conv": _conv,
    "bias": _bias,
    "unary": _unary,
    "residual": _residual,
    "pool": _pool,
    "concat": _concat,
    "opaque": _opaque,
    "resize": _resize,
    "pad": _pad,
}


class Case:
    """A graph and its input; shown as IR when hypothesis reports a failing example."""

    def __init__(self, module: ModuleOp, x: np.ndarray):
        self.module, self.x = module, x

    def __repr__(self) -> str:
        return f"input {list(self.x.shape)}\n{self.module}"


@st.composite
def graphs(draw) -> Case:
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 20)),
        draw(st.integers(3, 8)),
        draw(st.integers(3, 8)),
    )
    g = _Graph(draw, shape)
    _RULES["conv"](g)
    for kind in draw(st.lists(st.sampled_from(KINDS), min_size=2, max_size=7)):
        _RULES[kind](g)
    outs = [g.cur]
    extra = g.values[1:-1]
    if extra and draw(st.booleans()):
        outs.append(draw(st.sampled_from(extra)))
    g.block.add_op(ReturnOp(*outs))
    types = ([a.type for a in g.block.args], [o.type for o in outs])
    module = ModuleOp([FuncOp("main", types, Region(g.block))])
    module.verify()
    return Case(module, g.rng.standard_normal(shape).astype(np.float32))


def _main(module: ModuleOp) -> FuncOp:
    return next(op for op in module.ops if isinstance(op, FuncOp))


@settings(max_examples=120, **SETTINGS)
@given(graphs(), st.sampled_from((128, 256, 512)))
def test_alter_layout_keeps_results(case: Case, vector_bits: int) -> None:
    module, x = case.module, case.x
    before = evaluate_function(_main(module), [x])
    types = _main(module).function_type
    for p in parse_pipeline(f"relay-alter-layout{{vector-bits={vector_bits}}},relay-fold-constant"):
        p.apply(make_context(), module)
    module.verify()
    assert _main(module).function_type == types
    ops = list(_main(module).body.block.ops)
    for op in ops:
        if isinstance(op, relay.Conv2dOp):  # only grouped convs with 1-wide blocks stay NCHW
            groups, c, o = op.attrs[3], relay.shape_of(op.data)[1], relay.shape_of(op.weight)[0]
            assert groups > 1 and not groups == c == o
            assert channel_block(o // groups, vector_bits // 32) == 1
        if isinstance(op, relay.LayoutTransformOp):  # transform chains were merged
            assert not isinstance(op.data.owner, relay.LayoutTransformOp)
    after = evaluate_function(_main(module), [x])
    for b, a in zip(before, after):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@settings(max_examples=8, **SETTINGS)
@given(graphs(), st.sampled_from((128, 256, 0)))
def test_compiled_o3_matches_the_evaluator(case: Case, vector_bits: int) -> None:
    module, x = case.module, case.x
    want = evaluate_function(_main(module), [x])
    pipeline = PIPELINES["O3"]
    if vector_bits:
        pipeline = pipeline.replace(
            "relay-alter-layout", f"relay-alter-layout{{vector-bits={vector_bits}}}"
        )
    got = xtvm.build(module, pipeline=pipeline).run([x])
    for g_, w in zip(got, want):
        np.testing.assert_allclose(g_, w, rtol=1e-4, atol=1e-4)
