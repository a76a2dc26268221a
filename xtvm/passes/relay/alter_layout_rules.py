"""How ``relay-alter-layout`` carries the blocked layout ``NCHW{cb}c`` through a graph.

:class:`LayoutState` remembers, for every NCHW value the pass has re-made in a blocked
layout, that blocked value and its block ``cb``; it makes (and caches) the transforms into
and out of the blocked layout. :func:`propagate` gives an op whose operands include such a
value a blocked twin when the op can take one:

- elementwise unary ops, ``clip`` and ``cast``: the same op on the blocked tensor;
- broadcasts (arithmetic, comparisons, ``where``) with a rank-4 result: blocked operands of
  the result's channel count move to one common block; other operands are re-laid-out to
  match (a per-channel ``[C, 1, 1]`` / ``[1, C, 1, 1]`` tensor becomes ``[1, C/cb, 1, 1, cb]``
  by a reshape and a ``layout_transform``, folded when it is a constant; a channel-free one
  gets a size-1 block axis; scalars stay);
- ``concatenate`` along channels, when one block divides every input's channels;
- max / average / global average pooling (their ``_nchwc`` twins);
- ``resize`` and ``pad`` that leave N and C alone (the block axis is one more untouched dim).

Everything else makes the caller read the NCHW value back through one ``layout_transform``.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay
from xtvm.topi.nn.image import resize_axes


def channel_block(channels: int, lanes: int) -> int:
    """``lanes`` if it divides ``channels``, else the largest divisor of ``channels`` below it."""
    if channels % lanes == 0:
        return lanes
    return max(d for d in range(1, min(lanes, channels) + 1) if channels % d == 0)


def blocked_shape(shape: Sequence[int], cb: int) -> tuple[int, ...]:
    n, c, h, w = shape
    return (n, c // cb, h, w, cb)


class LayoutState:
    """The blocked twins made so far in one function body, and where new ops go."""

    def __init__(self, block: Block, lanes: int):
        self.block = block
        self.lanes = lanes
        self.blocked: dict[SSAValue, tuple[SSAValue, int]] = {}
        self.replaced: list[Operation] = []
        self._nchw: dict[SSAValue, SSAValue] = {}
        self._to_block: dict[tuple[SSAValue, int], SSAValue] = {}
        self._point: Operation | None = None

    # -- building ----------------------------------------------------------------------------
    def at(self, op: Operation) -> None:
        """New ops go just before ``op``."""
        self._point = op

    def emit(self, op: Operation) -> SSAValue:
        assert self._point is not None
        Rewriter.insert_op(op, InsertPoint.before(self._point))
        return op.results[0]

    def is_blocked(self, v: SSAValue) -> bool:
        return v in self.blocked

    def block_of(self, v: SSAValue) -> int:
        return self.blocked[v][1]

    def to_blocked(self, v: SSAValue, cb: int) -> SSAValue:
        """NCHW value ``v`` in ``NCHW{cb}c``: its twin, or a (cached) transform."""
        key = (v, cb)
        if key in self._to_block:
            return self._to_block[key]
        if v in self.blocked:
            twin, have = self.blocked[v]
            if have == cb:
                return twin
            out = self.emit(relay.LayoutTransformOp(twin, f"NCHW{have}c", f"NCHW{cb}c"))
        else:
            out = self.emit(relay.LayoutTransformOp(v, "NCHW", f"NCHW{cb}c"))
        out.name_hint = v.name_hint
        self._to_block[key] = out
        return out

    def blocked_or_new(self, v: SSAValue) -> tuple[SSAValue, int]:
        """``v``'s twin and block, or ``v`` transformed to the block of its channel count."""
        if v in self.blocked:
            return self.blocked[v]
        cb = channel_block(relay.shape_of(v)[1], self.lanes)
        return self.to_blocked(v, cb), cb

    def replace_blocked(self, op: Operation, twin: SSAValue, cb: int) -> None:
        """``twin`` (in ``NCHW{cb}c``) now computes ``op``'s result, which goes away."""
        twin.name_hint = op.results[0].name_hint
        self.blocked[op.results[0]] = (twin, cb)
        self.replaced.append(op)

    # -- reading NCHW back -------------------------------------------------------------------
    def nchw(self, v: SSAValue) -> SSAValue:
        """A (cached) transform of ``v``'s twin back to NCHW, made at the insertion point."""
        if v not in self._nchw:
            twin, cb = self.blocked[v]
            out = self.emit(relay.LayoutTransformOp(twin, f"NCHW{cb}c", "NCHW"))
            out.name_hint = v.name_hint
            self._nchw[v] = out
        return self._nchw[v]

    def unblock_operands(self, op: Operation) -> None:
        """``op`` cannot take blocked values: it reads their NCHW form."""
        self.at(op)
        for k, v in enumerate(op.operands):
            if v in self.blocked:
                op.operands[k] = self.nchw(v)

    def finish(self) -> None:
        """Remaining users (``func.return``, non-relay ops) read NCHW; erase replaced ops."""
        gone = set(self.replaced)
        order = {op: k for k, op in enumerate(self.block.ops)}
        for v in self.blocked:
            users = [u for u in v.uses if u.operation not in gone]
            if not users:
                continue
            # a user inside a relay.if region reads the transform made before the relay.if
            tops = [self.block.find_ancestor_op_in_block(u.operation) or u.operation for u in users]
            self.at(min(tops, key=lambda o: order.get(o, len(order))))
            nchw = self.nchw(v)
            for u in users:
                u.operation.operands[u.index] = nchw
        for op in reversed(self.replaced):
            Rewriter.erase_op(op)


# ----------------------------------------------------------------------------------------------
# propagation rules
# ----------------------------------------------------------------------------------------------

