"""Tensor-expression compute ops: kernels, placeholders, computes, reductions, reads.

A ``te.kernel`` is TVM's ``create_prim_func([inputs..., outputs...])``: its ``te.placeholder``
ops are the inputs in order, ``te.return`` names the outputs, the ``te.compute`` ops between
them define every stage, and an optional ``te.schedule`` region says how to loop over them.
A compute's region has one ``index`` block argument per output dim; its body is scalar
``arith``/``math`` code that reads tensors with ``te.read`` and ends in ``te.yield``.
A ``te.reduce`` (sum/max/min/prod over its own axes) must be the value a compute yields.
Reads must stay in bounds: operators clamp indices and select (e.g. for padding), so the
lowering never needs lazy conditionals.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FunctionType,
    IndexType,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    NoMemoryEffect,
    Pure,
    SymbolOpInterface,
)
from xdsl.utils.exceptions import VerifyException

REDUCE_KINDS = ("sum", "max", "min", "prod")


@irdl_op_definition
class KernelOp(IRDLOperation):
    """``te.kernel @name { placeholders; computes; te.schedule {...}; te.return outs }``."""

    name = "te.kernel"
    sym_name = prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface())

    def __init__(self, name: str, body: Region | None = None):
        super().__init__(
            properties={"sym_name": StringAttr(name)}, regions=[body or Region(Block())]
        )

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def placeholders(self) -> list[PlaceholderOp]:
        return [op for op in self.block.ops if isinstance(op, PlaceholderOp)]

    @property
    def computes(self) -> list[ComputeOp]:
        return [op for op in self.block.ops if isinstance(op, ComputeOp)]

    @property
    def return_op(self) -> ReturnOp:
        term = self.block.last_op
        assert isinstance(term, ReturnOp)
        return term

    @property
    def schedule(self) -> ScheduleOp | None:  # noqa: F821 (defined in te.schedule)
        from xtvm.dialects.te.schedule import ScheduleOp

        for op in self.block.ops:
            if isinstance(op, ScheduleOp):
                return op
        return None

    @property
    def function_type(self) -> FunctionType:
        return FunctionType.from_lists(
            [p.result.type for p in self.placeholders],
            [v.type for v in self.return_op.values],
        )

    def compute_named(self, name: str) -> ComputeOp | None:
        for c in self.computes:
            if c.stage_name.data == name:
                return c
        return None

    def verify_(self) -> None:
        if not isinstance(self.block.last_op, ReturnOp):
            raise VerifyException("te.kernel: body must end with te.return")
        names = [c.stage_name.data for c in self.computes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise VerifyException(f"te.kernel: duplicate stage names {sorted(dup)}")
        from xtvm.dialects.te.schedule import ScheduleOp

        for op in self.block.ops:
            if not isinstance(op, (PlaceholderOp, ComputeOp, ScheduleOp, ReturnOp)):
                if not op.name.startswith("arith."):
                    raise VerifyException(f"te.kernel: unexpected op {op.name} at kernel level")
        schedules = [op for op in self.block.ops if isinstance(op, ScheduleOp)]
        if len(schedules) > 1:
            raise VerifyException("te.kernel: at most one te.schedule")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> KernelOp:
        name = parser.parse_symbol_name().data
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region()
        op = cls(name, body)
        if attrs is not None:
            op.attributes.update(attrs.data)
        return op


@irdl_op_definition
class PlaceholderOp(IRDLOperation):
    """An input tensor of the enclosing kernel (its position among placeholders is its index)."""

    name = "te.placeholder"
    tensor_name = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(HasParent(KernelOp), NoMemoryEffect())
    assembly_format = "$tensor_name attr-dict `:` type($result)"

    def __init__(self, name: str, type: TensorType):
        super().__init__(properties={"tensor_name": StringAttr(name)}, result_types=[type])


@irdl_op_definition
class ReturnOp(IRDLOperation):
    name = "te.return"
    values = var_operand_def(TensorType)
    traits = traits_def(IsTerminator(), HasParent(KernelOp))
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[list(values)])


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a compute or reduce body with the scalar value of one element."""

    name = "te.yield"
    value = operand_def()
    traits = traits_def(IsTerminator(), Pure())
    assembly_format = "$value attr-dict `:` type($value)"

    def __init__(self, value: SSAValue):
        super().__init__(operands=[value])


