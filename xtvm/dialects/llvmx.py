"""The ``llvmx`` dialect: the few LLVM instructions xDSL's ``llvm`` dialect lacks or restricts.

xDSL 0.74's ``llvm.fcmp``/``llvm.select`` reject vector operands (and ``arith.cmpf``/
``arith.select`` reject ``vector<Nxi1>``), and it has no ``fptosi``/``fptoui``/``uitofp``/
``extractelement``. ``tir-vectorize`` emits these ops for widened compares, selects and
casts; ``convert-tir-to-llvm`` keeps them, and the LLVM backend translates them by name
(``xtvm/backends/llvm/translate.py``). Types are builtin scalars and vectors, as in ``llvm``.

* ``llvmx.fcmp "olt" %a, %b : vector<8xf32> -> vector<8xi1>`` (predicate as LLVM spells it)
* ``llvmx.select %c, %a, %b : vector<8xi1>, vector<8xf32>``
* ``llvmx.sitofp``/``uitofp``/``fptosi``/``fptoui %x : vector<8xi64> to vector<8xf32>``
* ``llvmx.extractelement %v[%i : i64] : vector<8xf32> -> f32``
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    AnyFloat,
    IntegerType,
    StringAttr,
    VectorType,
    i1,
)
from xdsl.dialects.llvm import FastMathAttr
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

FCMP_PREDICATES = (
    "false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord",
    "ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true",
)  # fmt: skip


def _shape(t: Attribute) -> tuple[int, ...]:
    return tuple(t.get_shape()) if isinstance(t, VectorType) else ()


def _elem(t: Attribute) -> Attribute:
    return t.element_type if isinstance(t, VectorType) else t


def _bool_like(t: Attribute) -> Attribute:
    """i1, or vector<..xi1> of the same shape as ``t``."""
    return VectorType(i1, _shape(t)) if isinstance(t, VectorType) else i1


@irdl_op_definition
class FCmpOp(IRDLOperation):
    """Float compare on scalars or vectors; ``predicate`` is an LLVM fcmp predicate name."""

    name = "llvmx.fcmp"
    T: ClassVar = VarConstraint("T", AnyAttr())
    lhs = operand_def(T)
    rhs = operand_def(T)
    res = result_def()
    predicate = prop_def(StringAttr)
    fastmathFlags = opt_prop_def(FastMathAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$predicate $lhs `,` $rhs attr-dict `:` type($lhs) `->` type($res)"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation, predicate: str):
        lhs, rhs = SSAValue.get(lhs), SSAValue.get(rhs)
        super().__init__(
            operands=[lhs, rhs],
            result_types=[_bool_like(lhs.type)],
            properties={"predicate": StringAttr(predicate)},
        )

    def verify_(self) -> None:
        if self.predicate.data not in FCMP_PREDICATES:
            raise VerifyException(f"llvmx.fcmp: unknown predicate {self.predicate.data!r}")
        if self.lhs.type != self.rhs.type or not isinstance(_elem(self.lhs.type), AnyFloat):
            raise VerifyException("llvmx.fcmp: operands must be floats of one type")
        if self.res.type != _bool_like(self.lhs.type):
            raise VerifyException("llvmx.fcmp: result must be i1 shaped like the operands")


@irdl_op_definition
class SelectOp(IRDLOperation):
    """``cond ? lhs : rhs`` lane by lane (vector condition) or as a whole (i1)."""

    name = "llvmx.select"
    T: ClassVar = VarConstraint("T", AnyAttr())
    cond = operand_def()
    lhs = operand_def(T)
    rhs = operand_def(T)
    res = result_def(T)
    fastmathFlags = opt_prop_def(FastMathAttr)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$cond `,` $lhs `,` $rhs attr-dict `:` type($cond) `,` type($res)"

    def __init__(
        self,
        cond: SSAValue | Operation,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
    ):
        lhs = SSAValue.get(lhs)
        super().__init__(operands=[cond, lhs, rhs], result_types=[lhs.type])

    def verify_(self) -> None:
        if not (self.lhs.type == self.rhs.type == self.res.type):
            raise VerifyException("llvmx.select: both values and the result must share a type")
        ct = self.cond.type
        if ct != i1 and ct != _bool_like(self.lhs.type):
            raise VerifyException("llvmx.select: condition must be i1 or i1 lanes like the values")


class _CastOp(IRDLOperation):
    """Int <-> float conversion of a scalar or a vector (same lane count)."""

    arg = operand_def()
    res = result_def()
    traits = traits_def(Pure())
    assembly_format = "$arg attr-dict `:` type($arg) `to` type($res)"
    FROM_FLOAT: ClassVar[bool] = False

    def __init__(self, arg: SSAValue | Operation, res_type: Attribute):
        super().__init__(operands=[arg], result_types=[res_type])

    def verify_(self) -> None:
        src, dst = self.arg.type, self.res.type
        if _shape(src) != _shape(dst) or isinstance(src, VectorType) != isinstance(dst, VectorType):
            raise VerifyException(f"{self.name}: operand and result lane counts differ")
        want_src, want_dst = (AnyFloat, IntegerType) if self.FROM_FLOAT else (IntegerType, AnyFloat)
        if not isinstance(_elem(src), want_src) or not isinstance(_elem(dst), want_dst):
            raise VerifyException(f"{self.name}: bad operand/result element types")


@irdl_op_definition
class FPToSIOp(_CastOp):
    name = "llvmx.fptosi"
    FROM_FLOAT: ClassVar[bool] = True


@irdl_op_definition
class FPToUIOp(_CastOp):
    name = "llvmx.fptoui"
    FROM_FLOAT: ClassVar[bool] = True


@irdl_op_definition
class SIToFPOp(_CastOp):
    name = "llvmx.sitofp"


@irdl_op_definition
class UIToFPOp(_CastOp):
    name = "llvmx.uitofp"


@irdl_op_definition
class ExtractElementOp(IRDLOperation):
    """One lane of a vector: ``llvmx.extractelement %v[%i : i64] : vector<8xf32> -> f32``."""

    name = "llvmx.extractelement"
    vector = operand_def(VectorType)
    position = operand_def(IntegerType)
    res = result_def()
    traits = traits_def(Pure())
    assembly_format = (
        "$vector `[` $position `:` type($position) `]` attr-dict `:` type($vector) `->` type($res)"
    )

    def __init__(self, vector: SSAValue | Operation, position: SSAValue | Operation):
        vector = SSAValue.get(vector)
        assert isinstance(vector.type, VectorType)
        super().__init__(operands=[vector, position], result_types=[vector.type.element_type])

    def verify_(self) -> None:
        assert isinstance(self.vector.type, VectorType)
        if self.res.type != self.vector.type.element_type:
            raise VerifyException("llvmx.extractelement: result must be the vector's element type")


LLVMX = Dialect(
    "llvmx",
    [FCmpOp, SelectOp, FPToSIOp, FPToUIOp, SIToFPOp, UIToFPOp, ExtractElementOp],
    [],
)
