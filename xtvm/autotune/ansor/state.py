"""The template-free search state and its replay on a kernel.

A state is plain JSON made of lists, strings, ints and bools only (records hold configs as
JSON scalars and nested lists, and loading one must never run code)::

    ["ansor", 1, SKETCH_ID, [STEP, ...]]

with one step per stage, in schedule order:

* ``["inline", stage]``
* ``["tile", stage, consumer, cache_write, SP, RD, par, vec, unroll]``: multi-level tiling.
  ``SP`` holds per spatial axis the inner sizes ``[l1, l2, l3]`` of its four levels (the
  outermost is what is left), ``RD`` per reduction axis ``[r1]`` (two levels). With a
  ``consumer`` (an elementwise output) or ``cache_write``, levels 0 and 1 are loops of the
  consumer (or copy-out) stage and the reduction is ``compute_at`` the last level-1 loop;
  otherwise all levels are loops of the stage itself. ``par``: 0, or the number of outer
  levels (1 or 2) fused into one parallel loop; ``vec``: ``"s"`` (innermost spatial loop
  vectorized), ``"r"`` (innermost reduction loop vectorized, moved inside the spatial
  tile: per-lane partial sums) or ``"n"``; ``unroll``: 0, 1 (the innermost spatial tile
  loops) or 2 (also the innermost reduction loops).
* ``["rvec", stage, split, par]``: the innermost reduction axis vectorized (whole, or its
  inner part after a split by ``split``); ``par`` leading spatial axes fused and parallel.
* ``["plain", stage, vf, par, unroll]``: the last spatial axis split by ``vf`` and the
  inner part vectorized (0: not vectorized), reductions just outside it, ``par`` leading
  spatial loops fused and parallel, ``unroll`` the innermost reduction loop.

``["ansor", 1, "default", []]`` is the default schedule (the untuned baseline).
"""

from __future__ import annotations

import hashlib
import json
from math import prod
from typing import Any

from xtvm.autotune.space import InvalidConfigError
from xtvm.errors import CompileError
from xtvm.topi.schedule import Axis, Schedule, Stage

MAGIC, VERSION = "ansor", 1
DEFAULT_STATE: list[Any] = [MAGIC, VERSION, "default", []]
MAX_UNROLL = 256  # iterations an unrolled tile may expand to
VEC_MODES = ("s", "r", "n")


def canonical(state: Any) -> str:
    """The state's canonical JSON text (what equality and hashing use)."""
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def state_hash(state: Any) -> str:
    return hashlib.sha256(canonical(state).encode()).hexdigest()[:20]


