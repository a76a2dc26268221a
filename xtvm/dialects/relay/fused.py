"""``relay.fused``: a group of ops that will become one kernel (TVM's primitive function).

The region's block arguments are the group's inputs; ``relay.yield`` returns its outputs.
The region is isolated from above: everything it reads comes in through its arguments, which
is what lets the lowering turn it into a self-contained kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import FunctionType, StringAttr, TensorType, TupleType
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    prop_def,
    region_def,
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
    Pure,
)
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class FusedOp(IRDLOperation):
    """``%r = relay.fused "name" (%a, %b) : (ta, tb) -> tr { ^bb0(%x: ta, %y: tb): ... }``."""

    name = "relay.fused"
    kernel_name = prop_def(StringAttr)
    inputs = var_operand_def(TensorType)
    outputs = var_result_def(TensorType)
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove(), Pure())

    def __init__(
        self,
        kernel_name: str,
        inputs: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        body: Region,
    ):
        super().__init__(
            operands=[list(inputs)],
            result_types=[list(result_types)],
            properties={"kernel_name": StringAttr(kernel_name)},
            regions=[body],
        )

    @property
    def block(self) -> Block:
        return self.body.block

    def verify_(self) -> None:
        args = self.body.block.args
        if [a.type for a in args] != [v.type for v in self.inputs]:
            raise VerifyException("relay.fused: block argument types must match the input types")
        term = self.body.block.last_op
        if not isinstance(term, YieldOp):
            raise VerifyException("relay.fused: body must end with relay.yield")
        if [v.type for v in term.values] != [r.type for r in self.outputs]:
            raise VerifyException("relay.fused: yielded types must match the result types")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.kernel_name)
        printer.print_string(" (")
        printer.print_list(self.inputs, printer.print_operand)
        printer.print_string(") : (")
        printer.print_list([v.type for v in self.inputs], printer.print_attribute)
        printer.print_string(") -> (")
        printer.print_list([r.type for r in self.outputs], printer.print_attribute)
        printer.print_string(") ")
        printer.print_region(self.body, print_entry_block_args=True, print_empty_block=True)
        attrs = {k: v for k, v in self.attributes.items()}
        if attrs:
            printer.print_op_attributes(attrs, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> FusedOp:
        name = parser.parse_str_literal()
        operands = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        parser.parse_punctuation(":")
        in_types = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_type)
        parser.parse_punctuation("->")
        out_types = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_type)
        resolved = parser.resolve_operands(operands, in_types, parser.pos)
        body = parser.parse_region()
        op = cls(name, resolved, out_types, body)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        if attrs is not None:
            op.attributes.update(attrs.data)
        return op


def _region_ops() -> tuple[type[IRDLOperation], ...]:
    from xtvm.dialects.relay.control import IfOp
    from xtvm.dialects.relay.functional import FnOp, LetOp
    from xtvm.dialects.relay.loop import LoopOp

    return (IfOp, LoopOp, LetOp, FnOp)


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a ``relay.fused`` group or a ``relay.if``/``relay.let``/``relay.fn`` region with its
    result values (tuples and function values too: the let form passes them around)."""

    name = "relay.yield"
    values = var_operand_def(TensorType | TupleType | FunctionType)
    # lazy: relay.if (control.py) and relay.let/relay.fn (functional.py) import this class
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(FusedOp, *_region_ops()), Pure()))
    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[list(values)])
