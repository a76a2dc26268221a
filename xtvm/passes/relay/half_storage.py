"""``relay-half-storage``: tensors that are half-precision values pass between kernels as halves.

Expects: relay after ``relay-fuse-ops``. The frontend computes float16/bfloat16 models in
float32 and rounds with ``cast(cast(x, f16), f32)`` (frontend/onnx/half.py); fusion puts both
casts in the producing group, so the rounded value would be stored as float32.
Guarantees: a group output that is such a widening ``cast(h : f16|bf16) -> f32``, and whose
every user is another ``relay.fused`` group, is yielded as ``h`` instead; each user widens it
on entry. Same numbers (widening is exact), half the bytes in the workspace and half the
memory traffic between kernels. Other outputs are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import BFloat16Type, Float16Type, ModuleOp, TensorType, f32
from xdsl.ir import Block, BlockArgument, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.relay import CastOp, FusedOp, YieldOp, elt_of
from xtvm.passes.registry import register_pass


def _half_source(v: SSAValue) -> SSAValue | None:
    """``h`` when ``v`` is ``cast(h)`` widening a half tensor to float32."""
    op = v.owner
    if not isinstance(op, CastOp) or elt_of(v) != f32:
        return None
    if not isinstance(elt_of(op.input), Float16Type | BFloat16Type):
        return None
    return op.input


def _widen_argument(block: Block, arg: BlockArgument, half: TensorType) -> None:
    """Retype a group input to ``half`` and widen it to float32 first thing in the group."""
    new = block.insert_arg(half, arg.index)
    new.name_hint = arg.name_hint
    cast = CastOp(new, f32)
    Rewriter.insert_op(cast, InsertPoint.at_start(block))
    arg.replace_all_uses_with(cast.result)
    block.erase_arg(arg)


def _narrow(group: FusedOp) -> bool:
    """Narrow the group's eligible outputs; True if anything changed."""
    term = group.block.last_op
    assert isinstance(term, YieldOp)
    values = list(term.values)
    narrowed: list[int] = []
    for i, (v, res) in enumerate(zip(values, group.outputs)):
        half = _half_source(v)
        if half is None or not res.uses:
            continue
        if any(not isinstance(u.operation, FusedOp) for u in res.uses):
            continue
        values[i] = half
        narrowed.append(i)
    if not narrowed:
        return False
    body = group.detach_region(group.body)
    term = body.block.last_op
    assert isinstance(term, YieldOp)
    old_casts = [term.values[i].owner for i in narrowed]
    Rewriter.replace_op(term, YieldOp(*values))
    for cast in old_casts:
        if not cast.results[0].uses:
            Rewriter.erase_op(cast)
    new = FusedOp(group.kernel_name.data, list(group.inputs), [v.type for v in values], body)
    new.attributes.update(group.attributes)
    Rewriter.insert_op(new, InsertPoint.before(group))
    for i, (old, res) in enumerate(zip(group.outputs, new.outputs)):
        res.name_hint = old.name_hint
        if i in narrowed:
            for use in list(old.uses):
                user = use.operation
                assert isinstance(user, FusedOp)
                user.operands[use.index] = res
                arg = user.block.args[use.index]
                assert isinstance(res.type, TensorType)
                _widen_argument(user.block, arg, res.type)
        else:
            old.replace_all_uses_with(res)
    Rewriter.erase_op(group)
    return True


@register_pass
@dataclass(frozen=True)
class RelayHalfStoragePass(ModulePass):
    """Store half-precision intermediates between kernels as halves (module docstring)."""

    name = "relay-half-storage"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        groups = [g for g in op.walk() if isinstance(g, FusedOp)]
        for group in groups:
            _narrow(group)
