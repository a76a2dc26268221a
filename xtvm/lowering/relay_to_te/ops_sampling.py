"""Lowerings of ``relay.grid_sample`` and ``relay.roi_align`` to their computes."""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects.relay.sampling import GridSampleOp, RoiAlignOp
from xtvm.lowering.relay_to_te.ops import lowers
from xtvm.topi.builder import Tensor
from xtvm.topi.nn.roi_align import roi_align
from xtvm.topi.nn.sampling import grid_sample


@lowers(GridSampleOp)
def _grid_sample(op: GridSampleOp, args: Sequence[Tensor], name: str) -> Tensor:
    return grid_sample(args[0], args[1], op.mode.data, op.padding_mode.data, op.align, name)


@lowers(RoiAlignOp)
def _roi_align(op: RoiAlignOp, args: Sequence[Tensor], name: str) -> Tensor:
    return roi_align(args[0], args[1], args[2], *op.params, name)
