"""``relay.loop``: a loop with carried values and stacked per-iteration outputs (ONNX
``Loop``/``Scan``).

``%r:3 = relay.loop trip(%m : tensor<i64>) cond(%c : tensor<i1>) (%a) : (tensor<2xf32>)
-> (tensor<5x2xf32>) { ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>): ...;
relay.yield %k2, %v2, %row }``

The loop runs while ``i < trip count`` (a runtime ``trip`` operand, or the static ``trips``
property; neither: unbounded) and, when there is a ``cond`` operand, while the condition
holds (the initial one, then what the body yields; without ``cond`` the yielded condition is
ignored). The body's arguments are the iteration number, the condition and the carried
values; it yields the next condition, the next carried values (same types: xtvm compiles
static shapes) and one row per stacked output. Results: the final carried values, then the
rows stacked along a new leading axis. Stacked outputs need a static bound, so they require
``trips``; with a ``cond`` that stops the loop early, the rows of iterations that did not run
are zero. The body reads outer values directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IntegerAttr, TensorType, i1, i64
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    opt_operand_def,
    opt_prop_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay.base import shape_of, tensor_type
from xtvm.dialects.relay.fused import YieldOp

INDEX_TYPE = tensor_type((), i64)
COND_TYPE = tensor_type((), i1)


def _scalar(t: Attribute, elt: Attribute) -> bool:
    if not isinstance(t, TensorType) or t.element_type != elt:
        return False
    n = 1
    for d in t.get_shape():
        n *= d
    return n == 1


@irdl_op_definition
class LoopOp(IRDLOperation):
    """Iterate the body (see the module docstring); ``Pure`` like every relay op."""

    name = "relay.loop"
    trip = opt_operand_def(TensorType)
    cond = opt_operand_def(TensorType)
    inits = var_operand_def(TensorType)
    trips = opt_prop_def(IntegerAttr)
    outputs = var_result_def(TensorType)
    body = region_def("single_block")
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(Pure())

    def __init__(
        self,
        trip: SSAValue | None,
        cond: SSAValue | None,
        inits: Sequence[SSAValue],
        stacked_types: Sequence[Attribute],
        body: Region,
        trips: int | None = None,
    ):
        super().__init__(
            operands=[[trip] if trip else [], [cond] if cond else [], list(inits)],
            result_types=[[v.type for v in inits] + list(stacked_types)],
            properties={} if trips is None else {"trips": IntegerAttr(trips, i64)},
            regions=[body],
        )

    @property
    def block(self) -> Block:
        return self.body.block

    @property
    def static_trips(self) -> int | None:
        return None if self.trips is None else self.trips.value.data

    @property
    def finals(self) -> tuple[SSAValue, ...]:
        return tuple(self.outputs[: len(self.inits)])

    @property
    def stacked(self) -> tuple[SSAValue, ...]:
        return tuple(self.outputs[len(self.inits) :])

    def yielded(self) -> tuple[SSAValue, ...]:
        term = self.block.last_op
        assert isinstance(term, YieldOp)
        return tuple(term.values)

    def verify_(self) -> None:
        if self.trip is not None and not _scalar(self.trip.type, i64):
            raise VerifyException(
                f"relay.loop: trip must be a one-element i64 tensor, got {self.trip.type}"
            )
        if self.cond is not None and not _scalar(self.cond.type, i1):
            raise VerifyException(
                f"relay.loop: cond must be a one-element i1 tensor, got {self.cond.type}"
            )
        if self.trip is not None and self.trips is not None:
            raise VerifyException(
                "relay.loop: give a runtime trip operand or static trips, not both"
            )
        n = self.static_trips
        if self.trip is None and n is None and self.cond is None:
            raise VerifyException("relay.loop: needs a trip count or a condition to end")
        if n is not None and n < 0:
            raise VerifyException(f"relay.loop: trips must be >= 0, got {n}")
        carried = [v.type for v in self.inits]
        want_args = [INDEX_TYPE, COND_TYPE, *carried]
        got_args = [a.type for a in self.block.args]
        if got_args != want_args:
            raise VerifyException(
                "relay.loop: the body takes (iteration tensor<i64>, condition tensor<i1>, "
                f"carried...) = ({', '.join(map(str, want_args))}), got ({', '.join(map(str, got_args))})"
            )
        term = self.block.last_op
        if not isinstance(term, YieldOp):
            raise VerifyException("relay.loop: the body must end with relay.yield")
        stacked = [r.type for r in self.stacked]
        got = [v.type for v in term.values]
        if len(got) != 1 + len(carried) + len(stacked):
            raise VerifyException(
                f"relay.loop: the body yields {len(got)} values, expected 1 condition, "
                f"{len(carried)} carried and {len(stacked)} stacked"
            )
        if not _scalar(got[0], i1):
            raise VerifyException(
                f"relay.loop: the yielded condition must be a one-element i1 tensor, got {got[0]}"
            )
        for k, (a, b) in enumerate(zip(got[1 : 1 + len(carried)], carried)):
            if a != b:
                raise VerifyException(
                    f"relay.loop: carried value {k} is {b} but the body yields {a}; a carried "
                    "value must keep its type across iterations"
                )
        if stacked and n is None:
            raise VerifyException(
                "relay.loop: stacked outputs need static trips (their length must have a "
                "static bound)"
            )
        for k, (row, full) in enumerate(zip(got[1 + len(carried) :], stacked)):
            assert isinstance(row, TensorType) and isinstance(full, TensorType)
            if full.element_type != row.element_type or shape_of(full) != (n, *shape_of(row)):
                raise VerifyException(
                    f"relay.loop: stacked output {k} is {full}, but {n} rows of {row} give "
                    f"{tensor_type((n, *shape_of(row)), row.element_type)}"
                )

    def print(self, printer: Printer) -> None:
        def typed_operand(keyword: str, v: SSAValue) -> None:
            printer.print_string(f" {keyword}(")
            printer.print_operand(v)
            printer.print_string(" : ")
            printer.print_attribute(v.type)
            printer.print_string(")")

        if self.trip is not None:
            typed_operand("trip", self.trip)
        if self.trips is not None:
            printer.print_string(f" trips {self.trips.value.data}")
        if self.cond is not None:
            typed_operand("cond", self.cond)
        printer.print_string(" (")
        printer.print_list(self.inits, printer.print_operand)
        printer.print_string(") : (")
        printer.print_list([v.type for v in self.inits], printer.print_attribute)
        printer.print_string(") -> (")
        printer.print_list([r.type for r in self.stacked], printer.print_attribute)
        printer.print_string(") ")
        printer.print_region(self.body, print_entry_block_args=True)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)

    @classmethod
    def parse(cls, parser: Parser) -> LoopOp:
        def typed_operand() -> SSAValue:
            parser.parse_punctuation("(")
            v = parser.parse_unresolved_operand()
            parser.parse_punctuation(":")
            t = parser.parse_type()
            parser.parse_punctuation(")")
            return parser.resolve_operand(v, t)

        trip = typed_operand() if parser.parse_optional_keyword("trip") else None
        trips = parser.parse_integer() if parser.parse_optional_keyword("trips") else None
        cond = typed_operand() if parser.parse_optional_keyword("cond") else None
        unresolved: list[UnresolvedOperand] = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_type)
        parser.parse_punctuation("->")
        stacked = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_type)
        inits = parser.resolve_operands(unresolved, types, parser.pos)
        body = parser.parse_region()
        op = cls(trip, cond, inits, stacked, body, trips)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        if attrs is not None:
            op.attributes.update(attrs.data)
        return op
