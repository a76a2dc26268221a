"""A reduction across the threads of a GPU block (a reduction axis bound to ``threadIdx.x``).

Each thread folds its share of the reduction (the other reduction loops, e.g. every T-th
element of a row) into a register, writes it to a shared array, and the block combines the
array in a tree of halving strides, a barrier after each step; thread 0 stores the result.
Every thread reaches every barrier: the tree's steps are guarded inside, not around them.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from typing import TYPE_CHECKING

from xdsl.dialects import arith, memref, scf
from xdsl.ir import Block, Region, SSAValue

from xtvm.dialects import tir
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.body import combine, constant, identity

if TYPE_CHECKING:
    from xtvm.lowering.te_to_tir.kernel import Ctx, KernelLowering, Nest


def has_thread_reduce(nest: Nest, pos: int) -> bool:
    return any(v.reduce and v.thread is not None for v in nest.stage.leaves[pos:])


def emit_thread_reduce(kl: KernelLowering, nest: Nest, pos: int, ctx: Ctx) -> None:
    """The reduction loops ``leaves[pos:]`` of ``nest``, the first bound to ``threadIdx.x``."""
    st, em = nest.stage, kl.em
    leaves = st.leaves[pos:]
    t_leaf = leaves[0]
    if t_leaf.thread != "threadIdx.x" or any(
        not v.reduce or v.thread is not None for v in leaves[1:]
    ):
        raise CompileError(
            f"stage '{st.name}': a cross-thread reduction needs its threadIdx.x reduction "
            "axis outermost among its reduction loops, and no other loop bound inside"
        )
    red = st.reduce
    assert red is not None
    kind, elem = red.kind.data, st.element_type
    n = nest.ext[t_leaf]
    shared = kl.alloc((n,), elem, st.name + "_red", "shared")

    def in_thread(c: Ctx) -> None:
        t = c.bound[t_leaf]
        assert isinstance(t, SSAValue)
        acc = kl.alloc((1,), elem, st.name + "_acc")
        c0 = em.index(0)
        em.insert(memref.StoreOp.get(constant(em, identity(kind, elem)), acc, [c0]))
        kl.loops(nest, pos + 1, replace(c, reducing=True, acc=acc))
        part = em.insert(memref.LoadOp.get(acc, [c0])).results[0]
        em.insert(memref.StoreOp.get(part, shared, [t]))
        em.insert(tir.BarrierOp())
        stride = 1
        while stride < n:
            stride *= 2
        stride //= 2
        while stride >= 1:
            active = em.lt(t, stride)
            if stride * 2 > n:  # the partner t + stride may be past the end
                active = em.insert(arith.AndIOp(active, em.lt(em.add(t, stride), n))).result
            with _if(kl, active):
                a = em.insert(memref.LoadOp.get(shared, [t])).results[0]
                other = em.index(em.add(t, stride))
                b = em.insert(memref.LoadOp.get(shared, [other])).results[0]
                em.insert(memref.StoreOp.get(combine(em, kind, a, b), shared, [t]))
            em.insert(tir.BarrierOp())
            stride //= 2
        with _if(kl, em.lt(t, 1)), ExitStack() as stack:
            total = em.insert(memref.LoadOp.get(shared, [c0])).results[0]
            kl.store_local(nest, total, kl.guard(nest, c, stack, store=True))

    kl.loop(nest, t_leaf, ctx, in_thread)


class _if:
    """Emit into a new ``scf.if cond`` (no results) for the ``with`` body."""

    def __init__(self, kl: KernelLowering, cond: SSAValue):
        self.kl, self.op = kl, scf.IfOp(cond, [], Region(Block([scf.YieldOp()])))

    def __enter__(self) -> None:
        self.kl.em.insert(self.op)
        self._ctx = self.kl.em.inside(self.op.true_region.block)
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
