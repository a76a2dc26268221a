"""Reductions, normalizations and sorting-like relay ops.

``relay.reduce`` covers every ONNX ``Reduce*`` op through its ``kind``: an element map, a
combining reduction and a final map (``l2`` is ``sqrt(sum(x * x))``, ``log_sum_exp`` is
``log(sum(exp(x)))``). Axes are stored normalized (non-negative, sorted, unique); an empty
list reduces nothing, so only the element and final maps apply. Ops here have one result:
``relay.topk``'s ``ret_type`` picks the values or the int64 indices (TVM's attribute of the
same name) and ``relay.layer_norm``'s picks the output or one of its statistics, so a
frontend that needs several emits one op each over the same input.
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
    i1,
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
    elt_of,
    i64_array,
    shape_of,
    tensor_type,
)

REDUCE_KINDS = (
    "sum",
    "mean",
    "max",
    "min",
    "prod",
    "sum_square",
    "l1",
    "l2",
    "log_sum",
    "log_sum_exp",
)
FLOAT_ONLY_KINDS = ("mean", "l2", "log_sum", "log_sum_exp")
LAYER_NORM_RESULTS = ("output", "mean", "inv_std_dev")


def _flag(value: bool) -> IntegerAttr:
    return IntegerAttr(int(bool(value)), i1)


def _int(a: IntegerAttr) -> int:
    return int(a.value.data)


def _check_axis(op: RelayOp, axis: int, rank: int) -> None:
    if not 0 <= axis < rank:
        raise VerifyException(f"{op.name}: axis {axis} out of range for rank {rank}")


def _require_float(op: RelayOp, v: SSAValue) -> None:
    if not isinstance(elt_of(v), AnyFloat):
        raise VerifyException(f"{op.name}: expects floating-point tensors, got {v.type}")


def reduced_shape(shape: Sequence[int], axes: Sequence[int], keepdims: bool) -> tuple[int, ...]:
    """The shape left after reducing ``axes`` (size-1 dims kept with ``keepdims``)."""
    if keepdims:
        return tuple(1 if d in axes else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d not in axes)


@irdl_op_definition
class ReduceOp(RelayOp):
    """``kind`` reduction of ``data`` over ``axes`` (see the module docstring)."""

    name = "relay.reduce"
    FUSE_PATTERN: ClassVar[str] = "comm_reduce"
    data = operand_def(TensorType)
    kind = prop_def(StringAttr)
    axes = prop_def(DenseArrayBase.constr(i64))
    keepdims = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, kind: str, axes: Sequence[int], keepdims: bool = True):
        rank = len(shape_of(data))
        norm = sorted({int(a) % rank for a in axes}) if rank else []
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={
                "kind": StringAttr(kind),
                "axes": i64_array(norm),
                "keepdims": _flag(keepdims),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def reduce_axes(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.axes.get_values())

    @property
    def keep(self) -> bool:
        return bool(_int(self.keepdims))

    def infer_type(self) -> TensorType:
        kind = self.kind.data
        if kind not in REDUCE_KINDS:
            raise VerifyException(f"{self.name}: unknown kind {kind!r} (one of {REDUCE_KINDS})")
        if kind in FLOAT_ONLY_KINDS:
            _require_float(self, self.data)
        s = shape_of(self.data)
        axes = self.reduce_axes
        if list(axes) != sorted(set(axes)):
            raise VerifyException(f"{self.name}: axes {list(axes)} must be sorted and unique")
        for a in axes:
            _check_axis(self, a, len(s))
        return tensor_type(reduced_shape(s, axes, self.keep), elt_of(self.data))


class ArgReduceOp(RelayOp):
    """Index (int64) of the extreme element along ``axis``; ties give the first index, or the
    last with ``select_last_index``."""

    FUSE_PATTERN: ClassVar[str] = "comm_reduce"
    data = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    keepdims = prop_def(IntegerAttr)
    select_last_index = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, data: SSAValue, axis: int, keepdims: bool = True, select_last_index: bool = False
    ):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={
                "axis": IntegerAttr(axis % max(rank, 1), i64),
                "keepdims": _flag(keepdims),
                "select_last_index": _flag(select_last_index),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def attrs(self) -> tuple[int, bool, bool]:
        """(axis, keepdims, select_last_index)."""
        return _int(self.axis), bool(_int(self.keepdims)), bool(_int(self.select_last_index))

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        axis, keep, _ = self.attrs
        _check_axis(self, axis, len(s))
        return tensor_type(reduced_shape(s, (axis,), keep), i64)


@irdl_op_definition
class ArgMaxOp(ArgReduceOp):
    name = "relay.argmax"


@irdl_op_definition
class ArgMinOp(ArgReduceOp):
    name = "relay.argmin"


class AxisOp(RelayOp):
    """A float op along one (normalized) ``axis`` that keeps its input's type."""

    FUSE_PATTERN: ClassVar[str] = "opaque"
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
        _require_float(self, self.data)
        _check_axis(self, _int(self.axis), len(shape_of(self.data)))
        return self.data.type  # type: ignore[return-value]


