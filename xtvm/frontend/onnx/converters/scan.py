"""``Scan`` -> the loop of ``loop.py`` with a static trip count (the scanned length).

The body slices each scan input at the iteration (``relay.take`` with the iteration number, or
``n - 1 - i`` for a reverse direction, as a 0-d index); the stacked rows then get the output
directions (a ``take`` of reversed indices) and axes (a ``transpose``). Opset 8's batch axis is
one scan per batch row, stacked again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import GraphProto, NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.loop import run_loop, stack_rows
from xtvm.frontend.onnx.registry import converter


def _scan_core(
    ctx: ConversionContext,
    body: GraphProto,
    states: list[SSAValue],
    xs: list[SSAValue],
    in_axes: list[int],
    in_dirs: list[int],
    out_axes: list[int],
    out_dirs: list[int],
) -> list[SSAValue]:
    """Scan-9 semantics: final states, then each scan output along its axis/direction."""
    lengths = {relay.shape_of(x)[a] for x, a in zip(xs, in_axes)}
    if len(lengths) != 1:
        raise ctx.error(f"the scan inputs have different lengths {sorted(lengths)}")
    n = lengths.pop()
    last = ctx.constant(np.array(n - 1, np.int64))

    def bind(i: SSAValue, c: SSAValue, s: list[SSAValue]) -> list[SSAValue]:
        slices = []
        for x, a, d in zip(xs, in_axes, in_dirs):
            idx = ctx.emit(relay.SubtractOp(last, i)) if d else i
            slices.append(ctx.emit(relay.TakeOp(x, idx, a)))
        return [*s, *slices]

    trip = ctx.constant(np.array(n, np.int64))
    outs = run_loop(ctx, body, trip, None, states, bind, body_cond=False)
    finals, stacked = outs[: len(states)], outs[len(states) :]
    if len(out_axes) < len(stacked) or len(out_dirs) < len(stacked):
        raise ctx.error("scan_output_axes/directions must name every scan output")
    result = list(finals)
    for v, a, d in zip(stacked, out_axes, out_dirs):
        rank = len(relay.shape_of(v))
        a = a % rank
        if d:
            rev = ctx.constant(np.arange(n - 1, -1, -1, dtype=np.int64))
            v = ctx.emit(relay.TakeOp(v, rev, 0))
        if a:
            perm = [*range(1, a + 1), 0, *range(a + 1, rank)]
            v = ctx.emit(relay.TransposeOp(v, perm))
        result.append(v)
    return result


def _ints(attrs: dict[str, Any], name: str, n: int) -> list[int]:
    value = attrs.get(name)
    return [0] * n if value is None else [int(v) for v in value]


def convert_scan(
    ctx: ConversionContext, node: NodeProto, inputs: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    """``Scan`` (opset 9+): states then scan inputs; the trip count is the scanned length."""
    body, ns = attrs.get("body"), attrs.get("num_scan_inputs")
    if not isinstance(body, GraphProto) or not isinstance(ns, int) or not 0 < ns <= len(inputs):
        raise ctx.error("Scan needs a body and 0 < num_scan_inputs <= the number of inputs")
    if any(v is None for v in inputs):
        raise ctx.error("Scan inputs must not be empty")
    values = [v for v in inputs if v is not None]
    states, xs = values[: len(values) - ns], values[len(values) - ns :]
    n_out = len(body.output) - len(states)
    in_axes = [
        a % max(1, len(relay.shape_of(x))) for a, x in zip(_ints(attrs, "scan_input_axes", ns), xs)
    ]
    return _scan_core(
        ctx,
        body,
        states,
        xs,
        in_axes,
        _ints(attrs, "scan_input_directions", ns),
        _ints(attrs, "scan_output_axes", n_out),
        _ints(attrs, "scan_output_directions", n_out),
    )


@converter("Scan", since=8)
def convert_scan8(
    ctx: ConversionContext, node: NodeProto, inputs: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    """``Scan`` opset 8: a batch axis 0, the scan axis 1; each batch row is its own scan."""
    body, ns = attrs.get("body"), attrs.get("num_scan_inputs")
    if not isinstance(body, GraphProto) or not isinstance(ns, int) or not 0 < ns < len(inputs):
        raise ctx.error("Scan needs a body and 0 < num_scan_inputs < the number of inputs")
    lens, *rest = inputs
    if any(v is None for v in rest):
        raise ctx.error("Scan inputs must not be empty")
    values = [v for v in rest if v is not None]
    states, xs = values[: len(values) - ns], values[len(values) - ns :]
    batch = relay.shape_of(values[0])[0]
    if lens is not None:
        full = relay.shape_of(xs[0])[1]
        if not ctx.is_constant(lens) or any(
            int(v) != full for v in ctx.ints(lens, "sequence_lens")
        ):
            raise ctx.error("sequence_lens shorter than the scanned axis are not supported")
    n_out = len(body.output) - len(states)
    dirs = _ints(attrs, "directions", ns)
    per_batch = []
    for b in range(batch):
        index = ctx.constant(np.array(b, np.int64))
        pick = [ctx.emit(relay.TakeOp(v, index, 0)) for v in values]
        per_batch.append(
            _scan_core(
                ctx,
                body,
                pick[: len(states)],
                pick[len(states) :],
                [0] * ns,
                dirs,
                [0] * n_out,
                [0] * n_out,
            )
        )
    return [stack_rows(ctx, [outs[k] for outs in per_batch], k) for k in range(len(per_batch[0]))]


for _v in (9, 11, 16, 19, 21):
    converter("Scan", since=_v)(convert_scan)