def _int(v: Any, lo: int, hi: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise InvalidConfigError(f"ansor state: {what} must be an int in [{lo}, {hi}], got {v!r}")
    return v


def _str(v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise InvalidConfigError(f"ansor state: {what} must be a string, got {v!r}")
    return v


def _ints(v: Any, n: int, what: str) -> list[int]:
    if not isinstance(v, list) or len(v) != n:
        raise InvalidConfigError(f"ansor state: {what} must be a list of {n} ints")
    return [_int(x, 1, 1 << 20, what) for x in v]


_ARITY = {"inline": 2, "tile": 9, "rvec": 4, "plain": 5}


def parse_state(state: Any) -> tuple[str, list[list[Any]]]:
    """(sketch id, steps) of a well-formed state; ``InvalidConfigError`` otherwise."""
    if not (isinstance(state, list) and len(state) == 4 and state[0] == MAGIC):
        raise InvalidConfigError("not an ansor state")
    if state[1] != VERSION:
        raise InvalidConfigError(f"ansor state version {state[1]!r}, expected {VERSION}")
    sketch = _str(state[2], "sketch id")
    steps = state[3]
    if not isinstance(steps, list):
        raise InvalidConfigError("ansor state: steps must be a list")
    for step in steps:
        if not (isinstance(step, list) and step and step[0] in _ARITY):
            raise InvalidConfigError(f"ansor state: unknown step {str(step)[:60]}")
        if len(step) != _ARITY[step[0]]:
            raise InvalidConfigError(f"ansor state: step {step[0]!r} has {len(step)} fields")
        _str(step[1], "stage name")
    return sketch, steps


def apply_state(kernel: Any, state: Any, cfg: Any) -> None:
    """Write the schedule ``state`` describes into the unscheduled ``kernel``; raises
    ``InvalidConfigError`` when it does not fit (another kernel, a stale record, an
    illegal combination), after which the caller drops the partial schedule."""
    sketch, steps = parse_state(state)
    if sketch == "default":
        if steps:
            raise InvalidConfigError("ansor state: the default state has no steps")
        from xtvm.topi.x86 import apply_default_schedule

        apply_default_schedule(kernel, cfg)
        return
    names = [c.stage_name.data for c in kernel.computes]
    covered: list[str] = []
    for step in steps:
        covered.append(step[1])
        if step[0] == "tile" and step[2]:
            covered.append(_str(step[2], "consumer"))
    if sorted(covered) != sorted(names):
        raise InvalidConfigError("ansor state: its steps do not cover this kernel's stages")
    s = Schedule(kernel)
    try:
        for step in steps:
            _APPLY[step[0]](s, step)
        from xtvm.lowering.te_to_tir.schedule import interpret_schedule

        interpret_schedule(kernel)  # the lowering's own legality checks, before any build
    except InvalidConfigError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, CompileError) as exc:
        raise InvalidConfigError(f"ansor state does not fit: {exc}") from None


def _inline(s: Schedule, step: list[Any]) -> None:
    s.stage(step[1]).compute_inline()


def _fuse_parallel(st: Stage, loops: list[Axis]) -> Axis | None:
    if not loops:
        return None
    ax = st.fuse(*loops) if len(loops) > 1 else loops[0]
    st.parallel(ax)
    return ax


def _unroll(st: Stage, loops: list[Axis], budget: int = MAX_UNROLL) -> None:
    """Unroll ``loops`` (innermost first wins) while the expanded size stays in budget."""
    size = 1
    for ax in reversed(loops):
        if ax.extent > 1 and size * ax.extent <= budget:
            size *= ax.extent
            st.unroll(ax)


def _tile(s: Schedule, step: list[Any]) -> None:
    _, name, consumer, cache_write, sp, rd, par, vec, unroll = step
    stage = s.stage(name)
    if not isinstance(cache_write, bool) or not stage.is_reduction:
        raise InvalidConfigError("ansor state: tile needs a reduction stage")
    sp = [_ints(f, 3, "spatial tile") for f in _list(sp, len(stage.shape), "spatial tiles")]
    rd = [_ints(f, 1, "reduce tile") for f in _list(rd, len(stage.reduce_extents), "reductions")]
    par = _int(par, 0, 2, "par")
    unroll = _int(unroll, 0, 2, "unroll")
    if vec not in VEC_MODES:
        raise InvalidConfigError(f"ansor state: vec must be one of {VEC_MODES}")
    if consumer and cache_write:
        raise InvalidConfigError("ansor state: tile with both a consumer and cache_write")
    outer_stage: Stage | None = None
    if cache_write:
        outer_stage, stage = stage, stage.cache_write()
    elif consumer:
        outer_stage = s.stage(consumer)
        if outer_stage.shape != stage.shape or outer_stage.is_reduction:
            raise InvalidConfigError("ansor state: the consumer is not an elementwise tile")
    if outer_stage is not None:
        lv0, lv1, inner = [], [], []
        for ax, (a, b, c) in zip(outer_stage.axes, sp):
            o, i = outer_stage.split(ax, b * c)
            o0, o1 = outer_stage.split(o, a)
            lv0.append(o0), lv1.append(o1), inner.append(i)
        outer_stage.reorder(*lv0, *lv1, *inner)
        attach = lv1[-1]
        fused = _fuse_parallel(outer_stage, lv0 if par == 1 else [*lv0, *lv1] if par else [])
        if par == 2 and fused is not None:
            attach = fused
        stage.compute_at(outer_stage, attach)
        if vec != "n" and inner and inner[-1].extent > 1:
            outer_stage.vectorize(inner[-1])
        s2, s3 = [], []
        for ax, (_, _, c) in zip(stage.axes, sp):
            o, i = stage.split(ax, c)
            s2.append(o), s3.append(i)
        head: list[Axis] = []
    else:
        lv0, lv1, s2, s3 = [], [], [], []
        for ax, (a, b, c) in zip(stage.axes, sp):
            x, i3 = stage.split(ax, c)
            y, i2 = stage.split(x, b)
            i0, i1 = stage.split(y, a)
            lv0.append(i0), lv1.append(i1), s2.append(i2), s3.append(i3)
        head = [*lv0, *lv1]
    r0, r1 = [], []
    for ax, (k,) in zip(stage.reduce_axes, rd):
        o, i = stage.split(ax, k)
        r0.append(o), r1.append(i)
    inner_order = [*s3, *r1] if vec == "r" else [*r1, *s3]
    stage.reorder(*head, *r0, *s2, *inner_order)
    if outer_stage is None and par:
        _fuse_parallel(stage, lv0 if par == 1 else head)
    vec_ax = None
    if vec == "s" and s3 and s3[-1].extent > 1:
        vec_ax = s3[-1]
    elif vec == "r" and r1 and r1[-1].extent > 1:
        vec_ax = r1[-1]
    if vec_ax is not None:
        stage.vectorize(vec_ax)
    loops = [
        a for a in (s3 if unroll >= 1 else []) + (r1 if unroll >= 2 else []) if a is not vec_ax
    ]
    _unroll(stage, loops)


def _list(v: Any, n: int, what: str) -> list[Any]:
    if not isinstance(v, list) or len(v) != n:
        raise InvalidConfigError(f"ansor state: {what} must list {n} entries")
    return v


def _rvec(s: Schedule, step: list[Any]) -> None:
    _, name, split, par = step
    st = s.stage(name)
    red = st.reduce_axes
    if not red:
        raise InvalidConfigError("ansor state: rvec needs a reduction stage")
    split = _int(split, 0, 1 << 20, "split")
    par = _int(par, 0, len(st.shape), "par")
    spatial = st.axes
    r = red[-1]
    if split and split < r.extent:
        _, r = st.split(r, split)
    st.vectorize(r)
    _fuse_parallel(st, spatial[:par])


def _plain(s: Schedule, step: list[Any]) -> None:
    _, name, vf, par, unroll = step
    st = s.stage(name)
    vf = _int(vf, 0, 1 << 20, "vf")
    par = _int(par, 0, max(0, len(st.shape) - 1) if vf else len(st.shape), "par")
    if not isinstance(unroll, bool):
        raise InvalidConfigError("ansor state: plain unroll must be a bool")
    axes = st.axes
    red = st.reduce_axes
    outer = list(axes)
    inner = None
    if vf and axes:
        last = axes[-1]
        if vf >= last.extent:
            inner, outer = last, axes[:-1]
        else:
            o, inner = st.split(last, vf)
            outer = [*axes[:-1], o]
        if red:
            st.reorder(*outer, *red, inner)
        st.vectorize(inner)
    if unroll and red and red[-1].extent <= 16:
        st.unroll(red[-1])
    _fuse_parallel(st, outer[:par])


_APPLY = {"inline": _inline, "tile": _tile, "rvec": _rvec, "plain": _plain}


def tile_work(shape: tuple[int, ...], reduce_extents: tuple[int, ...]) -> int:
    return prod(shape) * prod(reduce_extents)
