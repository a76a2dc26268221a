"""Schedule builder: emits ``te.schedule`` ops and tracks each stage's loop nest.

    s = kb.schedule()
    st = s.stage(D)                 # te.stage "D"
    i, j = st.axes                  # te.axes (and te.reduce_axes for a reduction)
    jo, ji = st.split(j, 16)        # te.split
    st.reorder(i, jo, *st.reduce_axes, ji)
    st.vectorize(ji); st.parallel(i)

Every :class:`Axis` knows its extent, so schedules can pick split factors; each
:class:`Stage` keeps its current loop order (``leaf_axes``) with TVM's rules: a split
replaces the axis by (outer, inner) in place, a fuse replaces adjacent axes by one, a
reorder permutes the given axes among the positions they occupy.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import SSAValue

from xtvm.dialects.te import (
    AxesOp,
    BindOp,
    CacheReadOp,
    CacheWriteOp,
    ComputeAtOp,
    ComputeInlineOp,
    ComputeOp,
    FuseOp,
    KernelOp,
    ParallelOp,
    PlaceholderOp,
    ReduceAxesOp,
    ReorderOp,
    ReturnOp,
    ScheduleOp,
    SplitOp,
    StageOp,
    TileOp,
    UnrollOp,
    VectorizeOp,
)


@dataclass(eq=False)
class Axis:
    """A loop axis handle: its SSA value in the schedule, its extent, spatial or reduce."""

    value: SSAValue
    extent: int
    kind: str  # "spatial" | "reduce"
    stage: Stage

    @property
    def is_reduce(self) -> bool:
        return self.kind == "reduce"


class Stage:
    """Schedule handle of one compute stage."""

    def __init__(
        self,
        schedule: Schedule,
        handle: SSAValue,
        name: str,
        shape: tuple[int, ...],
        reduce_extents: tuple[int, ...],
        compute: ComputeOp | None,
    ):
        self.schedule = schedule
        self.handle = handle
        self.name = name
        self.shape = shape
        self.reduce_extents = reduce_extents
        self.compute = compute
        self._axes: list[Axis] | None = None
        self._reduce_axes: list[Axis] = []
        self.leaf_axes: list[Axis] = []
        self.annotations: dict[str, list[Axis]] = {
            "vectorize": [],
            "parallel": [],
            "unroll": [],
            "bind": [],
        }
        self.inlined = False

    # -- handles ---------------------------------------------------------------------------

    def _materialize(self) -> None:
        if self._axes is not None:
            return
        op = self.schedule._emit(AxesOp(self.handle, len(self.shape)))
        self._axes = [Axis(v, e, "spatial", self) for v, e in zip(op.results, self.shape)]
        if self.reduce_extents:
            rop = self.schedule._emit(ReduceAxesOp(self.handle, len(self.reduce_extents)))
            self._reduce_axes = [
                Axis(v, e, "reduce", self) for v, e in zip(rop.results, self.reduce_extents)
            ]
        self.leaf_axes = [*self._axes, *self._reduce_axes]

    @property
    def axes(self) -> list[Axis]:
        """The original spatial axes, outermost first (``te.axes``)."""
        self._materialize()
        assert self._axes is not None
        return list(self._axes)

    @property
    def reduce_axes(self) -> list[Axis]:
        """The original reduction axes (``te.reduce_axes``); empty for a non-reduction."""
        self._materialize()
        return list(self._reduce_axes)

    @property
    def is_reduction(self) -> bool:
        return bool(self.reduce_extents)

    # -- loop transformations --------------------------------------------------------------

    def _check(self, *axes: Axis) -> None:
        self._materialize()
        for a in axes:
            if a.stage is not self:
                raise ValueError(f"axis of stage {a.stage.name!r} used on stage {self.name!r}")
            if a not in self.leaf_axes:
                raise ValueError(f"stage {self.name!r}: axis is no longer a loop (split/fused)")

    def split(self, axis: Axis, factor: int) -> tuple[Axis, Axis]:
        """``axis = outer * factor + inner``; a ragged tail is guarded by the lowering."""
        self._check(axis)
        op = self.schedule._emit(SplitOp(axis.value, int(factor)))
        outer = Axis(op.outer, -(-axis.extent // factor), axis.kind, self)
        inner = Axis(op.inner, int(factor), axis.kind, self)
        pos = self.leaf_axes.index(axis)
        self.leaf_axes[pos : pos + 1] = [outer, inner]
        return outer, inner

    def tile(self, x: Axis, y: Axis, fx: int, fy: int) -> tuple[Axis, Axis, Axis, Axis]:
        """Split ``x`` and ``y`` and order the loops ``xo, yo, xi, yi``."""
        self._check(x, y)
        op = self.schedule._emit(TileOp(x.value, y.value, int(fx), int(fy)))
        xo = Axis(op.x_outer, -(-x.extent // fx), x.kind, self)
        yo = Axis(op.y_outer, -(-y.extent // fy), y.kind, self)
        xi = Axis(op.x_inner, int(fx), x.kind, self)
        yi = Axis(op.y_inner, int(fy), y.kind, self)
        px, py = self.leaf_axes.index(x), self.leaf_axes.index(y)
        self.leaf_axes[px : px + 1] = [xo, xi]
        py = self.leaf_axes.index(y)
        self.leaf_axes[py : py + 1] = [yo, yi]
        self._permute([xo, yo, xi, yi])
        return xo, yo, xi, yi

    def fuse(self, *axes: Axis) -> Axis:
        """One axis over adjacent loops ``axes`` (outer first)."""
        self._check(*axes)
        pos = [self.leaf_axes.index(a) for a in axes]
        if pos != list(range(pos[0], pos[0] + len(pos))):
            raise ValueError(f"stage {self.name!r}: fuse needs adjacent axes, outer first")
        kinds = {a.kind for a in axes}
        if len(kinds) != 1:
            raise ValueError(f"stage {self.name!r}: cannot fuse spatial and reduce axes")
        op = self.schedule._emit(FuseOp([a.value for a in axes]))
        extent = 1
        for a in axes:
            extent *= a.extent
        fused = Axis(op.fused, extent, axes[0].kind, self)
        self.leaf_axes[pos[0] : pos[-1] + 1] = [fused]
        return fused

    def _permute(self, axes: list[Axis]) -> None:
        slots = sorted(self.leaf_axes.index(a) for a in axes)
        for slot, a in zip(slots, axes):
            self.leaf_axes[slot] = a

    def reorder(self, *axes: Axis) -> None:
        """These axes nest in this order, in the loop positions they already occupy."""
        self._check(*axes)
        if len(set(map(id, axes))) != len(axes):
            raise ValueError(f"stage {self.name!r}: reorder repeats an axis")
        self.schedule._emit(ReorderOp([a.value for a in axes]))
        self._permute(list(axes))

    def vectorize(self, axis: Axis) -> None:
        self._check(axis)
        self.schedule._emit(VectorizeOp(axis.value))
        self.annotations["vectorize"].append(axis)

    def parallel(self, axis: Axis) -> None:
        self._check(axis)
        self.schedule._emit(ParallelOp(axis.value))
        self.annotations["parallel"].append(axis)

    def unroll(self, axis: Axis) -> None:
        self._check(axis)
        self.schedule._emit(UnrollOp(axis.value))
        self.annotations["unroll"].append(axis)

    def bind(self, axis: Axis, thread: str) -> None:
        """Run the loop over ``axis`` on GPU blocks or threads (``blockIdx.x`` ... ``threadIdx.z``)."""
        self._check(axis)
        if axis.is_reduce and thread != "threadIdx.x":  # threadIdx.x: a block-wide reduction
            raise ValueError(f"stage {self.name!r}: cannot bind a reduction axis to {thread}")
        self.schedule._emit(BindOp(axis.value, thread))
        self.annotations["bind"].append(axis)

    # -- stage-level -----------------------------------------------------------------------

    def compute_inline(self) -> None:
        """No buffer for this stage; its consumers recompute its body."""
        if self.schedule.is_output(self):
            raise ValueError(f"stage {self.name!r} is a kernel output and cannot be inlined")
        if self.is_reduction:
            raise ValueError(f"stage {self.name!r} is a reduction and cannot be inlined")
        self.schedule._emit(ComputeInlineOp(self.handle))
        self.inlined = True

    def compute_at(self, consumer: Stage, axis: Axis) -> None:
        """Compute the needed region of this stage inside ``consumer``'s loop over ``axis``."""
        if axis.stage is not consumer:
            raise ValueError(f"axis does not belong to stage {consumer.name!r}")
        consumer._check(axis)
        self.schedule._emit(ComputeAtOp(self.handle, axis.value))

    def cache_write(self, scope: str | None = None) -> Stage:
        """Compute into a local stage (returned; on a GPU in ``scope`` "local" or "shared"
        memory); this stage becomes the copy-out."""
        op = self.schedule._emit(CacheWriteOp(self.handle, scope))
        cache = Stage(
            self.schedule,
            op.cache,
            f"{self.name}.local",
            self.shape,
            self.reduce_extents,
            self.compute,
        )
        self.reduce_extents = ()
        if self._axes is not None:
            self._reduce_axes = []
            self.leaf_axes = [a for a in self.leaf_axes if not a.is_reduce]
        return cache


