"""Reductions on a GPU (softmax, norms, reduce ops, pooling): one output element per thread.

The spatial axes are fused and bound like an elementwise stage; each thread runs its
reduction loops serially into a register. Rows of softmax and layer norm are read with
consecutive threads on consecutive rows (strided, not coalesced); a block-level reduction
(threads of a block sharing a row, combined in shared memory) is the better schedule for
long rows and is not written yet.
"""

from __future__ import annotations

from xtvm.topi.cuda.config import CudaScheduleConfig
from xtvm.topi.cuda.injective import schedule_injective
from xtvm.topi.schedule import Stage


def schedule_reduction(st: Stage, cfg: CudaScheduleConfig) -> None:
    """Threads over the outputs, the reduction loops inside each thread."""
    schedule_injective(st, cfg)
    if st.reduce_axes:
        inner = st.reduce_axes[-1]
        if inner.extent <= 8:
            st.unroll(inner)
