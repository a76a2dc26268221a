"""Sampling relay ops: ``relay.grid_sample`` (ONNX GridSample over 2-D NCHW or 3-D NCDHW
data) and ``relay.roi_align``.

The grid is ``[N, *out_spatial, nd]`` holding normalized coordinates in [-1, 1], innermost
spatial dim first (x, y[, z]); the result is ``[N, C, *out_spatial]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    AnyFloat,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, i64_array, shape_of, tensor_type

GRID_SAMPLE_MODES = ("linear", "nearest", "cubic")
GRID_PADDING_MODES = ("zeros", "border", "reflection")


@irdl_op_definition
class GridSampleOp(RelayOp):
    """Sample ``data`` at the grid's points (``mode``: linear / nearest / cubic; points outside
    the image read zeros, the clamped border, or the reflected image)."""

    name = "relay.grid_sample"
    FUSE_PATTERN: ClassVar[str] = "injective"
    data = operand_def(TensorType)
    grid = operand_def(TensorType)
    mode = prop_def(StringAttr)
    padding_mode = prop_def(StringAttr)
    align_corners = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $grid attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        grid: SSAValue,
        mode: str = "linear",
        padding_mode: str = "zeros",
        align_corners: bool = False,
    ):
        super().__init__(
            operands=[data, grid],
            result_types=[data.type],
            properties={
                "mode": StringAttr(mode),
                "padding_mode": StringAttr(padding_mode),
                "align_corners": IntegerAttr(int(align_corners), i64),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def align(self) -> bool:
        return bool(self.align_corners.value.data)

    def infer_type(self) -> TensorType:
        xs, gs = shape_of(self.data), shape_of(self.grid)
        if self.mode.data not in GRID_SAMPLE_MODES:
            raise VerifyException(f"{self.name}: mode {self.mode.data!r} is not supported")
        if self.padding_mode.data not in GRID_PADDING_MODES:
            raise VerifyException(f"{self.name}: padding_mode {self.padding_mode.data!r}")
        if not isinstance(elt_of(self.data), AnyFloat) or not isinstance(
            elt_of(self.grid), AnyFloat
        ):
            raise VerifyException(f"{self.name}: expects floating-point data and grid")
        nd = len(xs) - 2
        if nd not in (2, 3) or len(gs) != nd + 2 or gs[-1] != nd or gs[0] != xs[0]:
            raise VerifyException(
                f"{self.name}: data {list(xs)} and grid {list(gs)} do not match "
                "([N, C, *S] with [N, *O, len(S)], 2 or 3 spatial dims)"
            )
        if self.mode.data == "cubic" and nd != 2:
            raise VerifyException(f"{self.name}: cubic mode needs 2 spatial dims")
        return tensor_type((xs[0], xs[1], *gs[1:-1]), elt_of(self.data))


@irdl_op_definition
class RoiAlignOp(RelayOp):
    """ONNX RoiAlign with a fixed ``sampling_ratio`` x ``sampling_ratio`` grid per bin:
    ``data [N, C, H, W]``, ``rois [R, 4]`` (x1, y1, x2, y2), ``batch_indices [R]`` ->
    ``[R, C, output_height, output_width]``; ``mode`` avg or max."""

    name = "relay.roi_align"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    data = operand_def(TensorType)
    rois = operand_def(TensorType)
    batch_indices = operand_def(TensorType)
    mode = prop_def(StringAttr)
    output_size = prop_def(DenseArrayBase.constr(i64))
    sampling_ratio = prop_def(IntegerAttr)
    spatial_scale = prop_def(FloatAttr)
    half_pixel = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$data `,` $rois `,` $batch_indices attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        data: SSAValue,
        rois: SSAValue,
        batch_indices: SSAValue,
        mode: str,
        output_size: Sequence[int],
        sampling_ratio: int,
        spatial_scale: float,
        half_pixel: bool,
    ):
        super().__init__(
            operands=[data, rois, batch_indices],
            result_types=[data.type],
            properties={
                "mode": StringAttr(mode),
                "output_size": i64_array(output_size),
                "sampling_ratio": IntegerAttr(sampling_ratio, i64),
                "spatial_scale": FloatAttr(float(spatial_scale), f64),
                "half_pixel": IntegerAttr(int(half_pixel), i64),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def params(self) -> tuple[str, tuple[int, int], int, float, bool]:
        """(mode, (out_h, out_w), sampling_ratio, spatial_scale, half_pixel)."""
        oh, ow = (int(v) for v in self.output_size.get_values())
        return (
            self.mode.data,
            (oh, ow),
            int(self.sampling_ratio.value.data),
            float(self.spatial_scale.value.data),
            bool(self.half_pixel.value.data),
        )

    def infer_type(self) -> TensorType:
        xs, rs, bs = shape_of(self.data), shape_of(self.rois), shape_of(self.batch_indices)
        if len(xs) != 4 or len(rs) != 2 or rs[1] != 4 or bs != (rs[0],):
            raise VerifyException(
                f"{self.name}: expects data [N, C, H, W], rois [R, 4] and batch_indices [R]"
            )
        if self.mode.data not in ("avg", "max"):
            raise VerifyException(f"{self.name}: mode {self.mode.data!r} is not avg or max")
        if len(self.output_size.get_values()) != 2 or self.sampling_ratio.value.data < 1:
            raise VerifyException(f"{self.name}: needs 2 output sizes and sampling_ratio >= 1")
        oh, ow = (int(v) for v in self.output_size.get_values())
        return tensor_type((rs[0], xs[1], oh, ow), elt_of(self.data))
