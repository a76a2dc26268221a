"""``relay-decompose-conv-transpose``: transposed convolutions as regular convolutions.

Expects: relay in ``func.func`` bodies before ``relay-alter-layout`` and fusion (ops inside
``relay.fused`` regions are left alone).

Guarantees (top level of function bodies): every ``relay.conv2d_transpose`` with a constant
float weight and ``groups == 1`` (or one input and one output channel per group) is gone,
replaced by ``relay.conv2d`` ops on its input plus cheap copies, with the same results:

- output phase ``(ry, rx)`` (the rows ``y % sh == ry`` and columns ``x % sw == rx``) is a
  regular convolution of the input with the taps of the weight that land on it, flipped
  (sub-pixel decomposition: no multiply is spent on an inserted zero);
- consecutive phases whose taps start at the same input offset and have the same count
  share one convolution with ``phases * C_out`` output channels (with ``groups == 1``); so
  kernel == stride without padding (the usual 2x upsampling head) is a single 1x1-style
  conv to ``C_out * sh * sw`` channels, and stride 1 is a single conv;
- the phase convs are concatenated along channels in phase order ``(ry, rx, c)``, phases
  that no tap reaches as zero channels (``relay.pad``), and interleaved by
  ``relay.depth_to_space`` (``DCR``) when ``sh == sw`` (its plain index arithmetic makes a
  far faster kernel than a reshape chain), else by ``reshape`` + ``transpose`` + ``reshape``;
  a ``strided_slice`` crops the result when ``sh`` (``sw``) does not divide the output
  height (width); the input is sliced first only when padding exceeds the taps' reach.

A following ``relay.add`` of a constant per-channel bias (its only use) is moved onto the
convolutions' outputs, where fusion makes it the conv kernels' epilogue (unless some phase
has no taps; then the add stays). New weights are computed with numpy at rewrite time. Other
transposed convolutions (non-constant weight, general groups, or an output that no tap
reaches, all zeros) are left unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import AnyFloat, ModuleOp
from xdsl.ir import Block, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.rewrite_utils import constant_array, function_blocks


@dataclass(frozen=True)
class _Run:
    """Consecutive output phases ``first, first + 1, ...`` of one spatial dim whose taps
    start at input offset ``base`` and have one count; ``taps[i]`` lists phase
    ``first + i``'s kernel indices by increasing input offset."""

    first: int
    base: int
    taps: tuple[tuple[int, ...], ...]

    @property
    def count(self) -> int:
        return len(self.taps[0])


@dataclass(frozen=True)
class _DimPlan:
    """One spatial dim: output ``y = q * stride + r`` reads input ``q + base + j * step``
    (``j`` over the taps of phase ``r``'s run); every phase has ``rows`` rows (cropped to
    ``out`` at the end)."""

    size: int
    stride: int
    step: int
    rows: int
    out: int
    runs: tuple[_Run, ...]

    def window(self, run: _Run) -> tuple[int, int, int, int] | None:
        """(slice begin, slice end, pad before, pad after) of the input that ``run``'s conv
        reads; None when it has no taps or reads padding only (its phases are zeros)."""
        if not run.count:
            return None
        lo = run.base
        hi = self.rows - 1 + run.base + (run.count - 1) * self.step
        begin, end = max(lo, 0), min(hi, self.size - 1)
        if begin > end:
            return None
        return begin, end + 1, begin - lo, hi - end


