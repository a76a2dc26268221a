"""convert-relay-to-te: structure of the produced kernels and numerics against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp, StringAttr, TensorType, f32
from xdsl.ir import Block, Region
from xdsl.irdl import irdl_op_definition, operand_def, result_def
from xdsl.parser import Parser

from xtvm.context import make_context
from xtvm.dialects import relay, te
from xtvm.errors import CompileError
from xtvm.lowering.relay_to_te import LOWERINGS, ConvertRelayToTePass
from xtvm.topi.reference import evaluate_module

RNG = np.random.default_rng(1)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def lower_text(text: str) -> ModuleOp:
    ctx = make_context()
    m = Parser(ctx, text).parse_module()
    ConvertRelayToTePass(vector_bits=256).apply(ctx, m)
    m.verify()
    return m


def graph(inputs: list[np.ndarray], build) -> ModuleOp:
    """``@main`` over ``inputs``' types whose body ``build(*args)`` makes, then returns."""
    types = [TensorType(f32, list(a.shape)) for a in inputs]
    block = Block(arg_types=types)
    ops: list = []
    out = build(ops, *block.args)
    block.add_ops([*ops, func.ReturnOp(out)])
    fn = func.FuncOp("main", (types, [out.type]), Region(block))
    return ModuleOp([fn])


def lower(m: ModuleOp) -> ModuleOp:
    m.verify()
    ConvertRelayToTePass(vector_bits=512).apply(make_context(), m)
    m.verify()
    return m


def kernels(m: ModuleOp) -> list[te.KernelOp]:
    return [o for o in m.body.block.ops if isinstance(o, te.KernelOp)]


def main_of(m: ModuleOp) -> func.FuncOp:
    return next(o for o in m.body.block.ops if isinstance(o, func.FuncOp))


PROGRAM = """
func.func @main(%x: tensor<1x3x8x8xf32> {xtvm.name = "x"}) -> (tensor<1x4xf32> {xtvm.name = "y"}) {
  %w = relay.constant dense<0.5> : tensor<4x3x3x3xf32>
  %b = relay.constant dense<[[[1.0]], [[-2.0]], [[3.0]], [[-4.0]]]> : tensor<4x1x1xf32>
  %c = relay.fused "fused_conv2d_add_relu" (%x, %w, %b) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4x1x1xf32>) -> (tensor<1x4x8x8xf32>) {
  ^bb0(%a: tensor<1x3x8x8xf32>, %k: tensor<4x3x3x3xf32>, %bias: tensor<4x1x1xf32>):
    %0 = relay.conv2d %a, %k {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
    %1 = relay.add %0, %bias : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
    %2 = relay.relu %1 : tensor<1x4x8x8xf32>
    relay.yield %2 : tensor<1x4x8x8xf32>
  }
  %p = relay.fused "fused_pool_flatten" (%c) : (tensor<1x4x8x8xf32>) -> (tensor<1x4xf32>) {
  ^bb0(%a: tensor<1x4x8x8xf32>):
    %0 = relay.global_avg_pool2d %a : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
    %1 = relay.flatten %0 {axis = 1 : i64} : (tensor<1x4x1x1xf32>) -> tensor<1x4xf32>
    relay.yield %1 : tensor<1x4xf32>
  }
  %s = relay.softmax %p {axis = 1 : i64} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %s : tensor<1x4xf32>
}
"""


def test_program_structure():
    m = lower_text(PROGRAM)
    names = [k.sym_name.data for k in kernels(m)]
    assert names == ["fused_conv2d_add_relu", "fused_pool_flatten", "fused_softmax"]
    conv = kernels(m)[0]
    assert [c.stage_name.data for c in conv.computes] == ["pad", "conv2d", "add", "relu"]
    assert [p.tensor_name.data for p in conv.placeholders] == ["p0", "p1", "p2"]
    inlined = {
        o.stage.owner.stage_name.data
        for o in conv.schedule.block.ops
        if isinstance(o, te.ComputeInlineOp)
    }
    assert inlined == {"pad", "add"}
    fn = main_of(m)
    assert [o.name for o in fn.body.block.ops] == [
        "arith.constant",
        "arith.constant",
        "te.call",
        "te.call",
        "te.call",
        "func.return",
    ]
    assert fn.arg_attrs is not None and fn.res_attrs is not None
    assert fn.arg_attrs.data[0] == DictionaryAttr({"xtvm.name": StringAttr("x")})
    assert fn.res_attrs.data[0] == DictionaryAttr({"xtvm.name": StringAttr("y")})
    assert not [o for o in m.walk() if o.name.startswith("relay.")]


