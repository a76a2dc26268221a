"""GPU thread axes in the te -> tir lowering: a bound leaf becomes a ``kind(thread)`` loop.

Scratch allocated inside a ``threadIdx`` loop is per thread (the loop body gets its own
scope); a stage nested inside a loop that already binds the tag reuses that loop's index,
and threads past a smaller extent skip it (an ``scf.if``), so the tag never nests in itself.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from typing import TYPE_CHECKING

from xdsl.dialects import scf
from xdsl.ir import Block, Region

from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import BLOCK_TAGS
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.emit import Scope

if TYPE_CHECKING:
    from xtvm.lowering.te_to_tir.kernel import Ctx, KernelLowering, Nest
    from xtvm.lowering.te_to_tir.schedule import IterVar


def thread_loop(
    kl: KernelLowering, nest: Nest, leaf: IterVar, ctx: Ctx, inner: Callable[[Ctx], None]
) -> None:
    """A GPU axis: a new ``kind(thread)`` loop, or the index of the enclosing loop that
    already binds the tag (threads past this stage's extent skip it)."""
    tag, ext, em = leaf.thread, nest.ext[leaf], kl.em
    assert tag is not None
    outer = kl.threads.get(tag)
    if outer is not None:
        iv, outer_ext = outer
        if ext > outer_ext:
            raise CompileError(
                f"stage '{nest.stage.name}': {tag} extent {ext} exceeds the enclosing "
                f"{tag} loop's {outer_ext}"
            )
        with ExitStack() as stack:
            if ext < outer_ext:
                if_op = scf.IfOp(em.lt(iv, ext), [], Region(Block([scf.YieldOp()])))
                em.insert(if_op)
                stack.enter_context(em.inside(if_op.true_region.block))
            c = replace(ctx, bound={**ctx.bound, leaf: iv})
            inner(kl.guard(nest, c, stack))
        return
    loop = tir.ForOp(em.index(0), em.index(ext), em.index(1), "thread", thread=tag)
    loop.induction_var.name_hint = tag.replace(".", "_")
    em.insert(loop)
    saved = kl.scope
    if tag not in BLOCK_TAGS:  # scratch inside it is per thread
        kl.scope = Scope(loop.block)
    kl.threads[tag] = (loop.induction_var, ext)
    try:
        with em.inside(loop.block), ExitStack() as stack:
            c = replace(ctx, bound={**ctx.bound, leaf: loop.induction_var})
            inner(kl.guard(nest, c, stack))
    finally:
        del kl.threads[tag]
    if kl.scope is not saved:
        kl.close_scope(kl.scope)
        kl.scope = saved
