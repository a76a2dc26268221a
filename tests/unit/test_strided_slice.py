"""relay.strided_slice: verifier, numpy evaluator and compiled code agree with numpy slicing."""

import numpy as np
import pytest
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

import xtvm
from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import evaluate_function

CASES = [
    # (input shape, begin, strides, out shape, numpy slice)
    ((4, 10, 6), (1, 9, 0), (2, -3, 2), (2, 4, 3), np.s_[1:4:2, 9::-3, 0::2]),
    ((5, 7), (0, 2), (1, 1), (5, 3), np.s_[:, 2:5]),
    ((16,), (15,), (-1,), (16,), np.s_[::-1]),
]


def _module(shape, begin, strides, out_shape) -> tuple[ModuleOp, func.FuncOp]:
    blk = Block(arg_types=[relay.tensor_type(shape)])
    b = Builder(InsertPoint.at_end(blk))
    s = b.insert(relay.StridedSliceOp(blk.args[0], begin, strides, out_shape))
    r = b.insert(relay.ReluOp(s.result))
    b.insert(func.ReturnOp(r.result))
    fn = func.FuncOp("main", ([blk.args[0].type], [r.result.type]), Region(blk))
    return ModuleOp([fn]), fn


@pytest.mark.parametrize("shape,begin,strides,out_shape,sl", CASES)
def test_strided_slice_matches_numpy(shape, begin, strides, out_shape, sl):
    m, fn = _module(shape, begin, strides, out_shape)
    m.verify()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want = np.maximum(x[sl], 0)
    np.testing.assert_array_equal(evaluate_function(fn, [x])[0], want)
    np.testing.assert_array_equal(xtvm.build(m)(x), want)


def test_strided_slice_out_of_bounds_is_rejected():
    m, _ = _module((4, 4), (0, 2), (1, 1), (4, 3))
    with pytest.raises(VerifyException, match="outside"):
        m.verify()