def test_program_numerics():
    m = lower_text(PROGRAM)
    x = rand(1, 3, 8, 8)
    w = np.full((4, 3, 3, 3), 0.5, np.float32)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((1, 4, 8, 8))
    for ky in range(3):
        for kx in range(3):
            conv += np.einsum("nchw,oc->nohw", xp[:, :, ky : ky + 8, kx : kx + 8], w[:, :, ky, kx])
    r = np.maximum(conv + np.array([1.0, -2.0, 3.0, -4.0])[:, None, None], 0)
    p = r.mean(axis=(2, 3)).reshape(1, 4)
    e = np.exp(p - p.max(axis=1, keepdims=True))
    (got,) = evaluate_module(m, [x])
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=1e-5)


def test_names_unique_constants_hoisted_and_inputs_copied():
    text = """
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = relay.fused "k" (%x) : (tensor<4xf32>) -> (tensor<4xf32>) {
  ^bb0(%p: tensor<4xf32>):
    %c = relay.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
    %0 = relay.multiply %p, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    relay.yield %0 : tensor<4xf32>
  }
  %b, %d = relay.fused "k" (%a) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%p: tensor<4xf32>):
    %0 = relay.exp %p : tensor<4xf32>
    relay.yield %p, %0 : tensor<4xf32>, tensor<4xf32>
  }
  func.return %b, %d : tensor<4xf32>, tensor<4xf32>
}
"""
    m = lower_text(text)
    k0, k1 = kernels(m)
    assert (k0.sym_name.data, k1.sym_name.data) == ("k", "k_1")
    assert len(k0.placeholders) == 2  # the group's constant came in as an extra input
    assert [c.stage_name.data for c in k1.computes] == ["exp", "copy"]
    assert k1.return_op.values[0] is k1.computes[1].result
    x = rand(4)
    b, d = evaluate_module(m, [x])
    np.testing.assert_allclose(b, x * [1, 2, 3, 4])
    np.testing.assert_allclose(d, np.exp(b), rtol=1e-6)


def _conv(ops, x, w):
    ops.append(relay.Conv2dOp(x, w, (2, 1), (1, 0, 0, 1), (1, 2), 1))
    return ops[-1].result


def _const(ops, arr):
    ops.append(relay.ConstantOp.from_numpy(arr))
    return ops[-1].result


def _op(ops, op):
    ops.append(op)
    return op.results[0]


