"""Lowerings of the trig/hyperbolic relay ops and relay.cumprod."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import Operation

from xtvm.dialects.relay import misc
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.misc import cumprod, trig


@lowers(*misc.TRIG_OPS)
def _trig(op: Operation, args: Sequence[Tensor], name: str) -> Tensor:
    return trig(args[0], op.name.removeprefix("relay."), name)


@lowers(misc.CumProdOp)
def _cumprod(op: misc.CumProdOp, args: Sequence[Tensor], name: str) -> Tensor:
    axis, exclusive, reverse = op.attrs
    return cumprod(args[0], axis, exclusive, reverse, name)
