"""Loops: ONNX ``Loop`` and ``Scan`` -> ``relay.loop`` (or the iterations unrolled).

A loop whose trip count is a constant of at most ``UNROLL_LIMIT`` iterations, and whose
condition is known at import time in every iteration, is unrolled here: cheap to compile,
fusion works across iterations, and carried values may even change shape. Anything else
becomes one ``relay.loop`` whose body is converted once with its graph inputs bound to the
block arguments (iteration number, condition, carried values). Stacked scan outputs need a
static bound (a constant trip count); a data-dependent
length (a runtime trip count) is an ``UnsupportedOperatorError`` that says so; rows of a loop
with a static trip count whose condition may stop it early are a zero-filled bound of that
many rows plus the number of iterations run, a bounded tensor like NonZero's
(``frontend/onnx/dynamic.py``). Body outputs declared half precision are rounded to it each
iteration, as onnxruntime passes them on. ``Scan`` is in ``scan.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import GraphProto, NodeProto
from xdsl.builder import Builder
from xdsl.ir import Block, Region, SSAValue
from xdsl.rewriter import InsertPoint
from xdsl.traits import Pure

from xtvm.dialects import relay
from xtvm.errors import ModelError, UnsupportedOperatorError
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.dynamic import dynamic_values
from xtvm.frontend.onnx.half import HALF_TYPES
from xtvm.frontend.onnx.registry import converter

# constant trip counts up to this many iterations are unrolled at import
UNROLL_LIMIT = 16
# stacked rows of a loop that may stop early are a zero-filled bound of this many bytes at most
MAX_BOUND_BYTES = 64 << 20

# (iteration, condition, carried values) -> the values bound to the body's graph inputs
Binder = Callable[[SSAValue, SSAValue, list[SSAValue]], list[SSAValue]]


def _convert_body(
    ctx: ConversionContext, graph: GraphProto, block: Block, values: Callable[[], list[SSAValue]]
) -> list[SSAValue]:
    """Convert ``graph`` at the end of ``block`` with its inputs bound to ``values()``
    (computed there too: Scan's slices of the iteration)."""
    if ctx.convert_subgraph is None:
        raise ctx.error("subgraphs cannot be converted in this context")
    saved = ctx.builder
    ctx.builder = Builder(InsertPoint.at_end(block))
    try:
        bound = values()
        if len(graph.input) != len(bound):
            raise ctx.error(f"the body takes {len(graph.input)} inputs, expected {len(bound)}")
        bind = {i.name: v for i, v in zip(graph.input, bound) if i.name}
        outs = ctx.convert_subgraph(graph, bind=bind)
        return [_round_half(ctx, o, v) for o, v in zip(graph.output, outs)]
    finally:
        ctx.builder = saved


def _round_half(ctx: ConversionContext, out: onnx.ValueInfoProto, v: SSAValue) -> SSAValue:
    """A body output declared half, computed in float32, rounded to half as onnxruntime
    hands it to the next iteration (the loop's carried values stay exact halves)."""
    half = HALF_TYPES.get(out.type.tensor_type.elem_type)
    if half is None or relay.elt_of(v) != relay.element_type_of("float32"):
        return v
    return ctx.emit(relay.CastOp(ctx.emit(relay.CastOp(v, half)), np.dtype("float32")))


def _at(ctx: ConversionContext, block: Block, fn: Callable[[], SSAValue]) -> SSAValue:
    """``fn()`` with the builder at the end of ``block``."""
    saved = ctx.builder
    ctx.builder = Builder(InsertPoint.at_end(block))
    try:
        return fn()
    finally:
        ctx.builder = saved


def _clear(block: Block) -> None:
    for op in reversed(list(block.ops)):
        block.erase_op(op, safe_erase=False)


def _scalar(ctx: ConversionContext, v: SSAValue, what: str, elt: str) -> SSAValue:
    """``v`` as a 0-d tensor (a one-element ``[1]`` is reshaped)."""
    if relay.elt_of(v) != relay.element_type_of(elt) or int(np.prod(relay.shape_of(v))) != 1:
        raise ctx.error(f"{what} must be a one-element {elt} tensor, got {v.type}")
    return v if relay.shape_of(v) == () else ctx.emit(relay.ReshapeOp(v, ()))


def stack_rows(ctx: ConversionContext, rows: list[SSAValue], k: int) -> SSAValue:
    """Rows of one scan output stacked along a new axis 0."""
    if any(r.type != rows[0].type for r in rows):
        raise ctx.error(
            f"scan output {k} has rows of different shapes ({', '.join(str(r.type) for r in rows)})"
        )
    shape = relay.shape_of(rows[0])
    parts = [ctx.emit(relay.ReshapeOp(r, (1, *shape))) for r in rows]
    return parts[0] if len(parts) == 1 else ctx.emit(relay.ConcatenateOp(parts, 0))


def _unroll(
    ctx: ConversionContext,
    graph: GraphProto,
    trips: int,
    inits: list[SSAValue],
    bind: Binder,
    body_cond: bool,
    check: bool,
) -> list[SSAValue] | None:
    """Finals then stacked outputs of the unrolled loop, or None (nothing emitted) when a
    condition that is ``check``ed is only known at run time. ``body_cond``: the body yields
    a condition first (Loop), else not (Scan)."""
    scratch = Block()
    state, rows = list(inits), []
    cond = _at(ctx, scratch, lambda: ctx.constant(np.array(True)))
    for i in range(trips):
        it = _at(ctx, scratch, lambda i=i: ctx.constant(np.array(i, np.int64)))
        try:
            outs = _convert_body(
                ctx, graph, scratch, lambda it=it, cond=cond, state=state: bind(it, cond, state)
            )
        except ModelError:
            _clear(scratch)
            raise
        if body_cond:
            cond, outs = outs[0], outs[1:]
        state, scans = outs[: len(inits)], outs[len(inits) :]
        rows.append(scans)
        if check:
            if not ctx.is_constant(cond):
                _clear(scratch)
                return None
            if not bool(np.asarray(ctx.const_value(cond, "condition")).reshape(-1)[0]):
                break
    for op in list(scratch.ops):
        op.detach()
        ctx.builder.insert(op)
    if not rows:
        return None
    stacked = [stack_rows(ctx, [r[k] for r in rows], k) for k in range(len(rows[0]))]
    return [*state, *stacked]


def _loop(
    ctx: ConversionContext,
    graph: GraphProto,
    trip: SSAValue | None,
    trips: int | None,
    cond: SSAValue | None,
    inits: list[SSAValue],
    bind: Binder,
    body_cond: bool,
) -> list[SSAValue]:
    """One ``relay.loop`` (zero static iterations: the initial values and empty rows)."""
    block = Block(arg_types=[relay.INDEX_TYPE, relay.COND_TYPE, *[v.type for v in inits]])
    it, c, *state = block.args
    it.name_hint, c.name_hint = "iter", "cond"
    try:
        outs = _convert_body(ctx, graph, block, lambda: bind(it, c, list(state)))
        if body_cond:
            next_cond = _at(
                ctx, block, lambda: _scalar(ctx, outs[0], "the body's condition", "bool")
            )
            outs = outs[1:]
        else:
            next_cond = c
    except ModelError:
        _clear(block)
        raise
    carried, rows = outs[: len(inits)], outs[len(inits) :]
    for k, (a, b) in enumerate(zip(carried, inits)):
        if a.type != b.type:
            _clear(block)
            raise ctx.error(
                f"loop-carried value {k} is {b.type} before the loop but the body yields "
                f"{a.type}; xtvm compiles static shapes, so it must keep its shape"
            )
    if trips == 0:
        _clear(block)
        return [*inits, *[ctx.empty((0, *relay.shape_of(r)), relay.elt_of(r)) for r in rows]]
    always = next_cond is c or (
        ctx.is_constant(next_cond) and bool(ctx.const_value(next_cond, "condition").reshape(-1)[0])
    )
    if cond is not None and ctx.is_constant(cond) and always:
        cond = None  # true at the start and never changed
    bound_bytes = sum((trips or 0) * int(np.prod(relay.shape_of(r))) * 8 for r in rows)
    if rows and (trips is None or bound_bytes > MAX_BOUND_BYTES):
        _clear(block)
        reason = (
            "a runtime trip count"
            if trips is None
            else f"a runtime condition and a bound of {trips} iterations"
        )
        raise UnsupportedOperatorError(
            {
                f"{ctx.node.op_type} (scan outputs with {reason}: their length depends on "
                "the data)": [ctx.node.name or ctx.label]
            },
            opset=ctx.opset,
        )
    if trip is None and trips is None and cond is None:
        _clear(block)
        raise ctx.error("a loop without trip count or condition never ends")
    counted = bool(rows) and cond is not None
    if counted:  # rows of an early exit: a bounded stack plus the number of iterations run
        count_arg = block.insert_arg(relay.INDEX_TYPE, 2 + len(carried))
        one = _at(ctx, block, lambda: ctx.constant(np.array(1, np.int64)))
        carried = [*carried, _at(ctx, block, lambda: ctx.emit(relay.AddOp(it, one)))]
        inits = [*inits, ctx.constant(np.array(0, np.int64))]
        count_arg.name_hint = "count"
    block.add_op(relay.YieldOp(next_cond, *carried, *rows))
    _erase_dead(block)
    stacked = [relay.tensor_type((trips, *relay.shape_of(r)), relay.elt_of(r)) for r in rows]
    op = relay.LoopOp(trip, cond, inits, stacked, Region(block), trips if trip is None else None)
    op.verify()
    ctx.builder.insert(op)
    outs = list(op.outputs)
    if not counted:
        return outs
    count = outs.pop(len(carried) - 1)
    table = dynamic_values(ctx)
    return [
        *outs[: len(carried) - 1],
        *[table.mark(ctx, v, 0, count) for v in outs[len(carried) - 1 :]],
    ]


def _erase_dead(block: Block) -> None:
    for op in reversed(list(block.ops)[:-1]):
        if op.has_trait(Pure) and all(not r.uses for r in op.results):
            block.erase_op(op)


def run_loop(
    ctx: ConversionContext,
    graph: GraphProto,
    trip: SSAValue | None,
    cond: SSAValue | None,
    inits: list[SSAValue],
    bind: Binder,
    body_cond: bool,
) -> list[SSAValue]:
    """Unrolled when small and constant, else a ``relay.loop``: finals then stacked rows."""
    trips = None
    if trip is not None:
        trip = _scalar(ctx, trip, "the trip count", "int64")
        if ctx.is_constant(trip):
            trips = max(0, int(ctx.const_value(trip, "trip count").reshape(-1)[0]))
            trip = None
    if cond is not None:
        cond = _scalar(ctx, cond, "the condition", "bool")
        if ctx.is_constant(cond) and not bool(ctx.const_value(cond, "condition").reshape(-1)[0]):
            trips = 0
    if trips is not None and trips <= UNROLL_LIMIT and (cond is None or ctx.is_constant(cond)):
        out = _unroll(ctx, graph, trips, inits, bind, body_cond, cond is not None)
        if out is not None:
            return out
    return _loop(ctx, graph, trip, trips, cond, inits, bind, body_cond)


def convert_loop(
    ctx: ConversionContext, node: NodeProto, inputs: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    """``Loop(M, cond, v_initial...)``: the body reads outer-scope names directly."""
    body = attrs.get("body")
    if not isinstance(body, GraphProto) or len(inputs) < 2:
        raise ctx.error("Loop needs a body and the trip count and condition inputs")
    trip, cond, *inits = inputs
    if any(v is None for v in inits):
        raise ctx.error("loop-carried inputs must not be empty")
    values = [v for v in inits if v is not None]
    if trip is None and cond is None:
        raise ctx.error("a Loop without trip count or condition never ends")
    return run_loop(ctx, body, trip, cond, values, lambda i, c, s: [i, c, *s], body_cond=True)


for _v in (1, 11, 13, 16, 19, 21):
    converter("Loop", since=_v)(convert_loop)