def _print_axes_region(printer: Printer, region: Region) -> None:
    printer.print_string(" ")
    printer.print_region(region, print_entry_block_args=True)


def _check_index_args(name: str, block: Block, n: int) -> None:
    if len(block.args) != n:
        raise VerifyException(f"{name}: expected {n} axis block arguments, got {len(block.args)}")
    for a in block.args:
        if not isinstance(a.type, IndexType):
            raise VerifyException(f"{name}: axis block arguments must be index, got {a.type}")


@irdl_op_definition
class ComputeOp(IRDLOperation):
    """``%C = te.compute "C" : tensor<MxNxf32> { ^bb0(%i: index, %j: index): ... te.yield }``."""

    name = "te.compute"
    stage_name = prop_def(StringAttr)
    tag = opt_prop_def(StringAttr)
    result = result_def(TensorType)
    body = region_def("single_block")
    traits = traits_def(HasParent(KernelOp), NoMemoryEffect())

    def __init__(self, name: str, type: TensorType, body: Region, tag: str | None = None):
        props: dict[str, Attribute] = {"stage_name": StringAttr(name)}
        if tag:
            props["tag"] = StringAttr(tag)
        super().__init__(properties=props, result_types=[type], regions=[body])

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def shape(self) -> tuple[int, ...]:
        t = self.result.type
        assert isinstance(t, TensorType)
        return tuple(t.get_shape())

    @property
    def yielded(self) -> SSAValue:
        term = self.block.last_op
        assert isinstance(term, YieldOp)
        return term.value

    @property
    def reduce(self) -> ReduceOp | None:
        v = self.yielded
        return v.owner if isinstance(v.owner, ReduceOp) else None

    def verify_(self) -> None:
        t = self.result.type
        assert isinstance(t, TensorType)
        _check_index_args(self.name, self.block, len(t.get_shape()))
        term = self.block.last_op
        if not isinstance(term, YieldOp):
            raise VerifyException("te.compute: body must end with te.yield")
        if term.value.type != t.element_type:
            raise VerifyException(
                f"te.compute: yields {term.value.type} but the tensor holds {t.element_type}"
            )
        for op in self.block.walk():
            if isinstance(op, ReduceOp) and op.parent_op() is self and op.result is not term.value:
                raise VerifyException("te.compute: a te.reduce must be the yielded value")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.stage_name)
        extra = {k: v for k, v in self.properties.items() if k != "stage_name"}
        extra.update(self.attributes)
        if extra:
            printer.print_op_attributes(extra)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)
        _print_axes_region(printer, self.body)

    @classmethod
    def parse(cls, parser: Parser) -> ComputeOp:
        name = parser.parse_str_literal()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        if not isinstance(t, TensorType):
            parser.raise_error("te.compute: expected a tensor type")
        body = parser.parse_region()
        tag = attrs.pop("tag", None)
        op = cls(name, t, body, tag=tag.data if isinstance(tag, StringAttr) else None)
        op.attributes.update(attrs)
        return op


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """``%s = te.reduce "sum" [3, 3] : f32 { ^bb0(%r0: index, %r1: index): ... te.yield }``."""

    name = "te.reduce"
    kind = prop_def(StringAttr)
    extents = prop_def(DenseArrayBase.constr(i64))
    result = result_def()
    body = region_def("single_block")
    traits = traits_def(NoMemoryEffect())

    def __init__(self, kind: str, extents: Sequence[int], type: Attribute, body: Region):
        super().__init__(
            properties={
                "kind": StringAttr(kind),
                "extents": DenseArrayBase.from_list(i64, list(extents)),
            },
            result_types=[type],
            regions=[body],
        )

    @property
    def axis_extents(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.extents.get_values())

    @property
    def block(self) -> Block:
        return self.body.block

    def verify_(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(
                f"te.reduce: kind must be one of {', '.join(REDUCE_KINDS)}, got {self.kind.data!r}"
            )
        ext = self.axis_extents
        # a zero extent is an empty reduction: the result is the kind's identity
        if any(e < 0 for e in ext):
            raise VerifyException(f"te.reduce: extents must not be negative, got {list(ext)}")
        _check_index_args(self.name, self.block, len(ext))
        term = self.block.last_op
        if not isinstance(term, YieldOp) or term.value.type != self.result.type:
            raise VerifyException("te.reduce: body must yield a value of the result type")
        if not isinstance(self.parent_op(), ComputeOp):
            raise VerifyException("te.reduce: must be directly inside a te.compute")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.kind)
        printer.print_string(" [")
        printer.print_list(self.axis_extents, lambda e: printer.print_string(str(e)))
        printer.print_string("]")
        if self.attributes:
            printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)
        _print_axes_region(printer, self.body)

    @classmethod
    def parse(cls, parser: Parser) -> ReduceOp:
        kind = parser.parse_str_literal()
        extents = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parser.parse_integer)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        body = parser.parse_region()
        op = cls(kind, extents, t, body)
        op.attributes.update(attrs)
        return op


