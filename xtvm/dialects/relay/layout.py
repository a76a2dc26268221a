"""Relay ops of the blocked layouts ``relay-alter-layout`` introduces.

``relay.layout_transform`` moves a tensor between layouts in TVM's notation (``NCHW`` ->
``NCHW16c``, ``OIHW`` -> ``OIHW16i16o``; see :mod:`xtvm.dialects.relay.layout_spec`).
``relay.conv2d_nchwc`` is a convolution on ``NCHW{cb}c`` data with an ``OIHW{cb}i{ob}o``
kernel (``OIHW1i{cb}o`` and ``depthwise = 1`` for a depthwise one), producing ``NCHW{ob}c``:
the innermost channels are contiguous, which is what vectorized x86 kernels want. A grouped
one (``groups = G``, left out when 1) has whole blocks in every group: its kernel is the
grouped ``OIHW`` weight ``[O, C/G, KH, KW]`` in ``OIHW{cb}i{ob}o``.
``relay.dense_pack`` is ``relay.dense`` with its ``[N, K]`` weight packed into ``[N/bn, K, bn]``
panels (``wp[j // bn, k, j % bn] = w[j, k]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import AnyFloat, DenseArrayBase, IntegerAttr, StringAttr, TensorType, i64
from xdsl.ir import Attribute, SSAValue
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
    conv_out_dim,
    elt_of,
    i64_array,
    shape_of,
    tensor_type,
)
from xtvm.dialects.relay.layout_spec import transformed_shape


def _ints(a: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in a.get_values())


def _float_tensor(op: RelayOp, v: SSAValue, rank: int | None = None) -> tuple[int, ...]:
    if not isinstance(elt_of(v), AnyFloat):
        raise VerifyException(f"{op.name}: expects floating-point tensors, got {v.type}")
    s = shape_of(v)
    if rank is not None and len(s) != rank:
        raise VerifyException(f"{op.name}: expects a rank-{rank} tensor, got {v.type}")
    return s


def _check(name: str, what: str, values: Sequence[int], n: int, lowest: int) -> None:
    if len(values) != n:
        raise VerifyException(f"{name}: {what} must have {n} values, got {len(values)}")
    if any(v < lowest for v in values):
        raise VerifyException(f"{name}: {what} must be >= {lowest}, got {list(values)}")


@irdl_op_definition
class LayoutTransformOp(RelayOp):
    """The same tensor in another layout (an injective copy)."""

    name = "relay.layout_transform"
    FUSE_PATTERN: ClassVar[str] = "injective"
    data = operand_def(TensorType)
    src_layout = prop_def(StringAttr)
    dst_layout = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, src_layout: str, dst_layout: str):
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={"src_layout": StringAttr(src_layout), "dst_layout": StringAttr(dst_layout)},
        )
        self._set_result_type(self.infer_type())

    @property
    def layouts(self) -> tuple[str, str]:
        return self.src_layout.data, self.dst_layout.data

    def infer_type(self) -> TensorType:
        src, dst = self.layouts
        try:
            shape = transformed_shape(shape_of(self.data), src, dst)
        except ValueError as e:
            raise VerifyException(f"{self.name}: {e}") from None
        return tensor_type(shape, elt_of(self.data))


@irdl_op_definition
class Conv2dNchwcOp(RelayOp):
    """2-D convolution in the blocked channel layout (see the module docstring).

    data ``[N, C/cb, H, W, cb]``, kernel ``[O/ob, C/G/cb, KH, KW, cb, ob]`` (depthwise:
    ``[C/cb, 1, KH, KW, 1, cb]``), result ``[N, O/ob, OH, OW, ob]``; strides, padding
    (``[top, left, bottom, right]``), dilation and ``groups`` (``G``) as in ``relay.conv2d``.
    Output block ``k`` belongs to group ``k // (O/ob/G)`` and reads that group's ``C/G/cb``
    input blocks, so both channel counts per group must be whole blocks."""

    name = "relay.conv2d_nchwc"
    FUSE_PATTERN: ClassVar[str] = "out_elemwise_fusable"
    data = operand_def(TensorType)
    kernel = operand_def(TensorType)
    strides = prop_def(DenseArrayBase.constr(i64))
    padding = prop_def(DenseArrayBase.constr(i64))
    dilation = prop_def(DenseArrayBase.constr(i64))
    depthwise = prop_def(IntegerAttr)
    groups = opt_prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $kernel attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        kernel: SSAValue,
        strides: Sequence[int] = (1, 1),
        padding: Sequence[int] = (0, 0, 0, 0),
        dilation: Sequence[int] = (1, 1),
        depthwise: bool = False,
        groups: int = 1,
    ):
        props: dict[str, Attribute] = {
            "strides": i64_array(strides),
            "padding": i64_array(padding),
            "dilation": i64_array(dilation),
            "depthwise": IntegerAttr(int(depthwise), i64),
        }
        if groups != 1:
            props["groups"] = IntegerAttr(groups, i64)
        super().__init__(operands=[data, kernel], result_types=[data.type], properties=props)
        self._set_result_type(self.infer_type())

    @property
    def attrs(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], bool]:
        """(strides, padding, dilation, depthwise) as Python values."""
        return (
            _ints(self.strides),
            _ints(self.padding),
            _ints(self.dilation),
            bool(self.depthwise.value.data),
        )

    @property
    def group_count(self) -> int:
        """``groups`` as a Python int (1 when the property is left out)."""
        return 1 if self.groups is None else self.groups.value.data

    def infer_type(self) -> TensorType:
        n, cblocks, h, w, cb = _float_tensor(self, self.data, 5)
        oblocks, icblocks, kh, kw, ib, ob = _float_tensor(self, self.kernel, 6)
        if elt_of(self.data) != elt_of(self.kernel):
            raise VerifyException(f"{self.name}: data and kernel element types differ")
        strides, padding, dilation, depthwise = self.attrs
        _check(self.name, "strides", strides, 2, 1)
        _check(self.name, "dilation", dilation, 2, 1)
        _check(self.name, "padding", padding, 4, 0)
        if self.depthwise.value.data not in (0, 1):
            raise VerifyException(f"{self.name}: depthwise must be 0 or 1")
        groups = self.group_count
        if groups < 1 or (depthwise and groups != 1):
            raise VerifyException(
                f"{self.name}: groups must be >= 1 (and 1 when depthwise), got {groups}"
            )
        if depthwise:
            if (icblocks, ib) != (1, 1) or (oblocks, ob) != (cblocks, cb):
                raise VerifyException(
                    f"{self.name}: depthwise kernel {[oblocks, icblocks, kh, kw, ib, ob]} must be "
                    f"[{cblocks}, 1, KH, KW, 1, {cb}]"
                )
        elif (icblocks * groups, ib) != (cblocks, cb):
            per = f" in each of {groups} groups" if groups > 1 else ""
            raise VerifyException(
                f"{self.name}: kernel input blocks {icblocks}x{ib}{per} do not match data "
                f"{cblocks}x{cb}"
            )
        if oblocks % groups:
            raise VerifyException(
                f"{self.name}: {oblocks} output blocks of {ob} do not split into {groups} groups"
            )
        oh = conv_out_dim(h, kh, strides[0], padding[0], padding[2], dilation[0])
        ow = conv_out_dim(w, kw, strides[1], padding[1], padding[3], dilation[1])
        if oh <= 0 or ow <= 0:
            raise VerifyException(f"{self.name}: kernel larger than padded input")
        return tensor_type((n, oblocks, oh, ow, ob), elt_of(self.data))


@irdl_op_definition
class DensePackOp(RelayOp):
    """``x @ w.T`` with the weight packed: x ``[..., K]``, weight ``[N/bn, K, bn]`` -> ``[..., N]``."""

    name = "relay.dense_pack"
    FUSE_PATTERN: ClassVar[str] = "out_elemwise_fusable"
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
        nb, k, bn = _float_tensor(self, self.weight, 3)
        if elt_of(self.data) != elt_of(self.weight):
            raise VerifyException(f"{self.name}: data and weight element types differ")
        if len(xs) < 1 or xs[-1] != k:
            raise VerifyException(
                f"{self.name}: reduction dims differ: data {list(xs)}, weight {[nb, k, bn]}"
            )
        return tensor_type((*xs[:-1], nb * bn), elt_of(self.data))