@irdl_op_definition
class LogSoftmaxOp(AxisOp):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``."""

    name = "relay.log_softmax"


@irdl_op_definition
class HardmaxOp(AxisOp):
    """1.0 at the first maximum along ``axis``, 0.0 elsewhere."""

    name = "relay.hardmax"


@irdl_op_definition
class LayerNormOp(RelayOp):
    """Normalize over dims ``[axis, rank)`` then ``* scale + bias``; scale and bias broadcast
    (numpy rules) against those trailing dims. ``ret_type`` "mean" / "inv_std_dev" gives
    that statistic instead (shape: the normalized dims set to 1)."""

    name = "relay.layer_norm"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    data = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    ret_type = opt_prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        data: SSAValue,
        scale: SSAValue,
        bias: SSAValue,
        axis: int = -1,
        epsilon=1e-5,
        ret_type: str = "output",
    ):
        rank = len(shape_of(data))
        props = {
            "axis": IntegerAttr(axis % max(rank, 1), i64),
            "epsilon": FloatAttr(float(epsilon), f32),
        }
        if ret_type != "output":
            props["ret_type"] = StringAttr(ret_type)
        super().__init__(operands=[data, scale, bias], result_types=[data.type], properties=props)
        self._set_result_type(self.infer_type())

    @property
    def result_kind(self) -> str:
        return "output" if self.ret_type is None else self.ret_type.data

    def infer_type(self) -> TensorType:
        for v in (self.data, self.scale, self.bias):
            _require_float(self, v)
        s = shape_of(self.data)
        axis = _int(self.axis)
        _check_axis(self, axis, len(s))
        inner = s[axis:]
        for p in (self.scale, self.bias):
            ps = shape_of(p)
            try:
                fits = len(ps) <= len(inner) and broadcast_shapes(inner, ps) == inner
            except ValueError:
                fits = False
            if not fits:
                raise VerifyException(
                    f"{self.name}: {p.type} does not broadcast to the normalized dims {inner}"
                )
        kind = self.result_kind
        if kind not in LAYER_NORM_RESULTS:
            raise VerifyException(f"{self.name}: ret_type {kind!r} not in {LAYER_NORM_RESULTS}")
        if kind == "output":
            return self.data.type  # type: ignore[return-value]
        return tensor_type((*s[:axis], *([1] * len(inner))), elt_of(self.data))


@irdl_op_definition
class InstanceNormOp(RelayOp):
    """Normalize each (n, c) slice over the spatial dims of ``[N, C, ...]``, then apply the
    per-channel ``scale`` and ``bias`` (both ``[C]``)."""

    name = "relay.instance_norm"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    data = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    epsilon = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, scale: SSAValue, bias: SSAValue, epsilon=1e-5):
        super().__init__(
            operands=[data, scale, bias],
            result_types=[data.type],
            properties={"epsilon": FloatAttr(float(epsilon), f32)},
        )

    def infer_type(self) -> TensorType:
        for v in (self.data, self.scale, self.bias):
            _require_float(self, v)
        s = shape_of(self.data)
        if len(s) < 3:
            raise VerifyException(f"{self.name}: data must have rank >= 3, got {self.data.type}")
        for p in (self.scale, self.bias):
            if shape_of(p) != (s[1],):
                raise VerifyException(f"{self.name}: expects shape ({s[1]},), got {p.type}")
        return self.data.type  # type: ignore[return-value]


@irdl_op_definition
class TopKOp(RelayOp):
    """The ``k`` largest (or smallest) elements along ``axis``, sorted, ties by lower index;
    ``ret_type`` = "values" (input type) or "indices" (int64)."""

    name = "relay.topk"
    FUSE_PATTERN: ClassVar[str] = "opaque"
    data = operand_def(TensorType)
    k = prop_def(IntegerAttr)
    axis = prop_def(IntegerAttr)
    largest = prop_def(IntegerAttr)
    ret_type = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, data: SSAValue, k: int, axis: int = -1, largest: bool = True, ret_type="values"
    ):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={
                "k": IntegerAttr(int(k), i64),
                "axis": IntegerAttr(axis % max(rank, 1), i64),
                "largest": _flag(largest),
                "ret_type": StringAttr(ret_type),
            },
        )
        self._set_result_type(self.infer_type())

    @property
    def attrs(self) -> tuple[int, int, bool, str]:
        """(k, axis, largest, ret_type)."""
        return _int(self.k), _int(self.axis), bool(_int(self.largest)), self.ret_type.data

    def infer_type(self) -> TensorType:
        s = shape_of(self.data)
        k, axis, _, ret = self.attrs
        _check_axis(self, axis, len(s))
        if not 0 <= k <= s[axis]:
            raise VerifyException(f"{self.name}: k={k} outside [0, {s[axis]}]")
        if ret not in ("values", "indices"):
            raise VerifyException(f"{self.name}: ret_type must be values or indices, got {ret!r}")
        out = tuple(k if d == axis else n for d, n in enumerate(s))
        return tensor_type(out, elt_of(self.data) if ret == "values" else i64)


class CumulativeOp(RelayOp):
    """Base of running reductions along ``axis`` (cumsum, cumprod); ``exclusive`` leaves out
    the element itself, ``reverse`` runs from the end."""

    FUSE_PATTERN: ClassVar[str] = "opaque"
    VERB: ClassVar[str] = "combine"
    data = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    exclusive = prop_def(IntegerAttr)
    reverse = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$data attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, axis: int, exclusive: bool = False, reverse: bool = False):
        rank = len(shape_of(data))
        super().__init__(
            operands=[data],
            result_types=[data.type],
            properties={
                "axis": IntegerAttr(axis % max(rank, 1), i64),
                "exclusive": _flag(exclusive),
                "reverse": _flag(reverse),
            },
        )

    @property
    def attrs(self) -> tuple[int, bool, bool]:
        """(axis, exclusive, reverse)."""
        return _int(self.axis), bool(_int(self.exclusive)), bool(_int(self.reverse))

    def infer_type(self) -> TensorType:
        _check_axis(self, _int(self.axis), len(shape_of(self.data)))
        if elt_of(self.data) == i1:
            raise VerifyException(f"{self.name}: cannot {self.VERB} booleans")
        return self.data.type  # type: ignore[return-value]


@irdl_op_definition
class CumSumOp(CumulativeOp):
    """Running sum along ``axis`` (the first exclusive output is 0)."""

    name = "relay.cumsum"
    VERB: ClassVar[str] = "sum"
