"""Loop orders for data-movement stages (concatenations, upsamplings, transposes, slices):
copy contiguous runs with vector loads and stores, or leave LLVM a loop it can vectorize.

``tir-vectorize`` widens a loop whose reads move by one element per iteration or not at
all; a read at a clamped, divided or strided index makes it give up (the loop stays
serial). Copies meet that in three ways, each with a rule here:

- *Blocks* (:func:`split_blocks`): the last axis reaches the reads as ``j // g`` and
  ``j % g`` (a concatenation along it addressed by blocks, a nearest upsampling by an
  integer factor). Split by ``g``, ``tir-simplify`` turns those into the two loops, and
  either the inner loop reads contiguously (vectorize it: one vector copy per block, the
  choice of input uniform in it) or only the outer one moves the reads (keep the inner
  loop serial and short: LLVM vectorizes the outer loop with interleaving shuffles).
- *Transposes* (:func:`tile_transpose`): the reads are contiguous along another axis than
  the last: loop over square tiles of the two axes so the lines read and written both stay
  in L1; ragged tiles are guarded by the lowering and peeled by ``tir-loop-partition``.
- *Odd rows*: a last axis with no divisor in ``[min_vector_factor, lanes]`` is vectorized
  whole: ``tir-vectorize`` strip-mines it into full vectors and one shorter tail vector
  (see ``default.schedule_stage``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects.builtin import TensorType

from xtvm.topi.schedule import Axis, Stage
from xtvm.topi.x86.access import block_split, read_walking_axis

if TYPE_CHECKING:
    from xtvm.topi.x86.default import DefaultScheduleConfig

TRANSPOSE_TILE = 8
MAX_UNROLLED_PHASES = 8


def stage_lanes(st: Stage, cfg: DefaultScheduleConfig) -> int:
    """Vector lanes of the stage's element type."""
    assert st.compute is not None
    t = st.compute.result.type
    assert isinstance(t, TensorType)
    return cfg.lanes(t.element_type)


def split_blocks(st: Stage, cfg: DefaultScheduleConfig) -> Axis | None:
    """The block rule: split the last axis by the block size ``g`` of its reads; returns
    the inner loop (vectorized when the reads are contiguous in it)."""
    if not cfg.vectorize or st.compute is None:
        return None
    found = block_split(st)
    if found is None:
        return None
    g, walker = found
    _, inner = st.split(st.axes[-1], g)
    if walker == "inner" and g >= cfg.min_vector_factor:
        st.vectorize(inner)  # tir-vectorize strip-mines blocks longer than a vector
    elif walker == "outer" and g <= MAX_UNROLLED_PHASES:
        st.unroll(inner)  # constant phases: LLVM vectorizes the outer loop, interleaving
    return inner


def tile_transpose(st: Stage, cfg: DefaultScheduleConfig) -> Axis | None:
    """The transpose rule: a copy that reads contiguously along another axis than its last
    one loops over ``TRANSPOSE_TILE``-square tiles of (that axis, the last axis), so the
    lines it reads and the lines it writes both stay in L1; returns the inner last axis."""
    k = read_walking_axis(st) if cfg.vectorize else None
    if k is None:
        return None
    a, last = st.axes[k], st.axes[-1]
    t = TRANSPOSE_TILE
    if a.extent < t or last.extent < t:
        return None
    return st.tile(a, last, t, t)[3]  # ragged edges: min bounds, peeled by tir-loop-partition