_ELEMENTWISE = (relay.UnaryOp, relay.ClipOp, relay.CastOp)


def _twin(op: Operation, operands: Sequence[SSAValue], shape: Sequence[int]) -> Operation:
    """``op`` with other operands and a result of ``shape`` (same element type, attributes)."""
    return type(op).create(
        operands=list(operands),
        result_types=[relay.tensor_type(shape, relay.elt_of(op.results[0]))],
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )


def _elementwise(op: Operation, state: LayoutState) -> bool:
    twin, cb = state.blocked[op.operands[0]]
    shape = blocked_shape(relay.shape_of(op.results[0]), cb)
    state.replace_blocked(op, state.emit(_twin(op, [twin], shape)), cb)
    return True


def _broadcast_operand(v: SSAValue, out: Sequence[int], cb: int, state: LayoutState) -> SSAValue:
    """``v`` (broadcasting to the NCHW shape ``out``) as an operand of the blocked twin."""
    c = out[1]
    if v in state.blocked:
        return state.to_blocked(v, cb) if relay.shape_of(v)[1] == c else state.blocked[v][0]
    s = relay.shape_of(v)
    s4 = (1,) * (4 - len(s)) + s
    if all(d == 1 for d in s):
        return v  # a scalar or all-ones shape broadcasts the same in any layout
    if s4[1] == c:
        full = v if len(s) == 4 else state.emit(relay.ReshapeOp(v, s4))
        return state.to_blocked(full, cb)
    return state.emit(relay.ReshapeOp(v, (s4[0], 1, s4[2], s4[3], 1)))


def _broadcast(op: Operation, state: LayoutState) -> bool:
    out = relay.shape_of(op.results[0])
    if len(out) != 4:
        return False
    c = out[1]
    cb = next(
        (
            state.block_of(v)
            for v in op.operands
            if v in state.blocked and relay.shape_of(v)[1] == c
        ),
        channel_block(c, state.lanes),
    )
    operands = [_broadcast_operand(v, out, cb, state) for v in op.operands]
    state.replace_blocked(op, state.emit(_twin(op, operands, blocked_shape(out, cb))), cb)
    return True


def _concatenate(op: relay.ConcatenateOp, state: LayoutState) -> bool:
    shapes = [relay.shape_of(v) for v in op.inputs]
    if op.axis.value.data != 1 or len(shapes[0]) != 4:
        return False
    channels = [s[1] for s in shapes]
    have = [state.block_of(v) for v in op.inputs if v in state.blocked]
    cb = next((b for b in have if all(c % b == 0 for c in channels)), 0)
    if not cb:
        g = 0
        for c in channels:
            g = gcd(g, c)
        cb = channel_block(g, state.lanes)
    inputs = [state.to_blocked(v, cb) for v in op.inputs]
    state.replace_blocked(op, state.emit(relay.ConcatenateOp(inputs, 1)), cb)
    return True


def _pool(op: Operation, state: LayoutState) -> bool:
    twin, cb = state.blocked[op.operands[0]]
    if isinstance(op, relay.GlobalAvgPool2dOp):
        new: Operation = relay.GlobalAvgPool2dNchwcOp(twin)
    else:
        assert isinstance(op, relay.Pool2dOp)
        ks, strides, padding, dilation, ceil_mode = op.attrs
        kw = {"strides": strides, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
        if isinstance(op, relay.AvgPool2dOp):
            new = relay.AvgPool2dNchwcOp(twin, ks, op.include_pad, **kw)
        else:
            new = relay.MaxPool2dNchwcOp(twin, ks, **kw)
    state.replace_blocked(op, state.emit(new), cb)
    return True


def _resize(op: relay.ResizeOp, state: LayoutState) -> bool:
    src, out = relay.shape_of(op.data), relay.shape_of(op.result)
    scales, roi = op.scale_values, op.roi_values
    if len(src) != 4 or {0, 1} & set(resize_axes(src, out, scales, roi, op.coord_mode)):
        return False
    twin, cb = state.blocked[op.data]
    new = relay.ResizeOp(
        twin,
        blocked_shape(out, cb),
        (*scales, 1.0),
        op.method.data,
        op.coord_mode,
        op.nearest_mode.data,
        (*roi[:4], 0.0, *roi[4:], 1.0),
        op.cubic_coeff_a.value.data,
        bool(op.exclude_outside.value.data),
        op.extrapolation_value.value.data,
    )
    state.replace_blocked(op, state.emit(new), cb)
    return True


def _pad(op: relay.PadOp, state: LayoutState) -> bool:
    before, after = op.widths
    if len(before) != 4 or any(before[:2]) or any(after[:2]):
        return False
    twin, cb = state.blocked[op.data]
    new = relay.PadOp(twin, (*before, 0), (*after, 0), op.mode.data, op.value)
    state.replace_blocked(op, state.emit(new), cb)
    return True


def propagate(op: Operation, state: LayoutState) -> bool:
    """Give ``op`` (which has a blocked operand) a blocked twin; False if it cannot take one."""
    state.at(op)
    if len(op.results) != 1:
        return False
    if isinstance(op, _ELEMENTWISE):
        return _elementwise(op, state)
    if isinstance(op, (relay.BinaryOp, relay.WhereOp)):
        return _broadcast(op, state)
    if isinstance(op, relay.ConcatenateOp):
        return _concatenate(op, state)
    if isinstance(op, (relay.MaxPool2dOp, relay.AvgPool2dOp, relay.GlobalAvgPool2dOp)):
        return _pool(op, state)
    if isinstance(op, relay.ResizeOp):
        return _resize(op, state)
    if isinstance(op, relay.PadOp):
        return _pad(op, state)
    return False
