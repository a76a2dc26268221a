"""Elementwise and injective stages on a GPU: one output element per thread.

All axes are fused and split by the block size; the inner part is ``threadIdx.x`` and the
outer ``blockIdx.x``, so consecutive threads of a warp write consecutive elements of the
row-major output (coalesced stores, and coalesced loads wherever the reads follow it).
"""

from __future__ import annotations

from xtvm.topi.cuda.config import CudaScheduleConfig
from xtvm.topi.schedule import Stage

MAX_GRID_X = 2**31 - 1
THREAD_CHOICES = (64, 128, 256, 512, 1024)


def schedule_injective(st: Stage, cfg: CudaScheduleConfig) -> None:
    """Bind every element of ``st`` to a thread (a reduction keeps its loops per thread)."""
    axes = st.axes
    total = 1
    for a in axes:
        total *= a.extent
    default = min(cfg.threads_per_block, cfg.max_threads_per_block)
    threads = cfg.tuning().knob("threads", THREAD_CHOICES, default)
    fused = st.fuse(*axes) if len(axes) > 1 else axes[0] if axes else None
    if fused is None:  # a 0-d output: one thread
        return
    if total <= threads:
        st.bind(fused, "threadIdx.x")
        return
    bx, tx = st.split(fused, threads)
    if bx.extent > MAX_GRID_X:
        raise ValueError(f"stage {st.name!r}: {total} elements need more than {MAX_GRID_X} blocks")
    st.bind(bx, "blockIdx.x")
    st.bind(tx, "threadIdx.x")
