"""Schedule ops: how to loop over a kernel's computes, kept apart from what they compute.

In spirit these are MLIR transform-dialect ops: they live in the kernel's ``te.schedule``
region and manipulate handles. ``te.stage "C"`` names a compute; ``te.axes`` /
``te.reduce_axes`` give handles to its loop axes; ``te.split``, ``te.tile`` and ``te.fuse``
make new axes from old ones; ``te.reorder`` fixes the loop order of a stage; ``te.vectorize``,
``te.parallel`` and ``te.unroll`` set loop kinds, ``te.bind`` makes an axis a GPU grid or
block axis; ``te.compute_inline``, ``te.compute_at`` and ``te.cache_read``/``te.cache_write``
(optionally into GPU ``shared`` or ``local`` memory) move whole stages. ``convert-te-to-tir`` interprets them in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import I64, DenseArrayBase, IntegerAttr, StringAttr, i64
from xdsl.ir import Block, ParametrizedAttribute, Region, SSAValue, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.te.compute import KernelOp
from xtvm.dialects.tir_gpu import MAX_EXTENT

CACHE_SCOPES = ("shared", "local")
"""GPU storage scopes of a cache stage: one copy per thread block, or per thread."""


@irdl_attr_definition
class StageType(ParametrizedAttribute, TypeAttribute):
    """Handle to a stage (a compute) inside a schedule."""

    name = "te.stage"


@irdl_attr_definition
class AxisType(ParametrizedAttribute, TypeAttribute):
    """Handle to one loop axis of a stage inside a schedule."""

    name = "te.axis"


@irdl_op_definition
class ScheduleOp(IRDLOperation):
    """``te.schedule { ... }``: the schedule of the enclosing kernel."""

    name = "te.schedule"
    body = region_def("single_block")
    traits = traits_def(NoTerminator(), HasParent(KernelOp))
    assembly_format = "$body attr-dict"

    def __init__(self, body: Region | None = None):
        super().__init__(regions=[body or Region(Block())])

    @property
    def block(self) -> Block:
        return self.body.block


class _InSchedule(IRDLOperation):
    traits = traits_def(HasParent(ScheduleOp))


@irdl_op_definition
class StageOp(_InSchedule):
    """``%s = te.stage "C"``."""

    name = "te.stage"
    stage_name = prop_def(StringAttr)
    stage = result_def(StageType)
    assembly_format = "$stage_name attr-dict"

    def __init__(self, name: str):
        super().__init__(properties={"stage_name": StringAttr(name)}, result_types=[StageType()])


@irdl_op_definition
class AxesOp(_InSchedule):
    """``%i, %j = te.axes %s``: the spatial axes of a stage, outermost first."""

    name = "te.axes"
    stage = operand_def(StageType)
    axes = var_result_def(AxisType)
    assembly_format = "$stage attr-dict `:` type($axes)"

    def __init__(self, stage: SSAValue, n: int):
        super().__init__(operands=[stage], result_types=[[AxisType()] * n])


@irdl_op_definition
class ReduceAxesOp(_InSchedule):
    """``%k = te.reduce_axes %s``: the reduction axes of a stage."""

    name = "te.reduce_axes"
    stage = operand_def(StageType)
    axes = var_result_def(AxisType)
    assembly_format = "$stage attr-dict `:` type($axes)"

    def __init__(self, stage: SSAValue, n: int):
        super().__init__(operands=[stage], result_types=[[AxisType()] * n])


@irdl_op_definition
class SplitOp(_InSchedule):
    """``%o, %i = te.split %a by 8``: ``a = o * 8 + i``; a ragged tail is guarded."""

    name = "te.split"
    axis = operand_def(AxisType)
    factor = prop_def(IntegerAttr[I64])
    outer = result_def(AxisType)
    inner = result_def(AxisType)
    assembly_format = "$axis `by` $factor attr-dict"

    def __init__(self, axis: SSAValue, factor: int):
        super().__init__(
            operands=[axis],
            properties={"factor": IntegerAttr(factor, i64)},
            result_types=[AxisType(), AxisType()],
        )

    def verify_(self) -> None:
        if self.factor.value.data <= 0:
            raise VerifyException("te.split: factor must be positive")


@irdl_op_definition
class TileOp(_InSchedule):
    """``%xo, %yo, %xi, %yi = te.tile %x, %y by array<i64: 8, 8>``: split both, order xo yo xi yi."""

    name = "te.tile"
    x = operand_def(AxisType)
    y = operand_def(AxisType)
    factors = prop_def(DenseArrayBase.constr(i64))
    x_outer = result_def(AxisType)
    y_outer = result_def(AxisType)
    x_inner = result_def(AxisType)
    y_inner = result_def(AxisType)
    assembly_format = "$x `,` $y `by` $factors attr-dict"

    def __init__(self, x: SSAValue, y: SSAValue, fx: int, fy: int):
        super().__init__(
            operands=[x, y],
            properties={"factors": DenseArrayBase.from_list(i64, [fx, fy])},
            result_types=[AxisType()] * 4,
        )

    def verify_(self) -> None:
        f = tuple(self.factors.get_values())
        if len(f) != 2 or any(v <= 0 for v in f):
            raise VerifyException("te.tile: needs two positive factors")


@irdl_op_definition
class FuseOp(_InSchedule):
    """``%f = te.fuse %a, %b``: one axis over adjacent axes a (outer) and b (inner)."""

    name = "te.fuse"
    axes = var_operand_def(AxisType)
    fused = result_def(AxisType)
    assembly_format = "$axes attr-dict"

    def __init__(self, axes: Sequence[SSAValue]):
        super().__init__(operands=[list(axes)], result_types=[AxisType()])

    def verify_(self) -> None:
        if len(self.axes) < 2:
            raise VerifyException("te.fuse: needs at least two axes")


@irdl_op_definition
class ReorderOp(_InSchedule):
    """``te.reorder %a, %b, %c``: these axes of one stage nest in this order."""

    name = "te.reorder"
    axes = var_operand_def(AxisType)
    assembly_format = "$axes attr-dict"

    def __init__(self, axes: Sequence[SSAValue]):
        super().__init__(operands=[list(axes)])


class _AxisAnnotation(_InSchedule):
    axis = operand_def(AxisType)
    assembly_format = "$axis attr-dict"

    def __init__(self, axis: SSAValue):
        super().__init__(operands=[axis])


@irdl_op_definition
class VectorizeOp(_AxisAnnotation):
    """The loop over this (innermost, constant-extent) axis becomes vector code."""

    name = "te.vectorize"


@irdl_op_definition
class ParallelOp(_AxisAnnotation):
    """The loop over this axis runs its iterations on the thread pool."""

    name = "te.parallel"


@irdl_op_definition
class UnrollOp(_AxisAnnotation):
    """The loop over this (constant-extent) axis is fully unrolled."""

    name = "te.unroll"


@irdl_op_definition
class BindOp(_InSchedule):
    """``te.bind %a "threadIdx.x"``: the loop over this axis runs on GPU threads (or blocks)
    along that dimension; it becomes ``tir.for kind(thread "threadIdx.x")``."""

    name = "te.bind"
    axis = operand_def(AxisType)
    thread = prop_def(StringAttr)
    assembly_format = "$axis $thread attr-dict"

    def __init__(self, axis: SSAValue, thread: str):
        super().__init__(operands=[axis], properties={"thread": StringAttr(thread)})

    def verify_(self) -> None:
        if self.thread.data not in MAX_EXTENT:
            raise VerifyException(
                f"te.bind: thread must be one of {', '.join(MAX_EXTENT)}, got {self.thread.data!r}"
            )


def _verify_scope(op: IRDLOperation, scope: StringAttr | None) -> None:
    if scope is not None and scope.data not in CACHE_SCOPES:
        raise VerifyException(
            f"{op.name}: scope must be one of {', '.join(CACHE_SCOPES)}, got {scope.data!r}"
        )


@irdl_op_definition
class ComputeInlineOp(_InSchedule):
    """``te.compute_inline %s``: no buffer for this stage; consumers recompute its body."""

    name = "te.compute_inline"
    stage = operand_def(StageType)
    assembly_format = "$stage attr-dict"

    def __init__(self, stage: SSAValue):
        super().__init__(operands=[stage])


@irdl_op_definition
class ComputeAtOp(_InSchedule):
    """``te.compute_at %producer, %axis``: compute the producer's needed region inside the
    consumer's loop over ``axis``."""

    name = "te.compute_at"
    stage = operand_def(StageType)
    axis = operand_def(AxisType)
    assembly_format = "$stage `,` $axis attr-dict"

    def __init__(self, stage: SSAValue, axis: SSAValue):
        super().__init__(operands=[stage, axis])


