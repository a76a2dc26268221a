"""Control flow: ONNX ``If`` -> ``relay.if`` (or the taken branch, when the condition is known).

A condition that is a constant at import time (an initializer, a Constant node, or a shape
comparison the context folded) inlines the taken branch: the other one is never converted,
so it may even be ill-typed at the bound shapes. A runtime condition converts both branches
into the regions of a ``relay.if``; their outputs must have the same static types, since
xtvm compiles static shapes. A runtime branch that cannot be built at the bound shapes (Silero
VAD's 8 kHz branch given a 16 kHz chunk, which onnxruntime rejects when it runs it too) becomes
``cf.assert false`` yielding ``tensor.empty`` placeholders, with a warning: the entry returns
an error status if it is taken.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from onnx import GraphProto, NodeProto
from xdsl.builder import Builder
from xdsl.dialects import arith, cf, tensor
from xdsl.dialects.builtin import IntegerAttr, i1
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.rewriter import InsertPoint
from xdsl.traits import Pure

from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.registry import converter


def _branch(ctx: ConversionContext, graph: GraphProto, block: Block | None) -> list[SSAValue]:
    """Convert ``graph`` at the end of ``block`` (None: at the current insertion point)."""
    if ctx.convert_subgraph is None:
        raise ctx.error("subgraphs cannot be converted in this context")
    if block is None:
        return ctx.convert_subgraph(graph)
    saved = ctx.builder
    ctx.builder = Builder(InsertPoint.at_end(block))
    try:
        return ctx.convert_subgraph(graph)
    finally:
        ctx.builder = saved


@converter("If", since=1)
def convert_if(
    ctx: ConversionContext, node: NodeProto, inputs: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    """``If(cond) then_branch else_branch``; outer-scope names are read directly."""
    cond = inputs[0]
    then_g, else_g = attrs.get("then_branch"), attrs.get("else_branch")
    if cond is None or not isinstance(then_g, GraphProto) or not isinstance(else_g, GraphProto):
        raise ctx.error("If needs a condition and both then_branch and else_branch")
    label = ctx.label
    if ctx.is_constant(cond):
        value = ctx.const_value(cond, "condition")
        if value.size != 1:
            raise ctx.error(f"the condition must have one element, got shape {list(value.shape)}")
        taken = then_g if bool(np.asarray(value).reshape(-1)[0]) else else_g
        return _branch(ctx, taken, None)

    t = relay.shape_of(cond)
    if relay.elt_of(cond) != relay.element_type_of("bool") or int(np.prod(t)) != 1:
        raise ctx.error(f"the condition must be a one-element bool tensor, got {cond.type}")
    then_block, else_block = Block(), Block()
    then_out = _try_branch(ctx, then_g, then_block)
    else_out = _try_branch(ctx, else_g, else_block)
    if isinstance(then_out, ModelError) and isinstance(else_out, ModelError):
        raise then_out
    if isinstance(then_out, ModelError) or isinstance(else_out, ModelError):
        bad, good_out = (
            ("then_branch", else_out)
            if isinstance(then_out, ModelError)
            else ("else_branch", then_out)
        )
        err = then_out if isinstance(then_out, ModelError) else else_out
        assert isinstance(good_out, list) and isinstance(err, ModelError)
        warnings.warn(
            f"{label}: {bad} cannot be compiled at the bound input shapes ({err}); taking it "
            "at run time is an error (status 2)",
            stacklevel=2,
        )
        failing = then_block if bad == "then_branch" else else_block
        fallback = abort_branch(failing, [v.type for v in good_out], f"{label}: {bad} taken")
        then_out, else_out = (fallback, good_out) if bad == "then_branch" else (good_out, fallback)
    assert isinstance(then_out, list) and isinstance(else_out, list)
    if len(then_out) != len(else_out):
        raise ctx.error(
            f"the branches have {len(then_out)} and {len(else_out)} outputs; they must agree"
        )
    for k, (a, b) in enumerate(zip(then_out, else_out)):
        if a.type != b.type:
            raise ModelError(
                f"{label}: output {k} is {a.type} in then_branch but {b.type} in else_branch; "
                "xtvm compiles static shapes, so both branches must give the same shape and "
                "element type at the bound input shapes"
            )
    for block, outs in ((then_block, then_out), (else_block, else_out)):
        block.add_op(relay.YieldOp(*outs))
        _erase_dead(block)
    op = relay.IfOp(cond, [v.type for v in then_out], Region(then_block), Region(else_block))
    op.verify()
    ctx.builder.insert(op)
    return list(op.outputs)


def _try_branch(
    ctx: ConversionContext, graph: GraphProto, block: Block
) -> list[SSAValue] | ModelError:
    """The branch's outputs, or the error converting it (``block`` is then left empty)."""
    try:
        return _branch(ctx, graph, block)
    except ModelError as e:
        for op in reversed(list(block.ops)):
            block.erase_op(op, safe_erase=False)
        return e


def abort_branch(block: Block, types: Sequence[Attribute], message: str) -> list[SSAValue]:
    """Fill ``block`` with a branch that cannot be built: ``cf.assert false`` (the entry
    returns an error status when it runs) and ``tensor.empty`` placeholders of ``types``."""
    false = arith.ConstantOp(IntegerAttr(0, i1), i1)
    block.add_ops([false, cf.AssertOp(false.result, message)])
    empties = [tensor.EmptyOp([], t) for t in types]
    block.add_ops(empties)
    return [e.tensor for e in empties]


def _erase_dead(block: Block) -> None:
    """Drop ops whose results nothing uses (shape chains read at import time); the
    terminator has no results but stays."""
    for op in reversed(list(block.ops)[:-1]):
        if op.has_trait(Pure) and all(not r.uses for r in op.results):
            block.erase_op(op)
