"""``relay-alter-layout``: blocked channel layouts for convolutions, packed weights for dense.

Expects: relay in ``func.func`` bodies before fusion (NCHW activations, OIHW weights; ops
inside ``relay.fused`` regions are left alone). Run ``relay-fold-constant`` after it: the
weight re-layouts it writes are relay ops on constants, folded once at compile time.

Guarantees (top level of function bodies):

- every ``relay.conv2d`` with a constant float weight and ``groups == 1`` is a
  ``relay.conv2d_nchwc`` on ``NCHW{cb}c`` data with an ``OIHW{cb}i{ob}o`` kernel (a
  ``relay.layout_transform`` of the weight), producing ``NCHW{ob}c``; a depthwise one
  (``groups == C == O``) uses an ``OIHW1i{cb}o`` kernel and keeps the block. Blocks:
  ``lanes = vector_bits / 32``; a tensor of ``C`` channels gets ``cb = lanes`` if ``lanes``
  divides ``C``, else the largest divisor of ``C`` not above ``lanes``; a convolution whose
  data is already blocked keeps that block;
- another grouped one (``1 < G``) is a ``relay.conv2d_nchwc`` with ``groups = G`` whose
  blocks are chosen the same way from the channels of one group, ``C/G`` and ``O/G``
  (``cb``: the data's block if it divides ``C/G``), so that every group is whole blocks; its
  ``[O, C/G, KH, KW]`` weight becomes ``OIHW{cb}i{ob}o``. It stays NCHW when ``ob`` would be
  below :data:`MIN_GROUP_BLOCK` (one output channel per group, or a prime number of them
  above ``lanes``);
- the blocked layout flows through the ops that can take it (see
  :mod:`xtvm.passes.relay.alter_layout_rules`: elementwise ops and casts, broadcasts whose
  other operands are re-laid-out, channel concatenation, pooling, resize and pad over H/W),
  so consecutive convolutions need no transform between them; a consumer that cannot take
  it reads one ``layout_transform`` back to ``NCHW`` (shared by all such consumers of the
  value), inserted just before the first of them; function results keep their types;
- every ``relay.dense`` with a constant ``[N, K]`` weight and ``2 * lanes`` or ``lanes``
  dividing ``N`` (``bn``, preferring the larger) is a ``relay.dense_pack`` of
  ``transpose(reshape(w, [N/bn, bn, K]), [0, 2, 1])``; one with ``N >= lanes`` that no
  panel width divides packs ``pad(w)`` (zero rows up to whole panels of ``bn``: ``2 *
  lanes`` from ``N >= 4 * lanes``, else ``lanes``) and a ``relay.strided_slice`` keeps the
  first ``N`` outputs (see :func:`panel_width`); its data is reshaped to one matrix of rows
  (and the result back), so that ``[T, 1, K]`` data still gets tiles of several rows;
- a ``layout_transform`` of a ``layout_transform`` is merged into one, and one that returns
  to the layout it started from (``A -> B -> A``), or goes nowhere, is removed.

The rewritten ops are erased; results are unchanged (the same arithmetic in another order of
memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects.builtin import AnyFloat, ModuleOp
from xdsl.ir import Block, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay
from xtvm.errors import PipelineError
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.alter_layout_rules import LayoutState, channel_block, propagate
from xtvm.passes.relay.rewrite_utils import function_blocks

MIN_GROUP_BLOCK = 2
"""The narrowest output block a grouped convolution is blocked with. Measured (one thread,
AVX2, ``benchmarks/conv_nchwc.py``): blocked 3x3 kernels with 2 to 16 channels per group
ran 1.5x to 14x faster than their NCHW form; with one output channel per group the gain
was smaller (1.2x to 1.6x) and a 1-wide block would leave the ops after it unvectorized."""


def _is_const(v: SSAValue) -> bool:
    return isinstance(v.owner, relay.ConstantOp)


def _group_blocks(op: relay.Conv2dOp, groups: int, state: LayoutState) -> tuple[int, int]:
    """Input and output blocks of a grouped convolution, each dividing the channels of one
    group (the data's block when it does), or ``(0, 0)`` when the output block would be
    narrower than :data:`MIN_GROUP_BLOCK`."""
    c, o = relay.shape_of(op.data)[1], relay.shape_of(op.weight)[0]
    per_in, per_out = c // groups, o // groups
    have = state.block_of(op.data) if state.is_blocked(op.data) else 0
    cb = have if have and per_in % have == 0 else channel_block(per_in, state.lanes)
    ob = channel_block(per_out, state.lanes)
    if ob < min(MIN_GROUP_BLOCK, state.lanes):
        return 0, 0
    return cb, ob


def _conv(op: relay.Conv2dOp, state: LayoutState) -> bool:
    """Rewrite a convolution with a constant weight to ``conv2d_nchwc``; False if it stays."""
    if not _is_const(op.weight) or not isinstance(relay.elt_of(op.data), AnyFloat):
        return False
    strides, padding, dilation, groups = op.attrs
    _, c, _, _ = relay.shape_of(op.data)
    o = relay.shape_of(op.weight)[0]
    depthwise = groups > 1 and groups == c == o
    if depthwise or groups == 1:
        state.at(op)
        data, cb = state.blocked_or_new(op.data)
        ob = cb if depthwise else channel_block(o, state.lanes)
        groups = 1
    else:
        cb, ob = _group_blocks(op, groups, state)
        if not cb:
            return False
        state.at(op)
        data = state.to_blocked(op.data, cb)
    kernel_layout = f"OIHW1i{cb}o" if depthwise else f"OIHW{cb}i{ob}o"
    kernel = state.emit(relay.LayoutTransformOp(op.weight, "OIHW", kernel_layout))
    kernel.name_hint = op.weight.name_hint
    conv = relay.Conv2dNchwcOp(data, kernel, strides, padding, dilation, depthwise, groups)
    state.replace_blocked(op, state.emit(conv), ob)
    return True


def panel_width(n: int, lanes: int) -> tuple[int, int]:
    """``(bn, padded N)`` of a packed dense weight of ``n`` rows, or ``(0, n)`` to keep it
    unpacked: ``2 * lanes`` or ``lanes`` when one divides ``n`` (the larger preferred);
    otherwise (at least one vector of outputs) the weight gets zero rows up to a multiple of
    the panel, ``2 * lanes`` from four vectors up, and the extra outputs are sliced off."""
    bn = next((b for b in (2 * lanes, lanes) if n % b == 0), 0)
    if bn:
        return bn, n
    if n < lanes:
        return 0, n
    bn = 2 * lanes if n >= 4 * lanes else lanes
    return bn, -(-n // bn) * bn


def _dense(op: relay.DenseOp, state: LayoutState) -> None:
    """Rewrite a dense with a constant weight of at least one vector of outputs to
    ``dense_pack`` (padded panels and a slice when N is not whole panels)."""
    if not _is_const(op.weight) or not isinstance(relay.elt_of(op.data), AnyFloat):
        return
    n, k = relay.shape_of(op.weight)
    bn, padded = panel_width(n, state.lanes)
    if not bn:
        return
    state.at(op)
    weight, data = op.weight, op.data
    shape = relay.shape_of(op.result)
    rows = prod(shape[:-1])
    if padded != n:
        weight = state.emit(relay.PadOp(weight, (0, 0), (padded - n, 0)))
        if len(shape) > 2:  # one matrix of rows: the register tiles span them all
            data = state.emit(relay.ReshapeOp(data, (rows, k)))
    panels = state.emit(relay.ReshapeOp(weight, (padded // bn, bn, k)))
    packed = state.emit(relay.TransposeOp(panels, (0, 2, 1)))
    packed.name_hint = op.weight.name_hint
    new = state.emit(relay.DensePackOp(data, packed))
    if padded != n:
        new = state.emit(relay.StridedSliceOp(new, (0, 0), (1, 1), (rows, n)))
        if len(shape) > 2:
            new = state.emit(relay.ReshapeOp(new, shape))
    new.name_hint = op.result.name_hint
    op.result.replace_all_uses_with(new)
    state.replaced.append(op)


def _merge_transforms(block: Block) -> None:
    """``t2(t1(x))`` -> ``t(x)``, and drop transforms that end where they start."""
    for op in list(block.ops):
        if not isinstance(op, relay.LayoutTransformOp) or op.parent is not block:
            continue
        src, dst = op.layouts
        value = op.data
        inner = value.owner
        if isinstance(inner, relay.LayoutTransformOp):
            value, src = inner.data, inner.layouts[0]
        if src == dst:
            op.result.replace_all_uses_with(value)
        elif value is not op.data:
            new = relay.LayoutTransformOp(value, src, dst)
            new.result.name_hint = op.result.name_hint
            Rewriter.insert_op(new, InsertPoint.before(op))
            op.result.replace_all_uses_with(new.result)
        else:
            continue
        Rewriter.erase_op(op)
        if isinstance(inner, relay.LayoutTransformOp) and not inner.result.uses:
            Rewriter.erase_op(inner)


def _alter_block(block: Block, lanes: int) -> None:
    state = LayoutState(block, lanes)
    for op in list(block.ops):
        if not isinstance(op, relay.RelayOp):
            continue
        if isinstance(op, relay.Conv2dOp) and _conv(op, state):
            continue
        if any(state.is_blocked(v) for v in op.operands) and propagate(op, state):
            continue
        state.unblock_operands(op)
        if isinstance(op, relay.DenseOp):
            _dense(op, state)
    state.finish()
    _merge_transforms(block)


@register_pass
@dataclass(frozen=True)
class RelayAlterLayoutPass(ModulePass):
    """Blocked conv layouts and packed dense weights (see the module docstring).

    ``vector_bits`` (``vector-bits``): the vector register width the blocks are sized for
    (0: the host's)."""

    name = "relay-alter-layout"
    vector_bits: int = 0

    def __post_init__(self) -> None:
        if self.vector_bits < 0 or self.vector_bits % 32:
            raise PipelineError(
                f"relay-alter-layout: vector-bits must be a multiple of 32, got {self.vector_bits}"
            )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from xtvm.topi.x86.default import host_vector_bits

        lanes = max(1, (self.vector_bits or host_vector_bits()) // 32)
        for block in list(function_blocks(op)):
            _alter_block(block, lanes)
