"""Sketches: the structure of a template-free schedule, derived from the compute alone.

A sketch fixes, for every stage of a kernel, what kind of loop nest it gets; the
parameters (tile sizes, annotations) are filled in later (:mod:`.annotate`). Rules, in the
spirit of Ansor's sketch rules, with what ``te`` can express:

* **always inline**: a stage that is neither a reduction nor a kernel output is
  ``compute_inline``d (as the default rules do), except stages that ask to keep a buffer
  (tag ``materialize``, or an operator schedule registered with ``keep``: softmax's
  exponentials, which two stages read);
* **multi-level tiling** (``tile``) for a reduction with data reuse: some spatial axis
  (of extent > 1) does not index some input, so a tile of outputs reads that input once
  for many outputs (matmul, convolution). Spatial loops get four levels, reductions two,
  ordered ``S S R S R S`` (or ``S S R S S R`` with the innermost reduction vectorized,
  per-lane partial sums: the te analogue of rfactor);
* **fuse the consumer** (``fuse``): when the only kept reader of that reduction is an
  elementwise kernel output of the same shape (bias, activation...), the consumer is
  tiled with the two outer levels and the reduction is ``compute_at`` its tile, so the
  accumulators never leave the tile; when the reduction is itself the output, the same
  structure through ``cache_write`` (``cache``); or the plain tiling without either
  (``direct``: the accumulators live in the output);
* **per-lane reduction** (``rvec``) for a reduction without reuse whose innermost
  reduction axis walks its reads contiguously (softmax and layer-norm statistics, sums
  over the last axis): that axis vectorized, each lane a partial result;
* **plain** for everything else (pooling, elementwise outputs): a default-rule-like nest
  with a tunable vector width, parallel depth and unrolling.

Each kernel gets 1-4 sketches: the first choice of every stage, then one variant per
alternative choice, the reuse stages' alternatives first.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from xdsl.dialects.builtin import TensorType
from xdsl.ir import BlockArgument, SSAValue

from xtvm.dialects.te import ComputeOp, KernelOp, ReadOp
from xtvm.topi.schedule import Schedule
from xtvm.topi.x86.access import contiguous_axes
from xtvm.topi.x86.default import DefaultScheduleConfig, direct_readers, kept_readers
from xtvm.topi.x86.registry import keeps_buffer

MAX_SKETCHES = 4
MIN_RVEC = 4  # a per-lane reduction needs at least this many iterations


@dataclass(frozen=True)
class StageInfo:
    """What the sketch rules need to know about one compute stage."""

    name: str
    shape: tuple[int, ...]
    reduce_extents: tuple[int, ...]
    inline: bool
    output: bool
    reuse: bool  # a reduction where a spatial axis does not index some input
    reduce_contiguous: bool  # the innermost reduction axis walks the reads contiguously
    epilogue: str | None  # the elementwise output it can be fused into (reductions only)
    lanes: int

    @property
    def work(self) -> int:
        return prod(self.shape) * prod(self.reduce_extents)


@dataclass(frozen=True)
class Sketch:
    """One structure: ``steps`` are ``("inline", stage)``, ``("tile", stage, consumer,
    cache_write)``, ``("rvec", stage)`` or ``("plain", stage)``, in schedule order."""

    id: str
    steps: tuple[tuple[Any, ...], ...]


def _tag(c: ComputeOp) -> str | None:
    return c.tag.data if c.tag is not None else None


def _kept_by_rule(c: ComputeOp) -> bool:
    tag = _tag(c)
    return (tag is not None and "materialize" in tag.split(",")) or keeps_buffer(tag)


def _deps(v: SSAValue, memo: dict[SSAValue, frozenset]) -> frozenset:
    """The block arguments (axes) an index value depends on."""
    if v in memo:
        return memo[v]
    if isinstance(v, BlockArgument):
        out = frozenset([v])
    else:
        out = frozenset()
        for operand in v.owner.operands:  # type: ignore[union-attr]
            out |= _deps(operand, memo)
    memo[v] = out
    return out


def _read_deps(
    c: ComputeOp, inlined: dict[SSAValue, ComputeOp], env: dict[Any, frozenset]
) -> list[frozenset]:
    """Per buffer read of ``c`` (through inlined producers): the axes of the reading stage
    its indices depend on. ``env`` maps ``c``'s block args to those axes."""
    memo: dict[SSAValue, frozenset] = {}
    out: list[frozenset] = []
    for op in c.walk():
        if not isinstance(op, ReadOp):
            continue
        deps = []
        for i in op.indices:
            d: frozenset = frozenset()
            for a in _deps(i, memo):
                d |= env.get(a, frozenset())
            deps.append(d)
        producer = inlined.get(op.tensor)
        if producer is not None:
            sub = dict(zip(producer.block.args, deps))
            out += _read_deps(producer, inlined, sub)
        else:
            out.append(frozenset().union(*deps) if deps else frozenset())
    return out


