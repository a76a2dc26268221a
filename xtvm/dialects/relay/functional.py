"""Relay as a language: tuples, ``let`` with explicit scope, functions as values, calls.

::

    %t = relay.tuple(%a, %b) : tuple<tensor<4xf32>, tensor<2xf32>>
    %b2 = relay.tuple_get %t[1] : tuple<tensor<4xf32>, tensor<2xf32>>
    %r = relay.let (%x = %v : tensor<4xf32>) -> (tensor<4xf32>) {
      %y = relay.exp %x : tensor<4xf32>
      relay.yield %y : tensor<4xf32>
    }
    %f = relay.fn (%p: tensor<4xf32>) -> (tensor<4xf32>) {
      relay.yield %p : tensor<4xf32>
    }
    %c = relay.call %f(%x) : (tensor<4xf32>) -> tensor<4xf32>

A ``relay.let`` binds one variable (its region's block argument) to a value for the scope of
its region; the region's ``relay.yield`` gives the let's results. A ``relay.fn`` is a function
*value* of builtin ``FunctionType``: its block arguments are the parameters and it may read
values of enclosing scopes (a closure). ``relay.call`` applies a function value. Functions
named at module level stay ``func.func`` and are called with ``func.call`` (xDSL verifies the
symbol and the types); ``relay-inline-functions`` inlines both kinds of call. Every result
type is inferred from the operands (or the region), and the verifiers compare them.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import ArrayAttr, FunctionType, IntegerAttr, TupleType, i64
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.functional_syntax import (
    check_count,
    parse_attrs,
    parse_body,
    parse_results,
    parse_type_of,
    print_results,
)
from xtvm.dialects.relay.fused import YieldOp


def _types(values: Sequence[SSAValue]) -> list[Attribute]:
    return [v.type for v in values]


def tuple_type(types: Sequence[Attribute]) -> TupleType:
    """``tuple<types>``; xDSL 0.74's ``TupleType([...])`` keeps a list inside its ArrayAttr, which
    then compares unequal to the parsed (tuple-backed) type, so always hand it a tuple."""
    return TupleType(ArrayAttr(tuple(types)))


def _shown(types: Sequence[Attribute]) -> str:
    return "(" + ", ".join(str(t) for t in types) + ")"


def _yield_of(name: str, block: Block) -> YieldOp:
    term = block.last_op
    if not isinstance(term, YieldOp):
        raise VerifyException(f"{name}: the body must end with relay.yield")
    return term


def _check_yield(name: str, block: Block, want: Sequence[Attribute]) -> None:
    got = _types(_yield_of(name, block).values)
    if got != list(want):
        raise VerifyException(
            f"{name}: the body yields {_shown(got)}, but the results are {_shown(want)}"
        )


# ----------------------------------------------------------------------------------------------
# tuples
# ----------------------------------------------------------------------------------------------


@irdl_op_definition
class TupleOp(IRDLOperation):
    """Groups values into one ``tuple<...>`` value (Relay's tuple expression)."""

    name = "relay.tuple"
    fields = var_operand_def()
    result = result_def(TupleType)
    traits = traits_def(Pure())

    def __init__(self, fields: Sequence[SSAValue]):
        super().__init__(operands=[list(fields)], result_types=[tuple_type(_types(fields))])

    def verify_(self) -> None:
        want = tuple_type(_types(self.fields))
        if self.result.type != want:
            raise VerifyException(
                f"relay.tuple: result type {self.result.type} does not match the inferred type {want}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string("(")
        printer.print_list(self.fields, printer.print_operand)
        printer.print_string(") : ")
        printer.print_attribute(self.result.type)
        printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> TupleOp:
        fields = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        pos = parser.pos
        t = parse_type_of(parser, "relay.tuple", TupleType, "a tuple")
        check_count(parser, pos, "relay.tuple", len(fields), len(t.types), t)
        op = cls(parser.resolve_operands(fields, list(t.types), pos))
        parse_attrs(parser, op)
        return op


@irdl_op_definition
class TupleGetOp(IRDLOperation):
    """Field ``index`` of a tuple (Relay's ``%t.1``)."""

    name = "relay.tuple_get"
    tuple = operand_def(TupleType)
    index = prop_def(IntegerAttr)
    result = result_def()
    traits = traits_def(Pure())

    def __init__(self, tup: SSAValue, index: int):
        t = tup.type
        assert isinstance(t, TupleType) and 0 <= index < len(t.types), "tuple index out of range"
        super().__init__(
            operands=[tup],
            result_types=[t.types.data[index]],
            properties={"index": IntegerAttr(index, i64)},
        )

    @property
    def position(self) -> int:
        return self.index.value.data

    def verify_(self) -> None:
        t = self.tuple.type
        assert isinstance(t, TupleType)
        i = self.position
        if not 0 <= i < len(t.types):
            raise VerifyException(f"relay.tuple_get: index {i} is out of range for {t}")
        if self.result.type != t.types.data[i]:
            raise VerifyException(
                f"relay.tuple_get: result type {self.result.type} does not match field {i} of {t}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.tuple)
        printer.print_string(f"[{self.position}] : ")
        printer.print_attribute(self.tuple.type)
        printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> TupleGetOp:
        operand = parser.parse_unresolved_operand()
        parser.parse_punctuation("[")
        index = parser.parse_integer(allow_negative=False, allow_boolean=False)
        parser.parse_punctuation("]")
        pos = parser.pos
        t = parse_type_of(parser, "relay.tuple_get", TupleType, "a tuple")
        if index >= len(t.types):
            parser.raise_error(
                f"relay.tuple_get: index {index} is out of range for {t}", pos, parser.pos
            )
        op = cls(parser.resolve_operand(operand, t), index)
        parse_attrs(parser, op)
        return op


# ----------------------------------------------------------------------------------------------
# let
# ----------------------------------------------------------------------------------------------


@irdl_op_definition
class LetOp(IRDLOperation):
    """``let %x = value in body``: the region's one block argument is ``%x``, in scope only
    inside the region; the results are what the body yields. Not isolated: the body reads the
    enclosing scopes' variables too, as Relay's nested lets do."""

    name = "relay.let"
    value = operand_def()
    outputs = var_result_def()
    body = region_def("single_block")
    traits = traits_def(Pure())

    def __init__(self, value: SSAValue, result_types: Sequence[Attribute], body: Region):
        super().__init__(operands=[value], result_types=[list(result_types)], regions=[body])

    @staticmethod
    def build(value: SSAValue, result_types: Sequence[Attribute], name: str | None = None) -> LetOp:
        """A let binding ``value`` whose body is an empty block (the caller fills it)."""
        block = Block(arg_types=[value.type])
        if name:
            block.args[0].name_hint = name
        return LetOp(value, result_types, Region(block))

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def var(self) -> SSAValue:
        return self.body.block.args[0]

    def verify_(self) -> None:
        args = self.body.block.args
        if len(args) != 1 or args[0].type != self.value.type:
            raise VerifyException(
                f"relay.let: the body binds one variable of the value's type {self.value.type}"
            )
        _check_yield(self.name, self.block, _types(self.outputs))

    def print(self, printer: Printer) -> None:
        printer.print_string(" (")
        printer.print_block_argument(self.var, print_type=False)
        printer.print_string(" = ")
        printer.print_operand(self.value)
        printer.print_string(" : ")
        printer.print_attribute(self.value.type)
        printer.print_string(")")
        print_results(printer, _types(self.outputs))
        printer.print_region(self.body, print_entry_block_args=False, print_empty_block=True)
        printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> LetOp:
        parser.parse_punctuation("(")
        var = parser.parse_argument(expect_type=False)
        parser.parse_punctuation("=")
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        value_type = parser.parse_type()
        parser.parse_punctuation(")")
        results = parse_results(parser)
        body, results = parse_body(parser, cls.name, (var.resolve(value_type),), results)
        op = cls(parser.resolve_operand(value, value_type), results, body)
        parse_attrs(parser, op)
        return op


# ----------------------------------------------------------------------------------------------
# functions and calls
# ----------------------------------------------------------------------------------------------


@irdl_op_definition
class FnOp(IRDLOperation):
    """A function value (Relay's ``fn (%p) { ... }``): parameters are the block arguments, the
    yielded values are the returns; it may read values of enclosing scopes (a closure)."""

    name = "relay.fn"
    result = result_def(FunctionType)
    body = region_def("single_block")
    traits = traits_def(Pure())

    def __init__(self, body: Region, result_types: Sequence[Attribute]):
        fn_type = FunctionType.from_lists(_types(body.block.args), list(result_types))
        super().__init__(result_types=[fn_type], regions=[body])

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def function_type(self) -> FunctionType:
        t = self.result.type
        assert isinstance(t, FunctionType)
        return t

    def verify_(self) -> None:
        t = self.function_type
        params = _types(self.block.args)
        if params != list(t.inputs.data):
            raise VerifyException(
                f"relay.fn: parameters {_shown(params)} do not match the type {t}"
            )
        _check_yield(self.name, self.block, list(t.outputs.data))

    def print(self, printer: Printer) -> None:
        printer.print_string(" (")
        printer.print_list(self.block.args, printer.print_block_argument)
        printer.print_string(")")
        print_results(printer, list(self.function_type.outputs.data))
        printer.print_region(self.body, print_entry_block_args=False, print_empty_block=True)
        printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> FnOp:
        params = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_argument)
        body, results = parse_body(parser, cls.name, params, parse_results(parser))
        op = cls(body, results)
        parse_attrs(parser, op)
        return op


@irdl_op_definition
class CallOp(IRDLOperation):
    """Apply a function value to arguments; the results are the function type's outputs."""

    name = "relay.call"
    callee = operand_def(FunctionType)
    args = var_operand_def()
    outputs = var_result_def()
    traits = traits_def(Pure())

    def __init__(self, callee: SSAValue, args: Sequence[SSAValue]):
        t = callee.type
        assert isinstance(t, FunctionType)
        super().__init__(operands=[callee, list(args)], result_types=[list(t.outputs.data)])

    @property
    def function_type(self) -> FunctionType:
        t = self.callee.type
        assert isinstance(t, FunctionType)
        return t

    def verify_(self) -> None:
        t = self.function_type
        got = _types(self.args)
        if got != list(t.inputs.data):
            raise VerifyException(
                f"relay.call: arguments {_shown(got)} do not match the function type {t}"
            )
        if _types(self.outputs) != list(t.outputs.data):
            raise VerifyException(
                f"relay.call: results {_shown(_types(self.outputs))} do not match the function type {t}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.callee)
        printer.print_string("(")
        printer.print_list(self.args, printer.print_operand)
        printer.print_string(") : ")
        printer.print_attribute(self.function_type)
        printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> CallOp:
        callee = parser.parse_unresolved_operand()
        args = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        pos = parser.pos
        t = parse_type_of(parser, "relay.call", FunctionType, "a function")
        check_count(parser, pos, "relay.call", len(args), len(t.inputs), t)
        op = cls(
            parser.resolve_operand(callee, t),
            parser.resolve_operands(args, list(t.inputs.data), pos),
        )
        parse_attrs(parser, op)
        return op
