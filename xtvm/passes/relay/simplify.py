"""``relay-simplify``: remove relay ops that do nothing and merge chains of layout ops.

Expects: relay in ``func.func`` bodies (any stage; ``relay.fused`` groups may be present).
Guarantees (top level of function bodies only; ``relay.fused`` regions are untouched):

- ``reshape`` / ``flatten`` whose result type equals its input type is gone;
- ``reshape``/``flatten`` of ``reshape``/``flatten`` is one ``reshape`` of the first input;
- ``transpose`` with the identity permutation is gone; ``transpose`` of ``transpose`` is one
  ``transpose`` with the composed permutation (or nothing when that is the identity);
- ``x * 1``, ``1 * x``, ``x / 1``, ``x + 0``, ``0 + x``, ``x - 0`` become ``x`` when the other
  operand is a ``relay.constant`` of all ones / zeros whose broadcast leaves ``x``'s type
  unchanged (a broadcasting one is a real op and stays);
- ``clip`` with ``a_min <= -FLT_MAX`` and ``a_max >= FLT_MAX`` is gone;
- ``relu(relu(x))`` is ``relu(x)``; ``maximum(x, 0)`` / ``maximum(0, x)`` with a zero
  constant that does not broadcast ``x`` is ``relu(x)`` (floating point only);
- ``concatenate`` of a single tensor is gone;
- relay ops left without uses are erased.

Patterns compose: the walker runs them to a fixed point, so ``reshape(reshape(x))`` back to
``x``'s shape or ``transpose`` pairs that cancel disappear completely.

Extension points, for relay ops that do not exist yet: ``cast`` to the same dtype,
inference-mode ``dropout``, ``identity``/``copy``, ``squeeze``/``expand_dims`` chains (merge
like reshapes), ``strided_slice`` covering the whole tensor, ``pad`` with all-zero pads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import AnyFloat, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from xtvm.dialects import relay
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.rewrite_utils import EraseDeadRelayOp, constant_array, inside_fused

FLT_MAX = float(np.finfo(np.float32).max)


def _forward(rewriter: PatternRewriter, op: Operation, value: SSAValue) -> None:
    """Replace ``op`` by an existing value of the very same type."""
    rewriter.replace(op, [], [value])


def _is_splat(value: SSAValue, scalar: float) -> bool:
    """True when ``value`` is a ``relay.constant`` whose every element equals ``scalar``."""
    arr = constant_array(value)
    return arr is not None and arr.size > 0 and bool(np.all(arr == scalar))


class RemoveNoOpReshape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(
        self, op: relay.ReshapeOp | relay.FlattenOp, rewriter: PatternRewriter
    ) -> None:
        if not inside_fused(op) and op.result.type == op.data.type:
            _forward(rewriter, op, op.data)


class MergeReshapes(RewritePattern):
    """A reshape-like op of a reshape-like op only depends on the first input's data order."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self, op: relay.ReshapeOp | relay.FlattenOp, rewriter: PatternRewriter
    ) -> None:
        inner = op.data.owner
        if inside_fused(op) or not isinstance(inner, (relay.ReshapeOp, relay.FlattenOp)):
            return
        rewriter.replace(op, relay.ReshapeOp(inner.data, relay.shape_of(op.result)))


class SimplifyTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.TransposeOp, rewriter: PatternRewriter) -> None:
        if inside_fused(op):
            return
        perm = op.perm
        if perm == tuple(range(len(perm))):
            _forward(rewriter, op, op.data)
            return
        inner = op.data.owner
        if isinstance(inner, relay.TransposeOp):
            # result dim i = inner result dim perm[i] = input dim inner.perm[perm[i]]
            composed = [inner.perm[p] for p in perm]
            rewriter.replace(op, relay.TransposeOp(inner.data, composed))


# (op class, which operand may be the neutral constant, the neutral value)
_IDENTITIES: tuple[tuple[type[relay.BinaryOp], tuple[int, ...], float], ...] = (
    (relay.MultiplyOp, (0, 1), 1.0),
    (relay.DivideOp, (1,), 1.0),
    (relay.AddOp, (0, 1), 0.0),
    (relay.SubtractOp, (1,), 0.0),
)


class RemoveNeutralOperand(RewritePattern):
    """``x op neutral`` is ``x`` unless the neutral constant broadcasts ``x`` to a new shape."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.BinaryOp, rewriter: PatternRewriter) -> None:
        if inside_fused(op):
            return
        for kind, positions, neutral in _IDENTITIES:
            if type(op) is not kind:
                continue
            for pos in positions:
                const, other = op.operands[pos], op.operands[1 - pos]
                if other.type == op.result.type and _is_splat(const, neutral):
                    _forward(rewriter, op, other)
                    return


class RemoveNoOpClip(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.ClipOp, rewriter: PatternRewriter) -> None:
        if inside_fused(op):
            return
        if op.a_min.value.data <= -FLT_MAX and op.a_max.value.data >= FLT_MAX:
            _forward(rewriter, op, op.input)


class MergeRelu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.ReluOp, rewriter: PatternRewriter) -> None:
        if not inside_fused(op) and isinstance(op.input.owner, relay.ReluOp):
            _forward(rewriter, op, op.input)


class MaximumZeroToRelu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.MaximumOp, rewriter: PatternRewriter) -> None:
        if inside_fused(op) or not isinstance(relay.elt_of(op.result), AnyFloat):
            return
        for pos in (0, 1):
            const, other = op.operands[pos], op.operands[1 - pos]
            if other.type == op.result.type and _is_splat(const, 0.0):
                rewriter.replace(op, relay.ReluOp(other))
                return


class RemoveSingleConcatenate(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: relay.ConcatenateOp, rewriter: PatternRewriter) -> None:
        if not inside_fused(op) and len(op.inputs) == 1:
            _forward(rewriter, op, op.inputs[0])


SIMPLIFY_PATTERNS: tuple[type[RewritePattern], ...] = (
    EraseDeadRelayOp,
    RemoveNoOpReshape,
    MergeReshapes,
    SimplifyTranspose,
    RemoveNeutralOperand,
    RemoveNoOpClip,
    MergeRelu,
    MaximumZeroToRelu,
    RemoveSingleConcatenate,
)


@register_pass
@dataclass(frozen=True)
class RelaySimplifyPass(ModulePass):
    """Remove no-op relay ops and merge layout-op chains (see the module docstring)."""

    name = "relay-simplify"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        applier = GreedyRewritePatternApplier([p() for p in SIMPLIFY_PATTERNS], dce_enabled=False)
        PatternRewriteWalker(applier).rewrite_module(op)
