"""Text syntax helpers of the functional relay ops (``functional.py``): result lists that may
be inferred from the body, typed operand lists, and parse errors that name the op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from xdsl.ir import Attribute, Region
from xdsl.irdl import IRDLOperation
from xdsl.parser import Parser
from xdsl.printer import Printer

from xtvm.dialects.relay.fused import YieldOp

_T = TypeVar("_T", bound=Attribute)


def print_results(printer: Printer, types: Sequence[Attribute]) -> None:
    printer.print_string(" -> (")
    printer.print_list(types, printer.print_attribute)
    printer.print_string(") ")


def parse_results(parser: Parser) -> list[Attribute] | None:
    """``-> (types)``, or None when left out (then inferred from the body's yield)."""
    if parser.parse_optional_punctuation("->") is None:
        return None
    return parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_type)


def parse_body(
    parser: Parser, name: str, args: Sequence[Parser.Argument], results: list[Attribute] | None
) -> tuple[Region, list[Attribute]]:
    """The region, and the result types: as written, else what the body yields."""
    pos = parser.pos
    body = parser.parse_region(args)
    if results is None:
        term = body.block.last_op
        if not isinstance(term, YieldOp):
            parser.raise_error(f"{name}: cannot infer the results: no relay.yield", pos, parser.pos)
        results = [v.type for v in term.values]
    return body, results


def parse_type_of(parser: Parser, name: str, kind: type[_T], what: str) -> _T:
    """``: <type>`` where the type must be a ``kind`` (a parse error otherwise)."""
    parser.parse_punctuation(":")
    pos = parser.pos
    t = parser.parse_type()
    if not isinstance(t, kind):
        parser.raise_error(f"{name}: expected {what} type, got {t}", pos, parser.pos)
    return t


def check_count(parser: Parser, pos: int, name: str, got: int, want: int, t: Attribute) -> None:
    if got != want:
        parser.raise_error(f"{name}: {got} operands but the type {t} takes {want}", pos, parser.pos)


def parse_attrs(parser: Parser, op: IRDLOperation) -> None:
    attrs = parser.parse_optional_attr_dict_with_keyword()
    if attrs is not None:
        op.attributes.update(attrs.data)
