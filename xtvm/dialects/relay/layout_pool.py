"""Pooling on blocked ``NCHW{cb}c`` data ``[N, C/cb, H, W, cb]``, for ``relay-alter-layout``.

Same attributes and window rules as ``relay.max_pool2d`` / ``relay.avg_pool2d`` /
``relay.global_avg_pool2d``; only the layout differs (the block axis is carried through), so a
blocked convolution chain need not leave the blocked layout around a pooling layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import AnyFloat, IntegerAttr, TensorType, i64
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, pool_out_dim, shape_of, tensor_type
from xtvm.dialects.relay.nn import Pool2dOp


def _blocked(op: RelayOp, v: SSAValue) -> tuple[int, ...]:
    if not isinstance(elt_of(v), AnyFloat):
        raise VerifyException(f"{op.name}: expects floating-point tensors, got {v.type}")
    s = shape_of(v)
    if len(s) != 5:
        raise VerifyException(f"{op.name}: expects a rank-5 NCHWc tensor, got {v.type}")
    return s


def _check(name: str, what: str, values: Sequence[int], n: int, lowest: int) -> None:
    if len(values) != n:
        raise VerifyException(f"{name}: {what} must have {n} values, got {len(values)}")
    if any(v < lowest for v in values):
        raise VerifyException(f"{name}: {what} must be >= {lowest}, got {list(values)}")


class _BlockedPool2dOp(Pool2dOp):
    """``Pool2dOp`` whose data and result carry a trailing channel block."""

    FUSE_PATTERN: ClassVar[str] = "comm_reduce"

    def infer_type(self) -> TensorType:
        n, cblocks, h, w, cb = _blocked(self, self.data)
        ks, strides, padding, dilation, ceil_mode = self.attrs
        _check(self.name, "pool_size", ks, 2, 1)
        _check(self.name, "strides", strides, 2, 1)
        _check(self.name, "dilation", dilation, 2, 1)
        _check(self.name, "padding", padding, 4, 0)
        if padding[0] >= ks[0] * dilation[0] or padding[1] >= ks[1] * dilation[1]:
            raise VerifyException(f"{self.name}: padding must be smaller than the window")
        oh = pool_out_dim(h, ks[0], strides[0], padding[0], padding[2], dilation[0], ceil_mode)
        ow = pool_out_dim(w, ks[1], strides[1], padding[1], padding[3], dilation[1], ceil_mode)
        if oh <= 0 or ow <= 0:
            raise VerifyException(f"{self.name}: window larger than padded input")
        return tensor_type((n, cblocks, oh, ow, cb), elt_of(self.data))


@irdl_op_definition
class MaxPool2dNchwcOp(_BlockedPool2dOp):
    """Max pooling over H and W of blocked data; padded positions never win."""

    name = "relay.max_pool2d_nchwc"


@irdl_op_definition
class AvgPool2dNchwcOp(_BlockedPool2dOp):
    """Average pooling over H and W of blocked data (``count_include_pad`` as in
    ``relay.avg_pool2d``)."""

    name = "relay.avg_pool2d_nchwc"
    count_include_pad = opt_prop_def(IntegerAttr)

    def __init__(
        self, data: SSAValue, pool_size: Sequence[int], count_include_pad: bool = False, **kw
    ):
        super().__init__(
            data,
            pool_size,
            extra={"count_include_pad": IntegerAttr(int(count_include_pad), i64)},
            **kw,
        )

    @property
    def include_pad(self) -> bool:
        return bool(self.count_include_pad and self.count_include_pad.value.data)


@irdl_op_definition
class GlobalAvgPool2dNchwcOp(RelayOp):
    """Mean over H and W: ``[N, C/cb, H, W, cb] -> [N, C/cb, 1, 1, cb]``."""

    name = "relay.global_avg_pool2d_nchwc"
    FUSE_PATTERN: ClassVar[str] = "comm_reduce"
    data = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue):
        super().__init__(operands=[data], result_types=[data.type])
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        n, cblocks, _, _, cb = _blocked(self, self.data)
        return tensor_type((n, cblocks, 1, 1, cb), elt_of(self.data))