def _plan_dim(
    size: int, k: int, stride: int, pad: int, dilation: int, out: int, split: bool
) -> _DimPlan:
    """Phases of one dim; with ``split`` every phase is a run of its own."""
    runs: list[_Run] = []
    for r in range(stride):
        taps = tuple(kk for kk in reversed(range(k)) if (r + pad - kk * dilation) % stride == 0)
        base = (r + pad - taps[0] * dilation) // stride if taps else 0
        last = runs[-1] if runs else None
        if last is not None and not split and (last.base, last.count) == (base, len(taps)):
            runs[-1] = _Run(last.first, base, (*last.taps, taps))
        else:
            runs.append(_Run(r, base, (taps,)))
    step = dilation // math.gcd(dilation, stride)
    return _DimPlan(size, stride, step, -(-out // stride), out, tuple(runs))


def _bias_add(op: relay.Conv2dTransposeOp) -> tuple[relay.AddOp, np.ndarray] | None:
    """The ``relay.add`` of a constant per-channel bias that is ``op``'s only use, with the
    bias as a ``[C_out]`` array."""
    uses = list(op.result.uses)
    if len(uses) != 1 or not isinstance(add := uses[0].operation, relay.AddOp):
        return None
    if add.result.type != op.result.type:
        return None
    other = add.operands[1 - uses[0].index]
    bias = constant_array(other)
    if bias is None or bias.ndim > 4 or bias.dtype != relay.numpy_dtype_of(relay.elt_of(op.result)):
        return None
    shape = (1,) * (4 - bias.ndim) + bias.shape
    if shape[0] != 1 or shape[2:] != (1, 1):
        return None
    channels = relay.shape_of(op.result)[1]
    return add, np.broadcast_to(bias.reshape(shape[1]), (channels,))


class _Emitter:
    """Inserts new ops before one op and names their results."""

    def __init__(self, before: relay.Conv2dTransposeOp, hint: str):
        self.before = before
        self.hint = hint

    def __call__(self, op: relay.RelayOp | relay.ConstantOp, suffix: str) -> SSAValue:
        Rewriter.insert_op(op, InsertPoint.before(self.before))
        op.results[0].name_hint = f"{self.hint}_{suffix}"
        return op.results[0]

    def const(self, value: np.ndarray, suffix: str) -> SSAValue:
        return self(relay.ConstantOp.from_numpy(value), suffix)


@dataclass
class _Decomposer:
    op: relay.Conv2dTransposeOp
    weight: np.ndarray
    ys: _DimPlan
    xs: _DimPlan
    groups: int
    bias: np.ndarray | None
    emit: _Emitter

    def _phase_weight(self, ty: tuple[int, ...], tx: tuple[int, ...]) -> np.ndarray:
        """OIHW conv weight of one phase: [C_out, C_in / groups, len(ty), len(tx)]."""
        w = self.weight[:, :, list(ty)][:, :, :, list(tx)]  # [C_in, opg, jy, jx]
        c, opg, jy, jx = w.shape
        g = self.groups
        w = w.reshape(g, c // g, opg, jy, jx).transpose(0, 2, 1, 3, 4)
        return w.reshape(g * opg, c // g, jy, jx)

    def _group(self, ry: _Run, rx: _Run) -> SSAValue | None:
        """The conv of the phases ``ry x rx``: [N, |ry| * |rx| * C_out, rows_y, rows_x]."""
        wy, wx = self.ys.window(ry), self.xs.window(rx)
        if wy is None or wx is None:
            return None
        data = self.op.data
        n, c, h, w = relay.shape_of(data)
        if (wy[0], wy[1], wx[0], wx[1]) != (0, h, 0, w):
            begin, shape = (0, 0, wy[0], wx[0]), (n, c, wy[1] - wy[0], wx[1] - wx[0])
            data = self.emit(relay.StridedSliceOp(data, begin, (1, 1, 1, 1), shape), "window")
        weight = np.concatenate(
            [self._phase_weight(ty, tx) for ty in ry.taps for tx in rx.taps], axis=0
        )
        dilation = (self.ys.step if ry.count > 1 else 1, self.xs.step if rx.count > 1 else 1)
        padding = (wy[2], wx[2], wy[3], wx[3])
        wv = self.emit.const(weight, "weight")
        conv = relay.Conv2dOp(data, wv, (1, 1), padding, dilation, self.groups)
        y = self.emit(conv, "phases")
        if self.bias is not None:
            phases = len(ry.taps) * len(rx.taps)
            b = np.tile(self.bias, phases).reshape(1, -1, 1, 1)
            y = self.emit(relay.AddOp(y, self.emit.const(b, "bias")), "biased")
        return y

    def _join(self, pieces: list[tuple[int, SSAValue | None]]) -> SSAValue:
        """Concatenate along channels pieces of (phase count, value or None for zeros), the
        zeros as channel padding of a neighbour."""
        o = relay.shape_of(self.op.result)[1]
        zeros_before = 0
        padded: list[tuple[SSAValue, int, int]] = []  # (value, phases before, phases after)
        for count, value in pieces:
            if value is None:
                if padded:
                    v, b, a = padded[-1]
                    padded[-1] = (v, b, a + count)
                else:
                    zeros_before += count
            else:
                padded.append((value, zeros_before, 0))
                zeros_before = 0
        parts = []
        for value, before, after in padded:
            if before or after:
                pad = relay.PadOp(value, (0, before * o, 0, 0), (0, after * o, 0, 0))
                value = self.emit(pad, "zero_phases")
            parts.append(value)
        if len(parts) == 1:
            return parts[0]
        return self.emit(relay.ConcatenateOp(parts, 1), "phases")

    def _interleave(self, phases: SSAValue) -> SSAValue:
        """[N, sh * sw * C_out, rows_y, rows_x] (channels ordered (ry, rx, c)) to
        [N, C_out, rows_y * sh, rows_x * sw]."""
        n, _, q, p = relay.shape_of(phases)
        o = relay.shape_of(self.op.result)[1]
        sh, sw = self.ys.stride, self.xs.stride
        if sh == sw:  # the plain index arithmetic of depth_to_space beats a reshape chain
            return self.emit(relay.DepthToSpaceOp(phases, sh, "DCR"), "interleaved")
        grid = self.emit(relay.ReshapeOp(phases, (n, sh, sw, o, q, p)), "phase_grid")
        moved = self.emit(relay.TransposeOp(grid, (0, 3, 4, 1, 5, 2)), "interleave")
        return self.emit(relay.ReshapeOp(moved, (n, o, q * sh, p * sw)), "interleaved")

    def run(self) -> SSAValue:
        """The decomposition's result (at least one run of each dim must be live)."""
        n, o, oh, ow = relay.shape_of(self.op.result)
        ys, xs = self.ys, self.xs
        pieces = [
            (len(ry.taps) * len(rx.taps), self._group(ry, rx)) for ry in ys.runs for rx in xs.runs
        ]
        y = self._join(pieces)
        if ys.stride * xs.stride > 1:
            y = self._interleave(y)
        if relay.shape_of(y)[2:] != (oh, ow):
            crop = relay.StridedSliceOp(y, (0, 0, 0, 0), (1, 1, 1, 1), (n, o, oh, ow))
            y = self.emit(crop, "cropped")
        return y


def _decompose(op: relay.Conv2dTransposeOp) -> bool:
    """Rewrite ``op`` (and an absorbed bias add); False when it stays."""
    weight = constant_array(op.weight)
    if weight is None or not isinstance(relay.elt_of(op.data), AnyFloat) or not op.result.uses:
        return False
    strides, padding, dilation, _, groups = op.attrs
    n, c, h, w = relay.shape_of(op.data)
    _, opg, kh, kw = weight.shape
    _, _, oh, ow = relay.shape_of(op.result)
    if groups != 1 and not (c // groups == 1 and opg == 1):
        return False
    # merged phases would make a grouped conv that no schedule handles well; and a row of
    # phases may only share a conv if it holds all columns (channel order (ry, rx, c))
    split = groups != 1
    xs = _plan_dim(w, kw, strides[1], padding[1], dilation[1], ow, split)
    split = split or len(xs.runs) > 1
    ys = _plan_dim(h, kh, strides[0], padding[0], dilation[0], oh, split)
    live = [[d.window(r) is not None for r in d.runs] for d in (ys, xs)]
    if not all(any(flags) for flags in live):  # all zeros: nothing worth rewriting
        return False
    has_zero_phases = not all(all(flags) for flags in live)
    found = None if has_zero_phases else _bias_add(op)
    target = op.result if found is None else found[0].result
    emit = _Emitter(op, target.name_hint or "conv_transpose")
    bias = None if found is None else found[1]
    new = _Decomposer(op, weight, ys, xs, groups, bias, emit).run()
    new.name_hint = target.name_hint
    target.replace_all_uses_with(new)
    dropped = [op] if found is None else [found[0], op]
    inputs = [v.owner for d in dropped for v in d.operands]
    for d in dropped:
        Rewriter.erase_op(d)
    for producer in inputs:  # the old weight and bias constants
        if isinstance(producer, relay.ConstantOp) and not producer.result.uses:
            Rewriter.erase_op(producer)
    return True


def _decompose_block(block: Block) -> None:
    for op in list(block.ops):
        if isinstance(op, relay.Conv2dTransposeOp) and op.parent is block:
            _decompose(op)


@register_pass
@dataclass(frozen=True)
class RelayDecomposeConvTransposePass(ModulePass):
    """Transposed convolutions as phase convolutions + interleave (see the module doc)."""

    name = "relay-decompose-conv-transpose"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for block in list(function_blocks(op)):
            _decompose_block(block)
