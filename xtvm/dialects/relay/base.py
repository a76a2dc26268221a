"""Shared helpers for relay ops: dtype mapping, shape rules, the verifying base class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntegerType,
    Signedness,
    TensorType,
    bf16,
    f16,
    f32,
    f64,
    i1,
    i8,
    i16,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

# ----------------------------------------------------------------------------------------------
# helpers shared by ops, passes and the frontend
# ----------------------------------------------------------------------------------------------

_NP_TO_ELT: dict[np.dtype, Attribute] = {
    np.dtype("float32"): f32,
    np.dtype("float64"): f64,
    np.dtype("int64"): i64,
    np.dtype("int32"): i32,
    np.dtype("int16"): i16,
    np.dtype("int8"): i8,
    np.dtype("bool"): i1,
    # unsigned integers: MLIR's ui<N>; lowering picks unsigned ops by the signedness
    np.dtype("uint8"): IntegerType(8, Signedness.UNSIGNED),
    np.dtype("uint16"): IntegerType(16, Signedness.UNSIGNED),
    np.dtype("uint32"): IntegerType(32, Signedness.UNSIGNED),
    np.dtype("uint64"): IntegerType(64, Signedness.UNSIGNED),
    # half precision: graph inputs/outputs and rounding casts (frontend/onnx/half.py)
    np.dtype("float16"): f16,
}
try:  # numpy has no bfloat16; ml_dtypes (an onnx dependency) adds it
    import ml_dtypes

    _NP_TO_ELT[np.dtype(ml_dtypes.bfloat16)] = bf16
except ImportError:  # pragma: no cover
    pass


def element_type_of(dtype: np.dtype | str) -> Attribute:
    dt = np.dtype(dtype)
    if dt not in _NP_TO_ELT:
        raise TypeError(f"unsupported tensor dtype {dt}")
    return _NP_TO_ELT[dt]


def numpy_dtype_of(elt: Attribute) -> np.dtype:
    for dt, a in _NP_TO_ELT.items():
        if a == elt:
            return dt
    raise TypeError(f"no numpy dtype for element type {elt}")


def tensor_type(shape: Sequence[int], elt: Attribute = f32) -> TensorType:
    return TensorType(elt, list(shape))


def shape_of(v: SSAValue | Attribute) -> tuple[int, ...]:
    t = v.type if isinstance(v, SSAValue) else v
    assert isinstance(t, TensorType), f"expected a tensor, got {t}"
    return tuple(t.get_shape())


def elt_of(v: SSAValue | Attribute) -> Attribute:
    t = v.type if isinstance(v, SSAValue) else v
    assert isinstance(t, TensorType)
    return t.element_type


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """numpy broadcasting; raises ValueError on incompatible shapes."""
    return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))


def conv_out_dim(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int) -> int:
    return (size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def pool_out_dim(
    size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, ceil_mode: bool
) -> int:
    eff = dilation * (k - 1) + 1
    num = size + pad_lo + pad_hi - eff
    if ceil_mode:
        out = -(-num // stride) + 1
        # the last window must start inside the input or the left padding (ONNX/PyTorch rule)
        if (out - 1) * stride >= size + pad_lo:
            out -= 1
        return out
    return num // stride + 1


class RelayOp(IRDLOperation):
    """Base of relay tensor ops: the verifier compares the result type with ``infer_type``."""

    irdl_options = (ParsePropInAttrDict(),)

    def infer_type(self) -> TensorType:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _set_result_type(self, t: TensorType) -> None:
        """Give the (fresh, unused) result its inferred type; ``OpResult.type`` is read-only."""
        self.results[0]._type = t

    def verify_(self) -> None:
        for o in self.operands:
            if not isinstance(o.type, TensorType):
                raise VerifyException(f"{self.name}: operands must be ranked tensors, got {o.type}")
        try:
            expected = self.infer_type()
        except VerifyException:
            raise
        except (ValueError, IndexError, TypeError, AssertionError) as e:
            raise VerifyException(f"{self.name}: {e}") from None
        if len(self.results) == 1 and self.results[0].type != expected:
            raise VerifyException(
                f"{self.name}: result type {self.results[0].type} does not match the inferred "
                f"type {expected}"
            )


def _ints(a: DenseArrayBase | None, default: Sequence[int]) -> tuple[int, ...]:
    return tuple(default) if a is None else tuple(int(v) for v in a.get_values())


# ----------------------------------------------------------------------------------------------
# constants
# ----------------------------------------------------------------------------------------------


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A tensor constant (weights). Data is held as raw bytes in a dense elements attribute."""

    name = "relay.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.value)
        if self.attributes:
            printer.print_op_attributes(self.attributes)

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("relay.constant expects a dense elements attribute")
        op = cls(value)
        attrs = parser.parse_optional_attr_dict()
        op.attributes.update(attrs)
        return op

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(properties={"value": value}, result_types=[value.type])

    @staticmethod
    def from_numpy(array: np.ndarray) -> ConstantOp:
        arr = np.ascontiguousarray(array).reshape(np.shape(array))  # keeps rank-0 arrays
        if arr.dtype == np.bool_:
            arr = arr.astype(np.int8)  # i1 is stored one byte per element
            elt = i1
        else:
            elt = element_type_of(arr.dtype)
        t = TensorType(elt, list(arr.shape))
        return ConstantOp(DenseIntOrFPElementsAttr(t, BytesAttr(arr.tobytes())))

    def to_numpy(self) -> np.ndarray:
        return dense_to_numpy(self.value)

    def verify_(self) -> None:
        if self.value.type != self.result.type:
            raise VerifyException("relay.constant: value type must equal the result type")


def dense_to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    t = attr.type
    assert isinstance(t, TensorType)
    shape = tuple(t.get_shape())
    if t.element_type == i1:
        return np.frombuffer(attr.data.data, dtype=np.int8).astype(np.bool_).reshape(shape)
    dt = numpy_dtype_of(t.element_type)
    return np.frombuffer(attr.data.data, dtype=dt).reshape(shape).copy()
