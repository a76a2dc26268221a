"""Default CPU schedule for one fused kernel: inline the injective stages, vectorize the
contiguous output dim, accumulate reductions around the vector loop, parallelize outside.

Rules (applied to every ``te.kernel`` the relay lowering produces):

1. Every compute that is not a reduction and not a kernel output is ``compute_inline``d
   (pads, broadcasts, elementwise prologues/epilogues); reductions keep their own stage, and
   so do computes tagged ``materialize`` (an edge-padded copy a resize reads without clamps).
2. For each remaining stage, the last spatial axis (contiguous in the output) is the vector
   axis: split by the lane count when it divides the extent, else by the largest divisor in
   ``[min_vector_factor, lanes]``, else (at least ``min_vector_factor`` long, and for a
   reduction at most ``MAX_WHOLE_ROW_VECTORS`` vectors) vectorized whole, which
   ``tir-vectorize`` strip-mines into full vectors and a shorter tail vector.
   A factor equal to the extent vectorizes the axis as is.
   2b. A copy whose reads are contiguous along another axis than its last (a transpose)
   loops over 8x8 tiles of those two axes instead (``copy.tile_transpose``).
   2c. A stage whose reads see the last axis ``j`` as ``j // g`` and ``j % g`` (a
   concatenation along it, an integer nearest upsampling) splits it by ``g`` first and
   vectorizes the inner part when the reads are contiguous in it (``copy.split_blocks``).
3. A reduction stage that vectorizes orders its loops ``spatial..., outer, reduce...,
   inner`` (reduction axes just outside the vector loop; the lowering then accumulates in
   the output buffer: an init nest, then an update nest).
   3b. Unless its reads are contiguous in the innermost reduction axis and not in the last
   spatial axis (softmax and layer-norm statistics, reductions over the last axis; see
   :mod:`xtvm.topi.x86.access`): then that reduction axis is vectorized whole, and
   ``tir-vectorize`` accumulates per-lane partial results and combines them after the loop.
4. The outermost loop with extent > 1 is ``parallel`` when every loop outside it has extent
   1 (so a batch of 1 still parallelizes over channels) and it is neither a reduction axis
   nor the vector axis, and only when the stage does at least ``min_parallel_work``
   iterations (tiny kernels stay on one thread).

5. A stage whose compute ``tag`` has an operator schedule (:mod:`xtvm.topi.x86.registry`:
   packed dense, blocked convolutions) is scheduled by it instead, together with the
   elementwise epilogue that consumes it when there is one (see ``_epilogue``). A schedule
   registered with ``keep`` (softmax's exponentials) also keeps its elementwise stage out of
   rule 1 and may schedule the stages around it (the ones it returns).

The knobs live in :class:`DefaultScheduleConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from xdsl.dialects.builtin import AnyFloat, IntegerType, TensorType

from xtvm.dialects.te import ComputeOp, KernelOp, ReadOp
from xtvm.topi.anchors import schedule_anchors
from xtvm.topi.schedule import Axis, Schedule, Stage
from xtvm.topi.x86.access import contiguous_axes
from xtvm.topi.x86.copy import split_blocks, tile_transpose
from xtvm.topi.x86.registry import keeps_buffer, schedule_for

FALLBACK_VECTOR_BITS = 512
MAX_WHOLE_ROW_VECTORS = 4  # rule 2: a reduction vectorizes an odd last axis up to this long


@cache
def host_vector_bits() -> int:
    """Widest SIMD register of this machine (512 if the target module is unavailable)."""
    try:
        from xtvm.backends.llvm.target import Target
    except ImportError:  # pragma: no cover - the backend is optional for the operator library
        return FALLBACK_VECTOR_BITS
    return Target.host().vector_lanes(32) * 32


@dataclass(frozen=True)
class DefaultScheduleConfig:
    """Knobs of the default schedule."""

    vector_bits: int = 0  # 0: the host's widest vector register
    min_vector_factor: int = 4
    vectorize: bool = True
    parallel: bool = True
    inline_injective: bool = True
    operator_schedules: bool = True  # use the tag-specific schedules of x86.registry
    conv_channel_chunks: bool = True  # convs with many input channels: cache-block them
    # below this many scalar operations a stage runs on one thread: a fork/join costs
    # microseconds, and spinning worker threads slow down everything else on a small machine
    min_parallel_work: int = 1 << 15

    # 0: 32 with 512-bit vectors (AVX-512), else 16 (AVX2, SSE); builds set it from the
    # target (``for_target``: 32 on AArch64 and RISC-V), never from the host
    vector_registers: int = 0
    # "cuda": kernels get the GPU schedules of xtvm.topi.cuda (threads, shared memory)
    device: str = "cpu"
    # Tunable choices of the operator schedules (xtvm.autotune.space.Knobs): the fallback
    # (defaults), a space being collected, or a tuned config. Set per kernel by the lowering.
    knobs: Any = field(default=None, compare=False, hash=False)

    @classmethod
    def for_target(cls, target: Any, **knobs: Any) -> DefaultScheduleConfig:
        """The defaults for ``target`` (an ``xtvm.backends.llvm.Target``): its vector width
        and register count, not the host's (they differ when cross-compiling)."""
        return cls(
            vector_bits=target.vector_width_bits,
            vector_registers=target.vector_registers,
            **knobs,
        )

    def tuning(self) -> Any:
        """The knobs object templates ask for their choices (defaults when untuned)."""
        if self.knobs is None:
            from xtvm.autotune.space import FALLBACK

            return FALLBACK
        return self.knobs

    def registers(self) -> int:
        """Vector registers the register-blocked schedules may plan for."""
        if self.vector_registers:
            return self.vector_registers
        return 32 if (self.vector_bits or host_vector_bits()) >= 512 else 16

    def lanes(self, elt) -> int:
        bits = self.vector_bits or host_vector_bits()
        width = 32
        if isinstance(elt, AnyFloat):
            width = elt.bitwidth
        elif isinstance(elt, IntegerType):
            width = max(8, elt.width.data)
        return max(1, bits // width)


def vector_factor(extent: int, lanes: int, min_factor: int = 4) -> int | None:
    """Lane count if it divides ``extent``, else the largest divisor in [min_factor, lanes]."""
    if extent >= lanes and extent % lanes == 0:
        return lanes
    for f in range(min(lanes, extent), min_factor - 1, -1):
        if extent % f == 0:
            return f
    return None


def stage_work(st: Stage) -> int:
    """Iterations of the stage's full loop nest (spatial times reduction extents)."""
    n = 1
    for ax in [*st.axes, *st.reduce_axes]:
        n *= ax.extent
    return n


def reduce_vector_axis(st: Stage, cfg: DefaultScheduleConfig) -> Axis | None:
    """Rule 3b: the innermost reduction axis, when it (and not the last spatial axis) walks
    the stage's reads contiguously and is long enough to fill a vector."""
    red = st.reduce_axes
    if not (cfg.vectorize and red) or red[-1].extent < cfg.min_vector_factor:
        return None
    spatial_ok, reduce_ok = contiguous_axes(st)
    if not reduce_ok:
        return None
    axes = st.axes
    assert st.compute is not None
    t = st.compute.result.type
    assert isinstance(t, TensorType)
    lanes = cfg.lanes(t.element_type)
    if spatial_ok and vector_factor(axes[-1].extent, lanes, cfg.min_vector_factor) is not None:
        return None  # rule 2 applies: whole vectors of outputs, no horizontal reductions
    return red[-1]


def schedule_stage(st: Stage, cfg: DefaultScheduleConfig) -> None:
    """Rules 2-4 for one non-inlined stage."""
    axes = st.axes
    red = st.reduce_axes
    inner: Axis | None = reduce_vector_axis(st, cfg)
    if inner is not None:
        st.vectorize(inner)  # tir-vectorize strip-mines it and keeps per-lane partials
    elif (blocked := split_blocks(st, cfg)) is not None:
        inner = blocked
    elif (tiled := tile_transpose(st, cfg)) is not None:
        inner = tiled
    elif axes and cfg.vectorize:
        assert st.compute is not None
        t = st.compute.result.type
        assert isinstance(t, TensorType)
        last = axes[-1]
        lanes = cfg.lanes(t.element_type)
        f = vector_factor(last.extent, lanes, cfg.min_vector_factor)
        if f is None and last.extent >= cfg.min_vector_factor:
            # no good divisor: whole vectors and one shorter tail vector; a reduction keeps
            # that row in the output across its reduction loops, so only a short one
            if not red or last.extent <= MAX_WHOLE_ROW_VECTORS * lanes:
                f = last.extent
        if f is not None:
            if f == last.extent:
                inner = last
                spatial = axes
            else:
                outer, inner = st.split(last, f)
                spatial = [*axes[:-1], outer, inner]
            if red:
                st.reorder(*spatial[:-1], *red, inner)
            st.vectorize(inner)
    if cfg.parallel and stage_work(st) >= cfg.min_parallel_work:
        for ax in st.leaf_axes:
            if ax.is_reduce or ax is inner:
                break
            if ax.extent > 1:
                st.parallel(ax)
                break


def apply_default_schedule(
    kernel: KernelOp, config: DefaultScheduleConfig | None = None
) -> Schedule:
    """Write the default schedule into ``kernel`` (which must not have one yet)."""
    if kernel.schedule is not None:
        raise ValueError(f"kernel {kernel.sym_name.data} already has a schedule")
    cfg = config or DefaultScheduleConfig()
    if cfg.device == "cuda":
        from xtvm.topi.cuda.config import CudaScheduleConfig
        from xtvm.topi.cuda.default import apply_cuda_schedule

        return apply_cuda_schedule(
            kernel,
            CudaScheduleConfig(
                inline_injective=cfg.inline_injective,
                operator_schedules=cfg.operator_schedules,
                knobs=cfg.knobs,
            ),
        )
    s = Schedule(kernel)
    outputs = set(kernel.return_op.values)
    kept = []
    for c in kernel.computes:
        keep = _kept(c) or (cfg.operator_schedules and keeps_buffer(_tag(c)))
        if cfg.inline_injective and c.reduce is None and c.result not in outputs and not keep:
            s.stage(c).compute_inline()
        else:
            kept.append(c)
    done: set[ComputeOp] = set()
    if cfg.operator_schedules and cfg.inline_injective:
        done = schedule_anchors(
            kernel,
            s,
            kept,
            cfg,
            lambda c: schedule_for(_tag(c)),
            lambda c: keeps_buffer(_tag(c)),
            _epilogue,
        )
    for c in kept:
        if c not in done:
            schedule_stage(s.stage(c), cfg)
    return s


def _kept(c: ComputeOp) -> bool:
    """A stage its compute asks to keep (tag ``materialize``: a padded copy its consumer
    reads at affine indices instead of clamped ones)."""
    return c.tag is not None and "materialize" in c.tag.data.split(",")


def _tag(c: ComputeOp) -> str | None:
    return c.tag.data if c.tag is not None else None


def direct_readers(kernel: KernelOp) -> dict[ComputeOp, set[ComputeOp]]:
    """Compute -> the computes that read its result."""
    by_result = {c.result: c for c in kernel.computes}
    readers: dict[ComputeOp, set[ComputeOp]] = {}
    for c in kernel.computes:
        for op in c.walk():
            if isinstance(op, ReadOp) and op.tensor in by_result:
                readers.setdefault(by_result[op.tensor], set()).add(c)
    return readers


def kept_readers(
    readers: dict[ComputeOp, set[ComputeOp]], start: ComputeOp, is_kept: Callable[[ComputeOp], bool]
) -> set[ComputeOp]:
    """The kept computes reading ``start`` directly or through computes that are not kept
    (inlined ones), given :func:`direct_readers`."""
    found: set[ComputeOp] = set()
    work, seen = [start], set()
    while work:
        cur = work.pop()
        for r in readers.get(cur, ()):
            if r in seen:
                continue
            seen.add(r)
            if is_kept(r):
                found.add(r)
            else:
                work.append(r)
    return found


def _epilogue(kernel: KernelOp, anchor: ComputeOp, kept: list[ComputeOp]) -> ComputeOp | None:
    """The one kept (non-inlined) compute reading ``anchor`` directly or through inlined
    stages, if it is a non-reduction kernel output of the anchor's shape."""
    kept_set = set(kept)
    found = kept_readers(direct_readers(kernel), anchor, kept_set.__contains__)
    if len(found) != 1:
        return None
    (epi,) = found
    outputs = set(kernel.return_op.values)
    if epi.reduce is not None or epi.result not in outputs or epi.shape != anchor.shape:
        return None
    return epi