@irdl_op_definition
class ReadOp(IRDLOperation):
    """``%v = te.read %A[%i, %j] : tensor<4x4xf32>``: one element of a placeholder or stage."""

    name = "te.read"
    tensor = operand_def(TensorType)
    indices = var_operand_def(IndexType)
    result = result_def()
    traits = traits_def(NoMemoryEffect())

    def __init__(self, tensor: SSAValue, indices: Sequence[SSAValue]):
        t = tensor.type
        assert isinstance(t, TensorType)
        super().__init__(operands=[tensor, list(indices)], result_types=[t.element_type])

    def verify_(self) -> None:
        t = self.tensor.type
        assert isinstance(t, TensorType)
        if len(self.indices) != len(t.get_shape()):
            raise VerifyException(
                f"te.read: {len(self.indices)} indices for a rank-{len(t.get_shape())} tensor"
            )
        if self.result.type != t.element_type:
            raise VerifyException("te.read: result type must be the tensor's element type")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.tensor)
        printer.print_string("[")
        printer.print_list(self.indices, printer.print_operand)
        printer.print_string("]")
        if self.attributes:
            printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.tensor.type)

    @classmethod
    def parse(cls, parser: Parser) -> ReadOp:
        tensor = parser.parse_unresolved_operand()
        idx = parser.parse_comma_separated_list(
            parser.Delimiter.SQUARE, parser.parse_unresolved_operand
        )
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        op = cls(
            parser.resolve_operand(tensor, t),
            [parser.resolve_operand(i, IndexType()) for i in idx],
        )
        op.attributes.update(attrs)
        return op


@irdl_op_definition
class CallOp(IRDLOperation):
    """``%r = te.call @kernel(%a, %b) : (ta, tb) -> tr``: run a kernel inside the graph function."""

    name = "te.call"
    callee = prop_def(SymbolRefAttr)
    args = var_operand_def(TensorType)
    res = var_result_def(TensorType)
    assembly_format = "$callee `(` $args `)` attr-dict `:` functional-type($args, $res)"

    def __init__(self, callee: str, args: Sequence[SSAValue], result_types: Sequence[Attribute]):
        super().__init__(
            operands=[list(args)],
            result_types=[list(result_types)],
            properties={"callee": SymbolRefAttr(callee)},
        )


def stage_of(value: SSAValue) -> Operation | None:
    """The placeholder or compute that defines a tensor value inside a kernel."""
    return value.owner if isinstance(value.owner, (PlaceholderOp, ComputeOp)) else None
