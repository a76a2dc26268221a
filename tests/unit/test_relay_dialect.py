"""relay dialect: constructors infer result types, verifiers reject bad shapes, text round-trips."""

from __future__ import annotations

import io

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp, f32, i64
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from xtvm.context import make_context
from xtvm.dialects import relay


def arg(*shape: int, elt=f32) -> SSAValue:
    return Block(arg_types=[relay.tensor_type(shape, elt)]).args[0]


def shape(op: Operation) -> tuple[int, ...]:
    return relay.shape_of(op.results[0])


def test_constructors_infer_result_types():
    x = arg(2, 4, 9, 9)
    conv = relay.Conv2dOp(x, arg(6, 2, 3, 3), (2, 2), (1, 1, 0, 0), (1, 1), 2)
    assert shape(conv) == (2, 6, 4, 4)
    assert shape(relay.Conv2dOp(x, arg(8, 4, 3, 3), dilation=(2, 2))) == (2, 8, 5, 5)
    assert shape(relay.MaxPool2dOp(x, (3, 3), strides=(2, 2), ceil_mode=True)) == (2, 4, 4, 4)
    assert shape(relay.MaxPool2dOp(x, (3, 3), strides=(2, 2))) == (2, 4, 4, 4)
    assert shape(relay.AvgPool2dOp(x, (2, 2), strides=(2, 2), ceil_mode=True)) == (2, 4, 5, 5)
    assert shape(relay.AvgPool2dOp(x, (2, 2), strides=(2, 2))) == (2, 4, 4, 4)
    assert shape(relay.GlobalAvgPool2dOp(x)) == (2, 4, 1, 1)
    assert shape(relay.DenseOp(arg(3, 5, 7), arg(11, 7))) == (3, 5, 11)
    assert shape(relay.BatchMatmulOp(arg(2, 1, 3, 4), arg(5, 4, 6))) == (2, 5, 3, 6)
    assert shape(relay.AddOp(arg(3, 1), arg(4))) == (3, 4)
    assert shape(relay.FlattenOp(x, 2)) == (8, 81)
    assert shape(relay.TransposeOp(arg(2, 3, 4))) == (4, 3, 2)
    assert shape(relay.TransposeOp(arg(2, 3, 4), (0, -1, 1))) == (2, 4, 3)
    assert shape(relay.ConcatenateOp([arg(2, 3), arg(2, 5)], -1)) == (2, 8)
    assert shape(relay.ReshapeOp(arg(2, 3), (3, 2))) == (3, 2)
    assert relay.SoftmaxOp(arg(2, 3), -1).axis.value.data == 1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: relay.AddOp(arg(2, 3), arg(4, 3)), "cannot broadcast shapes [2, 3] and [4, 3]"),
        (lambda: relay.AddOp(arg(2), arg(2, elt=i64)), "element types differ"),
        (lambda: relay.Conv2dOp(arg(1, 3, 8, 8), arg(4, 2, 3, 3)), "weight expects 2 input"),
        (lambda: relay.Conv2dOp(arg(1, 4, 8, 8), arg(6, 1, 3, 3), groups=4), "groups=4"),
        (lambda: relay.DenseOp(arg(2, 3), arg(4, 5)), "reduction dims differ"),
        (lambda: relay.TransposeOp(arg(2, 3), (0, 0)), "not a permutation"),
        (lambda: relay.ConcatenateOp([arg(2, 3), arg(3, 4)], 0), "differ outside axis 0"),
        (lambda: relay.MaxPool2dOp(arg(1, 1, 2, 2), (3, 3)), "window larger"),
    ],
)
def test_constructors_reject_bad_shapes(make, message):
    with pytest.raises(VerifyException, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: relay.ReshapeOp(arg(2, 3), (7,)), "cannot reshape"),
        (lambda: relay.BatchNormOp(arg(1, 4, 2), *[arg(3)] * 4), "parameters must have shape"),
        (lambda: relay.ClipOp(arg(2), 1.0, 0.0), "a_min must not exceed a_max"),
        (lambda: relay.ReluOp(arg(2, elt=i64)), "floating-point"),
    ],
)
def test_verify_rejects(build, message):
    with pytest.raises(VerifyException, match=message):
        build().verify()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([1, -2, 3], np.int64),
        np.array([[True, False]]),
        np.float64(2.5).reshape(()),
    ],
)
def test_constant_numpy_round_trip(array):
    c = relay.ConstantOp.from_numpy(array)
    c.verify()
    back = c.to_numpy()
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def _module() -> ModuleOp:
    block = Block(arg_types=[relay.tensor_type((1, 2, 4, 4))])
    x = block.args[0]
    ops: list[Operation] = []

    def emit(op: Operation) -> SSAValue:
        ops.append(op)
        return op.results[0]

    w = emit(relay.ConstantOp.from_numpy(np.ones((2, 1, 3, 3), np.float32)))
    c = emit(relay.Conv2dOp(x, w, padding=(1, 1, 1, 1), groups=2))
    p = emit(relay.AvgPool2dOp(c, (2, 2), count_include_pad=True, strides=(2, 2)))
    f = emit(relay.FlattenOp(p))
    inner = Block(arg_types=[f.type])
    inner.add_ops([e := relay.ExpOp(inner.args[0]), relay.YieldOp(e.result)])
    g = emit(relay.FusedOp("fused_exp", [f], [f.type], Region(inner)))
    ops.append(ReturnOp(g))
    block.add_ops(ops)
    func = FuncOp("main", ([x.type], [g.type]), Region(block))
    return ModuleOp([func])


@pytest.mark.parametrize("generic", [False, True])
def test_print_parse_round_trip(generic):
    module = _module()
    module.verify()
    out = io.StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(module)
    text = out.getvalue()
    parsed = Parser(make_context(), text).parse_module()
    parsed.verify()
    again = io.StringIO()
    Printer(stream=again, print_generic_format=generic).print_op(parsed)
    assert again.getvalue() == text
    assert parsed.is_structurally_equivalent(module)