CASES = {
    "add": ([rand(2, 3), rand(3)], lambda o, a, b: _op(o, relay.AddOp(a, b)), lambda a, b: a + b),
    "subtract": (
        [rand(1, 3), rand(2, 1)],
        lambda o, a, b: _op(o, relay.SubtractOp(a, b)),
        lambda a, b: a - b,
    ),
    "multiply": (
        [rand(2, 3), rand(2, 3)],
        lambda o, a, b: _op(o, relay.MultiplyOp(a, b)),
        lambda a, b: a * b,
    ),
    "divide": (
        [rand(2, 3), rand(1)],
        lambda o, a, b: _op(o, relay.DivideOp(a, b)),
        lambda a, b: a / b,
    ),
    "minimum": ([rand(2, 3), rand(3)], lambda o, a, b: _op(o, relay.MinimumOp(a, b)), np.minimum),
    "relu": ([rand(5)], lambda o, a: _op(o, relay.ReluOp(a)), lambda a: np.maximum(a, 0)),
    "clip": (
        [rand(5)],
        lambda o, a: _op(o, relay.ClipOp(a, -0.3, 0.2)),
        lambda a: np.clip(a, -0.3, 0.2),
    ),
    "dense": (
        [rand(3, 4), rand(5, 4)],
        lambda o, a, b: _op(o, relay.DenseOp(a, b)),
        lambda a, b: a @ b.T,
    ),
    "batch_matmul": (
        [rand(2, 3, 4), rand(4, 2)],
        lambda o, a, b: _op(o, relay.BatchMatmulOp(a, b)),
        np.matmul,
    ),
    "conv2d": (
        [rand(1, 2, 5, 6), rand(3, 2, 2, 2)],
        _conv,
        lambda x, w: np.stack(
            [
                sum(
                    np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 1)))[
                        0, :, ky : ky + 5 : 2, 2 * kx : 2 * kx + 5
                    ]
                    * w[o, :, ky, kx][:, None, None]
                    for ky in range(2)
                    for kx in range(2)
                ).sum(axis=0)
                for o in range(3)
            ]
        )[None],
    ),
    "max_pool2d": (
        [rand(1, 1, 4, 4)],
        lambda o, a: _op(o, relay.MaxPool2dOp(a, (2, 2), (2, 2))),
        lambda a: a.reshape(1, 1, 2, 2, 2, 2).max(axis=(3, 5)),
    ),
    "avg_pool2d": (
        [rand(1, 1, 4, 4)],
        lambda o, a: _op(o, relay.AvgPool2dOp(a, (2, 2), strides=(2, 2))),
        lambda a: a.reshape(1, 1, 2, 2, 2, 2).mean(axis=(3, 5)),
    ),
    "batch_norm": (
        [rand(2, 3, 2)],
        lambda o, a: _op(
            o,
            relay.BatchNormOp(
                a,
                _const(o, np.array([1.0, 2.0, 0.5], np.float32)),
                _const(o, np.array([0.0, 1.0, -1.0], np.float32)),
                _const(o, np.array([0.1, 0.2, 0.3], np.float32)),
                _const(o, np.array([1.0, 4.0, 0.25], np.float32)),
                0.0,
            ),
        ),
        lambda a: (
            (a - [[0.1], [0.2], [0.3]]) / np.sqrt([[1.0], [4.0], [0.25]]) * [[1.0], [2.0], [0.5]]
            + [[0.0], [1.0], [-1.0]]
        ),
    ),
    "reshape": (
        [rand(2, 6)],
        lambda o, a: _op(o, relay.ReshapeOp(a, (3, 2, 2))),
        lambda a: a.reshape(3, 2, 2),
    ),
    "transpose": (
        [rand(2, 3, 4)],
        lambda o, a: _op(o, relay.TransposeOp(a, (1, 2, 0))),
        lambda a: a.transpose(1, 2, 0),
    ),
    "concatenate": (
        [rand(2, 1), rand(2, 3)],
        lambda o, a, b: _op(o, relay.ConcatenateOp([a, b, a], 1)),
        lambda a, b: np.concatenate([a, b, a], 1),
    ),
    "scalar": (
        [np.array(2.5, np.float32), rand(3)],
        lambda o, a, b: _op(o, relay.ReshapeOp(_op(o, relay.AddOp(a, b)), (3, 1))),
        lambda a, b: (a + b).reshape(3, 1),
    ),
    "tanh_sigmoid_exp": (
        [rand(4)],
        lambda o, a: _op(o, relay.ExpOp(_op(o, relay.SigmoidOp(_op(o, relay.TanhOp(a)))))),
        lambda a: np.exp(1 / (1 + np.exp(-np.tanh(a)))),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unfused_ops_as_singleton_kernels(case):
    inputs, build, ref = CASES[case]
    m = lower(graph(inputs, build))
    n_relay = len([o for o in kernels(m)])
    assert n_relay >= 1 and all(k.schedule is not None for k in kernels(m))
    assert all(k.sym_name.data.startswith("fused_") for k in kernels(m))
    (got,) = evaluate_module(m, inputs)
    np.testing.assert_allclose(got, ref(*inputs), rtol=1e-5, atol=1e-6)


def test_every_relay_op_has_a_lowering():
    ops = {c for c in relay.Relay.operations if issubclass(c, relay.RelayOp)}
    assert ops - set(LOWERINGS) == set()


@irdl_op_definition
class _MysteryOp(relay.RelayOp):
    name = "relay.mystery"
    input = operand_def(TensorType)
    result = result_def(TensorType)

    def infer_type(self):
        return self.input.type


def test_unsupported_op_is_a_compile_error():
    m = graph(
        [rand(3)], lambda o, a: _op(o, _MysteryOp.create(operands=[a], result_types=[a.type]))
    )
    with pytest.raises(CompileError, match="relay.mystery"):
        ConvertRelayToTePass().apply(make_context(), m)
