"""``relay.if``: a conditional on a runtime boolean (ONNX ``If``, Relay's ``if``).

``%r:2 = relay.if %c : tensor<i1> -> (t0, t1) { ...; relay.yield %a, %b } else { ... }``

The condition is a 0-d or one-element ``i1`` tensor; exactly one region runs. Both regions
end in ``relay.yield`` of values of the result types. Unlike ``relay.fused``, the regions are
not isolated: they read values of the enclosing scopes directly (SSA dominance), as ONNX
subgraphs read outer-scope names, so graph passes see one dataflow graph per region.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import TensorType, i1
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    region_def,
    traits_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.fused import YieldOp


@irdl_op_definition
class IfOp(IRDLOperation):
    """Run ``then`` when the condition holds, else ``else``; results are what the run
    region yields (``Pure``: every relay op is, so a dead conditional may go)."""

    name = "relay.if"
    cond = operand_def(TensorType)
    outputs = var_result_def(TensorType)
    then_region = region_def("single_block")
    else_region = region_def("single_block")
    traits = traits_def(Pure())

    def __init__(
        self,
        cond: SSAValue,
        result_types: Sequence[Attribute],
        then_region: Region,
        else_region: Region,
    ):
        super().__init__(
            operands=[cond],
            result_types=[list(result_types)],
            regions=[then_region, else_region],
        )

    @property
    def then_block(self) -> Block:
        return self.then_region.block

    @property
    def else_block(self) -> Block:
        return self.else_region.block

    def branch(self, taken: bool) -> Block:
        """The block that runs when the condition is ``taken``."""
        return self.then_block if taken else self.else_block

    def yielded(self, taken: bool) -> tuple[SSAValue, ...]:
        term = self.branch(taken).last_op
        assert isinstance(term, YieldOp)
        return tuple(term.values)

    def verify_(self) -> None:
        t = self.cond.type
        assert isinstance(t, TensorType)
        count = 1
        for d in t.get_shape():
            count *= d
        if t.element_type != i1 or count != 1:
            raise VerifyException(
                f"relay.if: the condition must be a 0-d or one-element i1 tensor, got {t}"
            )
        want = [r.type for r in self.outputs]
        for label, region in (("then", self.then_region), ("else", self.else_region)):
            block = region.block
            if block.args:
                raise VerifyException(f"relay.if: the {label} region takes no arguments")
            term = block.last_op
            if not isinstance(term, YieldOp):
                raise VerifyException(f"relay.if: the {label} region must end with relay.yield")
            got = [v.type for v in term.values]
            if got != want:
                shown = ", ".join(str(g) for g in got)
                raise VerifyException(
                    f"relay.if: the {label} region yields ({shown}), but the results are "
                    f"({', '.join(str(w) for w in want)})"
                )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.cond)
        printer.print_string(" : ")
        printer.print_attribute(self.cond.type)
        printer.print_string(" -> (")
        printer.print_list([r.type for r in self.outputs], printer.print_attribute)
        printer.print_string(") ")
        printer.print_region(self.then_region, print_entry_block_args=False)
        printer.print_string(" else ")
        printer.print_region(self.else_region, print_entry_block_args=False)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> IfOp:
        cond = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        cond_type = parser.parse_type()
        parser.parse_punctuation("->")
        out_types = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_type)
        resolved = parser.resolve_operand(cond, cond_type)
        then_region = parser.parse_region()
        parser.parse_keyword("else")
        else_region = parser.parse_region()
        op = cls(resolved, out_types, then_region, else_region)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        if attrs is not None:
            op.attributes.update(attrs.data)
        return op