@irdl_op_definition
class CacheWriteOp(_InSchedule):
    """``%local = te.cache_write %s [in "local"]``: compute the stage into a scratch buffer
    (the new stage ``%local``; on a GPU in per-thread ``local`` or per-block ``shared``
    memory), then copy it out; ``%s`` becomes the copy stage."""

    name = "te.cache_write"
    stage = operand_def(StageType)
    scope = opt_prop_def(StringAttr)
    cache = result_def(StageType)
    assembly_format = "$stage (`in` $scope^)? attr-dict"

    def __init__(self, stage: SSAValue, scope: str | None = None):
        props = {"scope": StringAttr(scope)} if scope is not None else {}
        super().__init__(operands=[stage], properties=props, result_types=[StageType()])

    def verify_(self) -> None:
        _verify_scope(self, self.scope)


@irdl_op_definition
class CacheReadOp(_InSchedule):
    """``%c = te.cache_read "A"``: a new stage ``%c`` copying tensor ``A`` (a placeholder's
    tensor name or a compute's stage name); every stage that read ``A`` reads the copy, so a
    ``compute_at`` of ``%c`` stages just the tile a consumer needs (a packed, cache-resident
    operand tile). ``in "shared"`` puts the copy in GPU shared memory: attached at a
    block-level axis, the threads load the tile together between two barriers."""

    name = "te.cache_read"
    tensor_name = prop_def(StringAttr)
    scope = opt_prop_def(StringAttr)
    cache = result_def(StageType)
    assembly_format = "$tensor_name (`in` $scope^)? attr-dict"

    def __init__(self, name: str, scope: str | None = None):
        props = {"tensor_name": StringAttr(name)}
        if scope is not None:
            props["scope"] = StringAttr(scope)
        super().__init__(properties=props, result_types=[StageType()])

    def verify_(self) -> None:
        _verify_scope(self, self.scope)


SCHEDULE_OPS = [
    ScheduleOp,
    StageOp,
    AxesOp,
    ReduceAxesOp,
    SplitOp,
    TileOp,
    FuseOp,
    ReorderOp,
    VectorizeOp,
    ParallelOp,
    UnrollOp,
    BindOp,
    ComputeInlineOp,
    ComputeAtOp,
    CacheWriteOp,
    CacheReadOp,
]
