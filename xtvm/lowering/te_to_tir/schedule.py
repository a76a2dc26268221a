"""Interpret a kernel's ``te.schedule`` into per-stage loop structures.

The schedule ops are replayed in order over :class:`Stage` objects, as TVM's ``Schedule``
does: splits and fuses add relations between iteration variables, reorder permutes the
leaf list, annotations set loop kinds, and compute_inline / compute_at / cache_write move
whole stages. Extents are not fixed here: a stage attached with compute_at loops over the
region its consumer needs, so :func:`leaf_extents` recomputes them from the root extents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from xdsl.ir import Attribute, SSAValue

from xtvm.dialects import te
from xtvm.errors import CompileError


@dataclass(eq=False)
class IterVar:
    """One loop axis of a stage: a root axis or one made by split/fuse."""

    name: str
    stage: Stage
    reduce: bool
    kind: str = "serial"
    thread: str | None = None
    """The GPU axis (``blockIdx.x`` ...) of a ``thread`` loop (``te.bind``)."""
    relation: Split | Fuse | None = None
    """The split/fuse that consumed this variable; ``None`` for a leaf."""

    def __repr__(self) -> str:
        return f"IterVar({self.stage.name}.{self.name})"


@dataclass(eq=False)
class Split:
    parent: IterVar
    outer: IterVar
    inner: IterVar
    factor: int


@dataclass(eq=False)
class Fuse:
    parents: list[IterVar]
    fused: IterVar


@dataclass(eq=False)
class Stage:
    """A compute (or the copy stage cache_write leaves behind) and its loop structure."""

    name: str
    compute: te.ComputeOp | None
    shape: tuple[int, ...]
    element_type: Attribute
    axes: list[IterVar] = field(default_factory=list)
    reduce_axes: list[IterVar] = field(default_factory=list)
    leaves: list[IterVar] = field(default_factory=list)
    relations: list[Split | Fuse] = field(default_factory=list)
    attach: str = "root"
    """``root``, ``inline`` or ``at`` (compute_at ``attach_axis`` of ``attach_axis.stage``)."""
    attach_axis: IterVar | None = None
    source: Stage | SSAValue | None = None
    """For a copy stage: what it copies from (cache_write: the local stage; cache_read: the
    cached tensor's stage, or the placeholder value)."""
    is_output: bool = False
    scope: str | None = None
    """GPU storage of a cache stage's buffer: ``shared`` (per block) or ``local``."""

    @property
    def reduce(self) -> te.ReduceOp | None:
        return self.compute.reduce if self.compute is not None else None

    def root_vars(self) -> list[IterVar]:
        return [*self.axes, *self.reduce_axes]


def leaf_extents(stage: Stage, root_extents: tuple[int, ...]) -> dict[IterVar, int]:
    """Extents of every iteration variable of ``stage`` when its axes span ``root_extents``."""
    ext: dict[IterVar, int] = dict(zip(stage.axes, root_extents))
    red = stage.reduce
    if red is not None:
        ext.update(zip(stage.reduce_axes, red.axis_extents))
    for rel in stage.relations:
        if isinstance(rel, Split):
            e = ext[rel.parent]
            f = min(rel.factor, e)
            ext[rel.outer] = -(-e // f)
            ext[rel.inner] = f
        else:
            ext[rel.fused] = prod(ext[p] for p in rel.parents)
    return ext


def split_factor(rel: Split, ext: dict[IterVar, int]) -> int:
    """The factor a split really uses: a factor above the extent acts as the extent."""
    return min(rel.factor, ext[rel.parent])


@dataclass
class Schedule:
    """The interpreted schedule of one kernel."""

    kernel_name: str
    stages: list[Stage]
    """Every stage in definition (topological) order."""
    of_tensor: dict[SSAValue, Stage]
    """Compute result -> the stage whose buffer holds it (the copy stage after cache_write)."""

    def attached_at(self, axis: IterVar) -> list[Stage]:
        return [s for s in self.stages if s.attach == "at" and s.attach_axis is axis]


class _Interpreter:
    def __init__(self, kernel: te.KernelOp):
        self.kernel_name = kernel.sym_name.data
        self.stages: list[Stage] = []
        self.of_tensor: dict[SSAValue, Stage] = {}
        outputs = set(kernel.return_op.values)
        for c in kernel.computes:
            st = Stage(c.stage_name.data, c, c.shape, _elem(c), is_output=c.result in outputs)
            self._init_axes(st, c.block.args, c.reduce.block.args if c.reduce else ())
            self.stages.append(st)
            self.of_tensor[c.result] = st
        self.stage_handles: dict[SSAValue, Stage] = {}
        self.axis_handles: dict[SSAValue, IterVar] = {}
        self.placeholders = kernel.placeholders
        self.computes = kernel.computes

    def fail(self, stage: Stage | None, msg: str) -> CompileError:
        where = f" stage '{stage.name}':" if stage is not None else ""
        return CompileError(f"te.schedule of @{self.kernel_name}:{where} {msg}")

    @staticmethod
    def _init_axes(st: Stage, args, rargs) -> None:
        st.axes = [IterVar(a.name_hint or f"i{n}", st, False) for n, a in enumerate(args)]
        st.reduce_axes = [IterVar(a.name_hint or f"k{n}", st, True) for n, a in enumerate(rargs)]
        st.leaves = st.root_vars()

    def stage(self, v: SSAValue) -> Stage:
        return self.stage_handles[v]

    def leaf(self, v: SSAValue, what: str) -> IterVar:
        ax = self.axis_handles[v]
        if ax.relation is not None:
            raise self.fail(ax.stage, f"cannot {what} axis '{ax.name}': already split or fused")
        if ax not in ax.stage.leaves:
            raise self.fail(ax.stage, f"cannot {what} axis '{ax.name}': not a loop of this stage")
        return ax

    def new_var(self, st: Stage, name: str, reduce: bool, handle: SSAValue) -> IterVar:
        var = IterVar(handle.name_hint or name, st, reduce)
        self.axis_handles[handle] = var
        return var

    def run(self, schedule: te.ScheduleOp) -> Schedule:
        for op in schedule.block.ops:
            self.apply(op)
        self.finalize()
        return Schedule(self.kernel_name, self.stages, self.of_tensor)

    def apply(self, op) -> None:
        if isinstance(op, te.StageOp):
            name = op.stage_name.data
            found = [s for s in self.stages if s.name == name]
            if not found:
                raise self.fail(None, f"no stage named '{name}'")
            self.stage_handles[op.stage] = found[0]
        elif isinstance(op, te.AxesOp | te.ReduceAxesOp):
            st = self.stage(op.stage)
            axes = st.axes if isinstance(op, te.AxesOp) else st.reduce_axes
            if len(op.axes) != len(axes):
                what = "spatial" if isinstance(op, te.AxesOp) else "reduction"
                raise self.fail(st, f"has {len(axes)} {what} axes, {len(op.axes)} requested")
            for h, a in zip(op.axes, axes):
                self.axis_handles[h] = a
                if h.name_hint:
                    a.name = h.name_hint
        elif isinstance(op, te.SplitOp):
            self.split(op.axis, op.factor.value.data, op.outer, op.inner)
        elif isinstance(op, te.TileOp):
            fx, fy = (int(v) for v in op.factors.get_values())
            xo, xi = self.split(op.x, fx, op.x_outer, op.x_inner)
            yo, yi = self.split(op.y, fy, op.y_outer, op.y_inner)
            self.reorder([xo, yo, xi, yi])
        elif isinstance(op, te.FuseOp):
            self.fuse(op)
        elif isinstance(op, te.ReorderOp):
            self.reorder([self.leaf(a, "reorder") for a in op.axes])
        elif isinstance(op, te.VectorizeOp | te.ParallelOp | te.UnrollOp):
            self.annotate(op)
        elif isinstance(op, te.BindOp):
            ax = self.leaf(op.axis, "bind")
            if ax.reduce and op.thread.data != "threadIdx.x":
                raise self.fail(ax.stage, f"reduction axis '{ax.name}' bound to {op.thread.data}")
            ax.kind, ax.thread = "thread", op.thread.data
        elif isinstance(op, te.ComputeInlineOp):
            self.compute_inline(self.stage(op.stage))
        elif isinstance(op, te.ComputeAtOp):
            st = self.stage(op.stage)
            ax = self.axis_handles[op.axis]
            if ax.stage is st:
                raise self.fail(st, "cannot compute_at one of its own axes")
            if st.is_output:
                raise self.fail(st, "a kernel output cannot be computed at another stage")
            st.attach, st.attach_axis = "at", ax
        elif isinstance(op, te.CacheWriteOp):
            cache = self.cache_write(self.stage(op.stage))
            cache.scope = op.scope.data if op.scope is not None else None
            self.stage_handles[op.cache] = cache
        elif isinstance(op, te.CacheReadOp):
            cache = self.cache_read(op.tensor_name.data)
            cache.scope = op.scope.data if op.scope is not None else None
            self.stage_handles[op.cache] = cache
        else:
            raise self.fail(None, f"unsupported schedule op {op.name}")

    def split(self, h: SSAValue, factor: int, ho: SSAValue, hi: SSAValue):
        ax = self.leaf(h, "split")
        st = ax.stage
        outer = self.new_var(st, ax.name + "_o", ax.reduce, ho)
        inner = self.new_var(st, ax.name + "_i", ax.reduce, hi)
        rel = Split(ax, outer, inner, factor)
        ax.relation = rel
        st.relations.append(rel)
        pos = st.leaves.index(ax)
        st.leaves[pos : pos + 1] = [outer, inner]
        return outer, inner

    def fuse(self, op: te.FuseOp) -> None:
        axes = [self.leaf(a, "fuse") for a in op.axes]
        st = axes[0].stage
        if any(a.stage is not st for a in axes):
            raise self.fail(st, "te.fuse: all axes must belong to one stage")
        if len({a.reduce for a in axes}) != 1:
            raise self.fail(st, "te.fuse: cannot fuse spatial with reduction axes")
        pos = [st.leaves.index(a) for a in axes]
        if pos != list(range(pos[0], pos[0] + len(pos))):
            names = ", ".join(a.name for a in axes)
            raise self.fail(st, f"te.fuse: axes {names} are not adjacent, outer to inner")
        fused = self.new_var(st, "_".join(a.name for a in axes) + "_f", axes[0].reduce, op.fused)
        rel = Fuse(axes, fused)
        for a in axes:
            a.relation = rel
        st.relations.append(rel)
        st.leaves[pos[0] : pos[-1] + 1] = [fused]

    def reorder(self, axes: list[IterVar]) -> None:
        st = axes[0].stage
        for a in axes:
            if a.stage is not st:
                raise self.fail(
                    st, f"te.reorder: axis '{a.name}' belongs to stage '{a.stage.name}'"
                )
        if len(set(axes)) != len(axes):
            raise self.fail(st, "te.reorder: an axis is listed twice")
        slots = sorted(st.leaves.index(a) for a in axes)
        for slot, a in zip(slots, axes):
            st.leaves[slot] = a

    def annotate(self, op) -> None:
        kind = {te.VectorizeOp: "vectorized", te.ParallelOp: "parallel", te.UnrollOp: "unrolled"}
        ax = self.leaf(op.axis, op.name.removeprefix("te."))
        k = kind[type(op)]
        if ax.reduce and k == "parallel":  # a vectorized one becomes per-lane partial sums
            raise self.fail(ax.stage, f"cannot {op.name[3:]} reduction axis '{ax.name}'")
        ax.kind = k

    def compute_inline(self, st: Stage) -> None:
        if st.reduce is not None:
            raise self.fail(st, "cannot compute_inline a reduction")
        if st.is_output:
            raise self.fail(st, "cannot compute_inline a kernel output")
        if st.compute is None or any(s.source is st for s in self.stages):
            raise self.fail(st, "cannot compute_inline a stage made or copied by cache_write/read")
        st.attach = "inline"

    def cache_write(self, st: Stage) -> Stage:
        if (
            st.relations
            or st.leaves != st.root_vars()
            or any(v.kind != "serial" for v in st.root_vars())
        ):
            raise self.fail(st, "cache_write must come before other schedule ops on the stage")
        if st.attach != "root" or st.source is not None or st.compute is None:
            raise self.fail(st, "cache_write needs a root stage computed once")
        c = st.compute
        local = Stage(st.name + ".local", c, st.shape, st.element_type)
        self._init_axes(local, c.block.args, c.reduce.block.args if c.reduce else ())
        # the original stage keeps its spatial axes and becomes the copy out of `local`
        st.compute, st.source = None, local
        for r in st.reduce_axes:
            r.stage = local  # stale handles now fail the same-stage checks
        st.reduce_axes = []
        st.leaves = list(st.axes)
        self.stages.insert(self.stages.index(st), local)
        return local

    def cache_read(self, name: str) -> Stage:
        """A copy stage of tensor ``name`` that every reader of the tensor reads instead."""
        value: SSAValue | None = None
        for p in self.placeholders:
            if p.tensor_name.data == name:
                value = p.result
        for c in self.computes:
            if c.stage_name.data == name:
                value = c.result
        if value is None:
            raise self.fail(None, f"te.cache_read: no tensor named '{name}'")
        src = self.of_tensor.get(value)
        if src is not None and (src.is_output or src.attach == "inline"):
            raise self.fail(src, "te.cache_read of a kernel output or an inlined stage")
        if src is not None and src.name.endswith(".cache"):
            raise self.fail(src, "te.cache_read of a tensor that is already cached")
        t = value.type
        shape = tuple(t.get_shape())  # type: ignore[attr-defined]
        cache = Stage(name + ".cache", None, shape, t.element_type, source=src or value)  # type: ignore[attr-defined]
        cache.axes = [IterVar(f"i{d}", cache, False) for d in range(len(shape))]
        cache.leaves = list(cache.axes)
        self.stages.insert(self.stages.index(src) + 1 if src is not None else 0, cache)
        self.of_tensor[value] = cache
        return cache

    def finalize(self) -> None:
        readers = stage_readers(self.stages, self.of_tensor)
        for st in self.stages:
            for v in st.leaves:
                if v.kind == "vectorized" and v is not st.leaves[-1]:
                    raise self.fail(st, f"cannot vectorize axis '{v.name}': not the innermost loop")
            for rel in st.relations:
                vars_ = rel.parents if isinstance(rel, Fuse) else [rel.parent]
                for v in vars_:
                    if v.kind != "serial":
                        raise self.fail(st, f"axis '{v.name}' was annotated, then split or fused")
            if st.scope == "shared" and st.attach != "at":
                raise self.fail(st, "a shared cache must be computed at an axis inside the grid")
            if st.attach != "at":
                continue
            ax = st.attach_axis
            assert ax is not None
            target = ax.stage
            if ax not in target.leaves:
                raise self.fail(st, f"compute_at axis '{ax.name}' is not a loop of '{target.name}'")
            if target.attach == "inline":
                raise self.fail(st, f"cannot compute_at inlined stage '{target.name}'")
            users = readers.get(st, set())
            if target not in users:
                raise self.fail(st, f"compute_at '{target.name}', which does not read it")
            if len(users) > 1:
                others = sorted(u.name for u in users if u is not target)
                raise self.fail(st, f"compute_at '{target.name}' but also read by {others}")
            if _encloses(st, target):
                raise self.fail(st, "compute_at makes a cycle")


def _encloses(st: Stage, other: Stage) -> bool:
    """Whether ``other`` is (transitively) attached inside ``st``."""
    seen = set()
    cur: Stage | None = other
    while cur is not None and cur.attach == "at" and cur not in seen:
        seen.add(cur)
        assert cur.attach_axis is not None
        cur = cur.attach_axis.stage
        if cur is st:
            return True
    return False


def stage_readers(stages: list[Stage], of_tensor: dict[SSAValue, Stage]) -> dict[Stage, set[Stage]]:
    """Producer -> the non-inlined stages that read it (directly or through inlined stages)."""
    direct: dict[Stage, set[Stage]] = {}
    for st in stages:
        if isinstance(st.source, Stage):
            direct.setdefault(st.source, set()).add(st)
        if st.compute is None:
            continue
        for op in st.compute.walk():
            if isinstance(op, te.ReadOp) and op.tensor in of_tensor:
                direct.setdefault(of_tensor[op.tensor], set()).add(st)

    def resolve(reader: Stage, seen: frozenset) -> set[Stage]:
        if reader.attach != "inline" or reader in seen:
            return {reader}
        out: set[Stage] = set()
        for r in direct.get(reader, ()):
            out |= resolve(r, seen | {reader})
        return out

    result: dict[Stage, set[Stage]] = {}
    for prod_, rs in direct.items():
        result[prod_] = set().union(*(resolve(r, frozenset()) for r in rs)) if rs else set()
    return result


def _elem(c: te.ComputeOp) -> Attribute:
    return c.result.type.element_type  # type: ignore[attr-defined]


def interpret_schedule(kernel: te.KernelOp) -> Schedule:
    """Replay ``kernel``'s schedule; no schedule means root stages, natural order, serial."""
    interp = _Interpreter(kernel)
    sched = kernel.schedule
    if sched is None:
        return Schedule(interp.kernel_name, interp.stages, interp.of_tensor)
    return interp.run(sched)
