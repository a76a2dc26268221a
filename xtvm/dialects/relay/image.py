"""Image-style relay ops: pad, resize, depth_to_space, space_to_depth.

``relay.pad`` only grows a tensor (frontends turn negative ONNX pads into a strided slice).
``relay.resize`` works on any rank: every dim has its own scale (the value the coordinate
transform divides by, as ONNX defines it) and ``roi`` range; the output sizes are the
result type. The block ops use NCHW, as ONNX does.
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
    f32,
    f64,
    i1,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import RelayOp, elt_of, i64_array, shape_of, tensor_type

PAD_MODES = ("constant", "reflect", "edge", "wrap")
RESIZE_METHODS = ("nearest", "linear", "cubic")
COORD_MODES = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
)
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
BLOCK_MODES = ("DCR", "CRD")


def _ints(a: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in a.get_values())


def _floats(a: DenseArrayBase) -> tuple[float, ...]:
    return tuple(float(v) for v in a.get_values())


def _f32_array(values: Sequence[float]) -> DenseArrayBase:
    return DenseArrayBase.from_list(f32, [float(v) for v in values])


def _choice(op: RelayOp, what: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise VerifyException(f"{op.name}: {what} {value!r} is not one of {list(allowed)}")


@irdl_op_definition
class PadOp(RelayOp):
    """Grow every dim ``d`` by ``pad_before[d]`` / ``pad_after[d]`` elements.

    ``constant`` fills with ``pad_value``; ``edge`` repeats the border element; ``reflect``
    mirrors without repeating the border (numpy's ``reflect``); ``wrap`` tiles periodically.
    """

    name = "relay.pad"
    FUSE_PATTERN: ClassVar[str] = "injective"
    data = operand_def(TensorType)
    pad_before = prop_def(DenseArrayBase.constr(i64))
    pad_after = prop_def(DenseArrayBase.constr(i64))
    mode = prop_def(StringAttr)
    pad_value = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        pad_before: Sequence[int],
        pad_after: Sequence[int],
        mode: str = "constant",
        pad_value: float = 0.0,
    ):
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={
                "pad_before": i64_array(pad_before),
                "pad_after": i64_array(pad_after),
                "mode": StringAttr(mode),
                "pad_value": FloatAttr(float(pad_value), f64),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def widths(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return _ints(self.pad_before), _ints(self.pad_after)

    @property
    def value(self) -> float:
        return float(self.pad_value.value.data)

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        before, after = self.widths
        _choice(self, "mode", self.mode.data, PAD_MODES)
        if len(before) != len(s) or len(after) != len(s):
            raise VerifyException(f"{self.name}: needs {len(s)} pad_before/pad_after values")
        if any(p < 0 for p in (*before, *after)):
            raise VerifyException(f"{self.name}: pads must be non-negative")
        if self.mode.data != "constant":
            for d, (n, b, a) in enumerate(zip(s, before, after)):
                if n == 0 and (b or a):
                    raise VerifyException(f"{self.name}: cannot {self.mode.data}-pad empty dim {d}")
        return tensor_type([n + b + a for n, b, a in zip(s, before, after)], elt_of(self.data))


@irdl_op_definition
class ResizeOp(RelayOp):
    """ONNX Resize (antialias off): output sizes are the result type.

    Dim ``d`` maps output index ``x`` to the input coordinate given by
    ``coordinate_transformation_mode`` with ``scales[d]`` and (for ``tf_crop_and_resize``)
    ``roi[d]`` .. ``roi[rank + d]``; ``nearest`` rounds it per ``nearest_mode``, ``linear``
    and ``cubic`` interpolate separably over 2 / 4 taps with edge-clamped reads.
    """

    name = "relay.resize"
    FUSE_PATTERN: ClassVar[str] = "injective"
    data = operand_def(TensorType)
    scales = prop_def(DenseArrayBase.constr(f32))
    roi = prop_def(DenseArrayBase.constr(f32))
    method = prop_def(StringAttr)
    coordinate_transformation_mode = prop_def(StringAttr)
    nearest_mode = prop_def(StringAttr)
    cubic_coeff_a = prop_def(FloatAttr)
    exclude_outside = prop_def(IntegerAttr)
    extrapolation_value = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        out_shape: Sequence[int],
        scales: Sequence[float],
        method: str = "nearest",
        coordinate_transformation_mode: str = "half_pixel",
        nearest_mode: str = "round_prefer_floor",
        roi: Sequence[float] | None = None,
        cubic_coeff_a: float = -0.75,
        exclude_outside: bool = False,
        extrapolation_value: float = 0.0,
    ):
        rank = len(shape_of(data))
        roi = [0.0] * rank + [1.0] * rank if roi is None else roi
        super().__init__(
            operands=[data],
            result_types=[tensor_type(out_shape, elt_of(data))],
            properties={
                "scales": _f32_array(scales),
                "roi": _f32_array(roi),
                "method": StringAttr(method),
                "coordinate_transformation_mode": StringAttr(coordinate_transformation_mode),
                "nearest_mode": StringAttr(nearest_mode),
                "cubic_coeff_a": FloatAttr(float(cubic_coeff_a), f32),
                "exclude_outside": IntegerAttr(int(exclude_outside), i64),
                "extrapolation_value": FloatAttr(float(extrapolation_value), f32),
            },
        )

    @property
    def scale_values(self) -> tuple[float, ...]:
        return _floats(self.scales)

    @property
    def roi_values(self) -> tuple[float, ...]:
        return _floats(self.roi)

    @property
    def coord_mode(self) -> str:
        return self.coordinate_transformation_mode.data

    def infer_type(self) -> TensorType:
        out = self.result.type
        assert isinstance(out, TensorType)
        s = shape_of(self.data)
        _choice(self, "method", self.method.data, RESIZE_METHODS)
        _choice(self, "coordinate_transformation_mode", self.coord_mode, COORD_MODES)
        _choice(self, "nearest_mode", self.nearest_mode.data, NEAREST_MODES)
        if elt_of(out) != elt_of(self.data):
            raise VerifyException(f"{self.name}: element type must not change")
        if self.method.data != "nearest" and not isinstance(elt_of(self.data), AnyFloat):
            raise VerifyException(f"{self.name}: {self.method.data} needs a float tensor")
        if elt_of(self.data) == i1:
            raise VerifyException(f"{self.name}: i1 tensors cannot be resized")
        if len(shape_of(out)) != len(s):
            raise VerifyException(f"{self.name}: result rank differs from the input rank")
        if len(self.scale_values) != len(s) or any(v <= 0 for v in self.scale_values):
            raise VerifyException(f"{self.name}: needs {len(s)} positive scales")
        if len(self.roi_values) != 2 * len(s):
            raise VerifyException(f"{self.name}: roi needs {2 * len(s)} values")
        if any(n <= 0 for n in s):
            raise VerifyException(f"{self.name}: cannot resize an empty tensor")
        return out


class _BlockOp(RelayOp):
    data = operand_def(TensorType)
    block_size = prop_def(IntegerAttr)
    mode = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    @property
    def block(self) -> int:
        return self.block_size.value.data

    def _nchw(self) -> tuple[int, int, int, int]:
        s = shape_of(self.data)
        if len(s) != 4:
            raise VerifyException(f"{self.name}: expects a rank-4 NCHW tensor, got {s}")
        if self.block <= 0:
            raise VerifyException(f"{self.name}: block_size must be positive")
        _choice(self, "mode", self.mode.data, BLOCK_MODES)
        return s  # type: ignore[return-value]


@irdl_op_definition
class DepthToSpaceOp(_BlockOp):
    """[N, C*b*b, H, W] -> [N, C, H*b, W*b]; ``DCR`` takes depth as (b, b, C), ``CRD`` as
    (C, b, b)."""

    name = "relay.depth_to_space"
    FUSE_PATTERN: ClassVar[str] = "injective"

    def __init__(self, data: SSAValue, block_size: int, mode: str = "DCR"):
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={"block_size": IntegerAttr(block_size, i64), "mode": StringAttr(mode)},
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        n, c, h, w = self._nchw()
        b = self.block
        if c % (b * b):
            raise VerifyException(f"{self.name}: channels {c} not divisible by {b * b}")
        return tensor_type((n, c // (b * b), h * b, w * b), elt_of(self.data))


@irdl_op_definition
class SpaceToDepthOp(_BlockOp):
    """[N, C, H*b, W*b] -> [N, C*b*b, H, W]; ``DCR`` orders depth as (b, b, C), ``CRD`` as
    (C, b, b) (each the inverse of the same depth_to_space mode)."""

    name = "relay.space_to_depth"
    FUSE_PATTERN: ClassVar[str] = "injective"

    def __init__(self, data: SSAValue, block_size: int, mode: str = "DCR"):
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={"block_size": IntegerAttr(block_size, i64), "mode": StringAttr(mode)},
        )
        self._set_result_type(self.infer_type())

    def infer_type(self) -> TensorType:
        n, c, h, w = self._nchw()
        b = self.block
        if h % b or w % b:
            raise VerifyException(f"{self.name}: spatial dims {h}x{w} not divisible by {b}")
        return tensor_type((n, c * b * b, h // b, w // b), elt_of(self.data))
