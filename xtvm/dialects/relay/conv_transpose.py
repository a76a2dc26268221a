"""``relay.conv2d_transpose``: the gradient of conv2d with respect to its input (NCHW).

Weights are ``[C_in, C_out / groups, kh, kw]`` (ONNX/PyTorch layout). Output size per spatial
dim: ``(in - 1) * stride + dilation * (k - 1) + 1 - pad_begin - pad_end + output_padding``.
``output_padding`` only adds rows/columns at the end (frontends also use it for an
``output_shape`` larger than the natural size), so it is any non-negative value here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import AnyFloat, DenseArrayBase, IntegerAttr, TensorType, i64
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, i64_array, shape_of, tensor_type


def conv_transpose_out_dim(
    size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, out_pad: int
) -> int:
    return (size - 1) * stride + dilation * (k - 1) + 1 - pad_lo - pad_hi + out_pad


def _ints(a: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in a.get_values())


@irdl_op_definition
class Conv2dTransposeOp(RelayOp):
    """Transposed 2-D convolution with strides, padding [top, left, bottom, right],
    dilation, output_padding [h, w] and groups."""

    name = "relay.conv2d_transpose"
    FUSE_PATTERN: ClassVar[str] = "out_elemwise_fusable"
    data = operand_def(TensorType)
    weight = operand_def(TensorType)
    strides = prop_def(DenseArrayBase.constr(i64))
    padding = prop_def(DenseArrayBase.constr(i64))
    dilation = prop_def(DenseArrayBase.constr(i64))
    output_padding = prop_def(DenseArrayBase.constr(i64))
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
        output_padding: Sequence[int] = (0, 0),
        groups: int = 1,
    ):
        super().__init__(
            operands=[data, weight],
            result_types=[data.type],
            properties={
                "strides": i64_array(strides),
                "padding": i64_array(padding),
                "dilation": i64_array(dilation),
                "output_padding": i64_array(output_padding),
                "groups": IntegerAttr(groups, i64),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def attrs(
        self,
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
        """(strides, padding, dilation, output_padding, groups) as Python ints."""
        return (
            _ints(self.strides),
            _ints(self.padding),
            _ints(self.dilation),
            _ints(self.output_padding),
            self.groups.value.data,
        )

    def infer_type(self) -> TensorType:
        for v in (self.data, self.weight):
            if not isinstance(elt_of(v), AnyFloat) or len(shape_of(v)) != 4:
                raise VerifyException(f"{self.name}: expects rank-4 float tensors, got {v.type}")
        n, c, h, w = shape_of(self.data)
        ci, opg, kh, kw = shape_of(self.weight)
        strides, padding, dilation, out_pad, groups = self.attrs
        for what, vals, k, positive in (
            ("strides", strides, 2, True),
            ("dilation", dilation, 2, True),
            ("padding", padding, 4, False),
            ("output_padding", out_pad, 2, False),
        ):
            if len(vals) != k or any(v < (1 if positive else 0) for v in vals):
                raise VerifyException(f"{self.name}: bad {what} {list(vals)}")
        if groups <= 0 or c % groups or ci != c:
            raise VerifyException(
                f"{self.name}: weight {shape_of(self.weight)} and groups={groups} do not fit "
                f"{c} input channels"
            )
        oh = conv_transpose_out_dim(
            h, kh, strides[0], padding[0], padding[2], dilation[0], out_pad[0]
        )
        ow = conv_transpose_out_dim(
            w, kw, strides[1], padding[1], padding[3], dilation[1], out_pad[1]
        )
        if oh <= 0 or ow <= 0:
            raise VerifyException(f"{self.name}: padding leaves an empty output")
        return tensor_type((n, opg * groups, oh, ow), elt_of(self.data))
