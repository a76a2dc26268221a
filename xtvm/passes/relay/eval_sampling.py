"""numpy evaluators of ``relay.grid_sample`` and ``relay.roi_align`` (same maths as the kernels)."""

from __future__ import annotations

import numpy as np

from xtvm.dialects.relay.sampling import GridSampleOp, RoiAlignOp
from xtvm.passes.relay.evaluate import register_evaluator
from xtvm.topi.nn.roi_align import roi_align_numpy
from xtvm.topi.nn.sampling import grid_sample_numpy


@register_evaluator(GridSampleOp)
def _grid_sample(op: GridSampleOp, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return grid_sample_numpy(x, grid, op.mode.data, op.padding_mode.data, op.align)


@register_evaluator(RoiAlignOp)
def _roi_align(op: RoiAlignOp, x: np.ndarray, rois: np.ndarray, bidx: np.ndarray) -> np.ndarray:
    return roi_align_numpy(x, rois, bidx, *op.params)