def _has_reuse(c: ComputeOp, inlined: dict[SSAValue, ComputeOp]) -> bool:
    red = c.reduce
    if red is None:
        return False
    spatial = [a for a, n in zip(c.block.args, c.shape) if n > 1]
    env = {a: frozenset([a]) for a in [*c.block.args, *red.block.args]}
    reads = _read_deps(c, inlined, env)
    return len(reads) >= 2 and any(a not in r for r in reads for a in spatial)


def analyze(kernel: KernelOp, cfg: DefaultScheduleConfig) -> list[StageInfo]:
    """Stage facts of an unscheduled kernel (analysed on a clone: nothing is scheduled)."""
    work = kernel.clone()
    outputs = set(work.return_op.values)
    computes = work.computes
    inline = {
        c for c in computes if c.reduce is None and c.result not in outputs and not _kept_by_rule(c)
    }
    s = Schedule(work)
    for c in inline:
        s.stage(c).compute_inline()
    inlined = {c.result: c for c in inline}
    kept = [c for c in computes if c not in inline]
    readers = direct_readers(work)
    infos = []
    for c in computes:
        t = c.result.type
        assert isinstance(t, TensorType)
        lanes = cfg.lanes(t.element_type)
        red = c.reduce
        contiguous = False
        epi = None
        if red is not None and c not in inline:
            contiguous = contiguous_axes(s.stage(c))[1] and red.axis_extents[-1] >= MIN_RVEC
            found = kept_readers(readers, c, lambda r: r not in inline)
            if len(found) == 1 and c.result not in outputs:
                (e,) = found
                if e.reduce is None and e.result in outputs and e.shape == c.shape:
                    epi = e.stage_name.data
        infos.append(
            StageInfo(
                name=c.stage_name.data,
                shape=c.shape,
                reduce_extents=red.axis_extents if red is not None else (),
                inline=c in inline,
                output=c.result in outputs,
                reuse=c not in inline and _has_reuse(c, inlined),
                reduce_contiguous=contiguous,
                epilogue=epi if kept else None,
                lanes=lanes,
            )
        )
    return infos


def _choices(info: StageInfo) -> list[str]:
    if info.inline:
        return ["inline"]
    if info.reuse:
        out = []
        if info.epilogue is not None:
            out.append("fuse")
        if info.output:
            out.append("cache")
        return [*out, "direct"]
    if info.reduce_extents and info.reduce_contiguous:
        return ["rvec", "plain"]
    return ["plain"]


def _steps(infos: list[StageInfo], pick: dict[str, str]) -> tuple[tuple[Any, ...], ...]:
    claimed = {i.epilogue for i in infos if pick.get(i.name) == "fuse"}
    steps: list[tuple[Any, ...]] = []
    for i in infos:
        if i.name in claimed:
            continue
        choice = pick[i.name]
        if choice == "inline":
            steps.append(("inline", i.name))
        elif choice in ("fuse", "cache", "direct"):
            consumer = i.epilogue if choice == "fuse" else ""
            steps.append(("tile", i.name, consumer or "", choice == "cache"))
        else:
            steps.append((choice, i.name))
    return tuple(steps)


def generate_sketches(infos: list[StageInfo]) -> list[Sketch]:
    """The kernel's sketches (1 to :data:`MAX_SKETCHES`), the preferred one first."""
    options = {i.name: _choices(i) for i in infos}
    base = {n: c[0] for n, c in options.items()}
    picks = [base]
    order = sorted(infos, key=lambda i: (not i.reuse, infos.index(i)))
    for i in order:
        for alt in options[i.name][1:]:
            picks.append({**base, i.name: alt})
    out: list[Sketch] = []
    seen = set()
    for p in picks:
        steps = _steps(infos, p)
        if steps in seen:
            continue
        seen.add(steps)
        sid = ",".join(f"{s[1]}={s[0] if s[0] != 'tile' else _tile_kind(s)}" for s in steps)
        out.append(Sketch(sid, steps))
        if len(out) == MAX_SKETCHES:
            break
    return out


def _tile_kind(step: tuple[Any, ...]) -> str:
    return "fuse" if step[2] else ("cache" if step[3] else "direct")
