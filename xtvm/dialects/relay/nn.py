"""Neural-network relay ops: convolution, dense/matmul, pooling, normalization, softmax.

Layouts: activations NCHW, conv weights OIHW (I = C / groups), dense weights [N, K]
(TVM's convention: ``dense(x, w) = x @ w.T``). Padding is ``[top, left, bottom, right]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    AnyFloat,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import (
    RelayOp,
    broadcast_shapes,
    conv_out_dim,
    elt_of,
    i64_array,
    pool_out_dim,
    shape_of,
    tensor_type,
)


def _ints(a: DenseArrayBase | None, default: Sequence[int]) -> tuple[int, ...]:
    return tuple(default) if a is None else tuple(int(v) for v in a.get_values())


def _check_len(name: str, what: str, values: Sequence[int], n: int, positive: bool = True) -> None:
    if len(values) != n:
        raise VerifyException(f"{name}: {what} must have {n} values, got {len(values)}")
    if positive and any(v <= 0 for v in values):
        raise VerifyException(f"{name}: {what} must be positive, got {list(values)}")
    if not positive and any(v < 0 for v in values):
        raise VerifyException(f"{name}: {what} must be non-negative, got {list(values)}")


def _float_tensor(op: RelayOp, v: SSAValue, rank: int | None = None) -> tuple[int, ...]:
    if not isinstance(elt_of(v), AnyFloat):
        raise VerifyException(f"{op.name}: expects floating-point tensors, got {v.type}")
    s = shape_of(v)
    if rank is not None and len(s) != rank:
        raise VerifyException(f"{op.name}: expects a rank-{rank} tensor, got {v.type}")
    return s


@irdl_op_definition
class Conv2dOp(RelayOp):
    """2-D convolution, NCHW x OIHW -> NCHW, with groups (depthwise when groups == C)."""

    name = "relay.conv2d"
    data = operand_def(TensorType)
    weight = operand_def(TensorType)
    strides = prop_def(DenseArrayBase.constr(i64))
    padding = prop_def(DenseArrayBase.constr(i64))
    dilation = prop_def(DenseArrayBase.constr(i64))
    groups = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $weight attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        weight: SSAValue,
        strides: Sequence[int] = (1, 1),
        padding: Sequence[int] = (0, 0, 0, 0),
        dilation: Sequence[int] = (1, 1),
        groups: int = 1,
    ):
        super().__init__(
            operands=[data, weight],
            result_types=[data.type],
            properties={
                "strides": i64_array(strides),
                "padding": i64_array(padding),
                "dilation": i64_array(dilation),
                "groups": IntegerAttr(groups, i64),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def attrs(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
        """(strides, padding, dilation, groups) as Python ints."""
        return (
            _ints(self.strides, (1, 1)),
            _ints(self.padding, (0, 0, 0, 0)),
            _ints(self.dilation, (1, 1)),
            self.groups.value.data,
        )

    def infer_type(self) -> TensorType:
        n, c, h, w = _float_tensor(self, self.data, 4)
        o, i, kh, kw = _float_tensor(self, self.weight, 4)
        strides, padding, dilation, groups = self.attrs
        _check_len(self.name, "strides", strides, 2)
        _check_len(self.name, "dilation", dilation, 2)
        _check_len(self.name, "padding", padding, 4, positive=False)
        if groups <= 0 or c % groups or o % groups:
            raise VerifyException(
                f"{self.name}: groups={groups} must divide input channels {c} and output channels {o}"
            )
        if i * groups != c:
            raise VerifyException(
                f"{self.name}: weight expects {i * groups} input channels, data has {c}"
            )
        oh = conv_out_dim(h, kh, strides[0], padding[0], padding[2], dilation[0])
        ow = conv_out_dim(w, kw, strides[1], padding[1], padding[3], dilation[1])
        if oh <= 0 or ow <= 0:
            raise VerifyException(f"{self.name}: kernel larger than padded input")
        return tensor_type((n, o, oh, ow), elt_of(self.data))


@irdl_op_definition
class DenseOp(RelayOp):
    """``x @ w.T``: x is [..., K], w is [N, K]; result [..., N]."""

    name = "relay.dense"
    data = operand_def(TensorType)
    weight = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $weight attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, weight: SSAValue):
        super().__init__(operands=[data, weight], result_types=[data.type])
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        xs = _float_tensor(self, self.data)
        ws = _float_tensor(self, self.weight, 2)
        if len(xs) < 1 or xs[-1] != ws[1]:
            raise VerifyException(f"{self.name}: reduction dims differ: data {xs}, weight {ws}")
        return tensor_type((*xs[:-1], ws[0]), elt_of(self.data))


@irdl_op_definition
class BatchMatmulOp(RelayOp):
    """numpy ``matmul`` for rank >= 2 operands: [..., M, K] x [..., K, N], batch dims broadcast."""

    name = "relay.batch_matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[lhs, rhs], result_types=[lhs.type])
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        a = _float_tensor(self, self.lhs)
        b = _float_tensor(self, self.rhs)
        if len(a) < 2 or len(b) < 2:
            raise VerifyException(f"{self.name}: operands must have rank >= 2")
        if a[-1] != b[-2]:
            raise VerifyException(f"{self.name}: inner dims differ: {a} x {b}")
        batch = broadcast_shapes(a[:-2], b[:-2])
        return tensor_type((*batch, a[-2], b[-1]), elt_of(self.lhs))


class Pool2dOp(RelayOp):
    data = operand_def(TensorType)
    pool_size = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    padding = prop_def(DenseArrayBase.constr(i64))
    dilation = prop_def(DenseArrayBase.constr(i64))
    ceil_mode = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        pool_size: Sequence[int],
        strides: Sequence[int] = (1, 1),
        padding: Sequence[int] = (0, 0, 0, 0),
        dilation: Sequence[int] = (1, 1),
        ceil_mode: bool = False,
        extra: dict | None = None,
    ):
        props = {
            "pool_size": i64_array(pool_size),
            "strides": i64_array(strides),
            "padding": i64_array(padding),
            "dilation": i64_array(dilation),
            "ceil_mode": IntegerAttr(int(ceil_mode), i64),
            **(extra or {}),
        }
        super().__init__(operands=[data], result_types=[data.type], properties=props)
        self._set_result_type(self.infer_type())

    @property
    def attrs(
        self,
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], bool]:
        """(pool_size, strides, padding, dilation, ceil_mode)."""
        return (
            _ints(self.pool_size, ()),
            _ints(self.strides, (1, 1)),
            _ints(self.padding, (0, 0, 0, 0)),
            _ints(self.dilation, (1, 1)),
            bool(self.ceil_mode.value.data),
        )

    def infer_type(self) -> TensorType:
        n, c, h, w = _float_tensor(self, self.data, 4)
        ks, strides, padding, dilation, ceil_mode = self.attrs
        _check_len(self.name, "pool_size", ks, 2)
        _check_len(self.name, "strides", strides, 2)
        _check_len(self.name, "dilation", dilation, 2)
        _check_len(self.name, "padding", padding, 4, positive=False)
        if padding[0] >= ks[0] * dilation[0] or padding[1] >= ks[1] * dilation[1]:
            raise VerifyException(f"{self.name}: padding must be smaller than the window")
        oh = pool_out_dim(h, ks[0], strides[0], padding[0], padding[2], dilation[0], ceil_mode)
        ow = pool_out_dim(w, ks[1], strides[1], padding[1], padding[3], dilation[1], ceil_mode)
        if oh <= 0 or ow <= 0:
            raise VerifyException(f"{self.name}: window larger than padded input")
        return tensor_type((n, c, oh, ow), elt_of(self.data))


@irdl_op_definition
class MaxPool2dOp(Pool2dOp):
    """Max pooling; padded positions never win (they are -inf)."""

    name = "relay.max_pool2d"


@irdl_op_definition
class AvgPool2dOp(Pool2dOp):
    """Average pooling; ``count_include_pad`` decides the divisor at the borders."""

    name = "relay.avg_pool2d"
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
class GlobalAvgPool2dOp(RelayOp):
    """Mean over H and W, keeping them as size-1 dims: [N, C, H, W] -> [N, C, 1, 1]."""

    name = "relay.global_avg_pool2d"
    data = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue):
        super().__init__(operands=[data], result_types=[data.type])
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        n, c, _, _ = _float_tensor(self, self.data, 4)
        return tensor_type((n, c, 1, 1), elt_of(self.data))


@irdl_op_definition
class BatchNormOp(RelayOp):
    """Inference batch norm over axis 1: ``(x - mean) / sqrt(var + eps) * gamma + beta``."""

    name = "relay.batch_norm"
    data = operand_def(TensorType)
    gamma = operand_def(TensorType)
    beta = operand_def(TensorType)
    mean = operand_def(TensorType)
    var = operand_def(TensorType)
    epsilon = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $gamma `,` $beta `,` $mean `,` $var attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        gamma: SSAValue,
        beta: SSAValue,
        mean: SSAValue,
        var: SSAValue,
        epsilon: float = 1e-5,
    ):
        super().__init__(
            operands=[data, gamma, beta, mean, var],
            result_types=[data.type],
            properties={"epsilon": FloatAttr(epsilon, f32)},
        )

    def infer_type(self) -> TensorType:
        s = _float_tensor(self, self.data)
        if len(s) < 2:
            raise VerifyException(f"{self.name}: data must have rank >= 2")
        for p in (self.gamma, self.beta, self.mean, self.var):
            if shape_of(p) != (s[1],):
                raise VerifyException(
                    f"{self.name}: parameters must have shape ({s[1]},), got {p.type}"
                )
        return self.data.type  # type: ignore[return-value]


@irdl_op_definition
class SoftmaxOp(RelayOp):
    """Softmax along ``axis`` (normalized to be non-negative)."""

    name = "relay.softmax"
    data = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, axis: int = -1):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={"axis": IntegerAttr(axis % max(rank, 1), i64)},
        )

    def infer_type(self) -> TensorType:
        s = _float_tensor(self, self.data)
        if not 0 <= self.axis.value.data < len(s):
            raise VerifyException(
                f"{self.name}: axis {self.axis.value.data} out of range for rank {len(s)}"
            )
        return self.data.type  # type: ignore[return-value]
