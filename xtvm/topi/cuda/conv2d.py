"""conv2d (NCHW) on a GPU: a direct convolution with shared-memory tiles of the input and
the weights and a register block of output channels per thread.

A block computes ``tf*rf`` output channels of a ``ty x tx`` patch of output pixels (blocks
over ``(batch, channel tiles)``, rows and columns); its threads are ``tf x ty x tx``
(``threadIdx.z/y/x``), each accumulating ``rf`` channels of one pixel in registers. The
input channels are walked in chunks of ``bc``: per chunk the block copies the input patch
the outputs need (``bc x (ty*s + kh - 1) x (tx*s + kw - 1)``, padding included) and the
weights (``tf*rf x bc x kh x kw``) into shared memory, between two barriers.
"""

from __future__ import annotations

from xtvm.topi.cuda.config import CudaScheduleConfig
from xtvm.topi.cuda.dense import accumulator, cooperative_load, placeholder_reads
from xtvm.topi.cuda.registry import register_cuda_schedule
from xtvm.topi.schedule import Schedule, Stage

TF_CHOICES = (1, 2, 4, 8, 16)
RF_CHOICES = (1, 2, 4, 8)
TYX_CHOICES = (1, 2, 4, 8, 16, 32)
BC_CHOICES = (1, 2, 4, 8, 16)


def _pow2_at_most(n: int, cap: int) -> int:
    f = 1
    while f * 2 <= min(n, cap):
        f *= 2
    return f


@register_cuda_schedule("conv2d_nchw")
def schedule_conv2d(
    s: Schedule, anchor: Stage, epilogue: Stage | None, cfg: CudaScheduleConfig
) -> list[Stage]:
    """The direct conv2d template (knobs ``tf``, ``rf``, ``ty``, ``tx``, ``bc``, ``unroll``)."""
    kn = cfg.tuning()
    acc, out = accumulator(anchor, epilogue)
    n, f, y, x = out.axes
    rc = acc.reduce_axes[0]
    tx = kn.knob("tx", TYX_CHOICES, _pow2_at_most(x.extent, 16))
    ty = kn.knob("ty", TYX_CHOICES, _pow2_at_most(y.extent, max(1, 64 // tx)))
    rf = kn.knob("rf", RF_CHOICES, min(4, _pow2_at_most(f.extent, 4)))
    tf = kn.knob("tf", TF_CHOICES, _pow2_at_most(-(-f.extent // rf), max(1, 256 // (tx * ty))))
    bc = kn.knob("bc", BC_CHOICES, _pow2_at_most(rc.extent, 8))
    if tf * ty * tx > cfg.max_threads_per_block or tf > 64:
        raise ValueError(f"conv2d: {tf}x{ty}x{tx} threads do not fit a block")
    fo, fi = out.split(f, tf * rf)
    tz_, rfi = out.split(fi, rf)
    yo, ty_ = out.split(y, ty)
    xo, tx_ = out.split(x, tx)
    out.reorder(n, fo, yo, xo, tz_, ty_, tx_, rfi)
    out.bind(out.fuse(n, fo), "blockIdx.z")
    out.bind(yo, "blockIdx.y")
    out.bind(xo, "blockIdx.x")
    out.bind(tz_, "threadIdx.z")
    out.bind(ty_, "threadIdx.y")
    out.bind(tx_, "threadIdx.x")
    acc.compute_at(out, tx_)
    an, af, ay, ax = acc.axes
    rc, ry, rx = acc.reduce_axes
    rco, rci = acc.split(rc, bc)
    acc.reorder(an, rco, ry, rx, rci, af, ay, ax)
    if kn.knob("unroll", [True, False], True):
        acc.unroll(af)
    threads = [
        ("threadIdx.x", min(x.extent, tx)),
        ("threadIdx.y", min(y.extent, ty)),
        ("threadIdx.z", -(-min(f.extent, tf * rf) // rf)),
    ]
    for name in placeholder_reads(acc):
        cache = s.cache_read(name, "shared")
        cache.compute_at(acc, rco)
        cooperative_load(cache, threads)
    return [acc, out]