class Schedule:
    """The ``te.schedule`` region of a kernel (created before ``te.return`` on first use)."""

    def __init__(self, kernel: KernelOp):
        self.kernel = kernel
        self._op: ScheduleOp | None = kernel.schedule
        self._stages: dict[str, Stage] = {}

    def _emit(self, op):
        if self._op is None:
            self._op = ScheduleOp()
            last = self.kernel.block.last_op
            if isinstance(last, ReturnOp):
                self.kernel.block.insert_op_before(self._op, last)
            else:
                self.kernel.block.add_op(self._op)
        self._op.block.add_op(op)
        return op

    def _compute(self, ref) -> ComputeOp:
        if isinstance(ref, ComputeOp):
            return ref
        if isinstance(ref, str):
            c = self.kernel.compute_named(ref)
            if c is None:
                raise KeyError(f"kernel {self.kernel.sym_name.data}: no stage named {ref!r}")
            return c
        owner = ref.value.owner  # a Tensor
        if not isinstance(owner, ComputeOp):
            raise TypeError(f"{ref!r} is not a compute stage")
        return owner

    def stage(self, ref) -> Stage:
        """The handle of a stage, given its Tensor, name or ComputeOp (one te.stage each)."""
        c = self._compute(ref)
        name = c.stage_name.data
        if name not in self._stages:
            op = self._emit(StageOp(name))
            red = c.reduce
            extents = red.axis_extents if red is not None else ()
            self._stages[name] = Stage(self, op.stage, name, c.shape, extents, c)
        return self._stages[name]

    def is_inlined(self, compute: ComputeOp) -> bool:
        """Whether ``compute``'s stage has been ``compute_inline``d (no stage handle: no)."""
        st = self._stages.get(compute.stage_name.data)
        return st is not None and st.inlined

    def cache_read(self, ref, scope: str | None = None) -> Stage:
        """A copy of tensor ``ref`` (a placeholder or compute Tensor, or its name) that all its
        readers read instead; ``compute_at`` it to stage a consumer's tile of the tensor
        (on a GPU, ``scope="shared"`` loads the tile cooperatively into shared memory)."""
        name = ref if isinstance(ref, str) else ref.name
        value = None
        for op in self.kernel.block.ops:
            if isinstance(op, PlaceholderOp) and op.tensor_name.data == name:
                value = op.result
            elif isinstance(op, ComputeOp) and op.stage_name.data == name:
                value = op.result
        if value is None:
            raise KeyError(f"kernel {self.kernel.sym_name.data}: no tensor named {name!r}")
        op = self._emit(CacheReadOp(name, scope))
        shape = tuple(value.type.get_shape())
        st = Stage(self, op.cache, f"{name}.cache", shape, (), None)
        self._stages[st.name] = st
        return st

    def is_output(self, stage: Stage) -> bool:
        last = self.kernel.block.last_op
        if not isinstance(last, ReturnOp) or stage.compute is None:
            return False
        return any(v is stage.compute.result for v in last.values)

    @property
    def op(self) -> ScheduleOp | None:
        return self._op
