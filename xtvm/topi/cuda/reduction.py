"""Reductions on a GPU (softmax, norms, reduce ops, pooling).

A long reduction (at least ``BLOCK_REDUCE_MIN`` elements per output) runs one block per
output: the reduction axes are fused and split by the block size, the inner part bound to
``threadIdx.x`` (consecutive threads read consecutive elements: coalesced), and the
lowering combines the threads' partial results in shared memory (``thread_reduce.py``).
A short one (pooling windows) runs one output per thread, its loops inside the thread.
"""

from __future__ import annotations

from xtvm.topi.cuda.config import CudaScheduleConfig
from xtvm.topi.cuda.injective import MAX_GRID_X, schedule_injective
from xtvm.topi.schedule import Stage

BLOCK_REDUCE_MIN = 64
RED_THREADS = (32, 64, 128, 256, 512)


def schedule_reduction(st: Stage, cfg: CudaScheduleConfig) -> None:
    """Threads over the outputs, or a block per output for a long reduction."""
    red = st.reduce_axes
    length = 1
    for a in red:
        length *= a.extent
    outputs = 1
    for a in st.axes:
        outputs *= a.extent
    if not red or length < BLOCK_REDUCE_MIN or outputs > MAX_GRID_X:
        schedule_injective(st, cfg)
        if red and red[-1].extent <= 8:
            st.unroll(red[-1])
        return
    default = min(cfg.threads_per_block, max(32, 1 << (length - 1).bit_length() - 1))
    threads = cfg.tuning().knob("red_threads", RED_THREADS, default)
    r = st.fuse(*red) if len(red) > 1 else red[0]
    ro, ri = st.split(r, threads)
    st.reorder(ri, ro)
    if st.axes:
        spatial = st.fuse(*st.axes) if len(st.axes) > 1 else st.axes[0]
        st.bind(spatial, "blockIdx.x")
    st.bind(ri, "threadIdx.x")
