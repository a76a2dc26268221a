"""Lower one scheduled ``te.kernel`` to a ``tir.prim_func`` of loop nests.

Root stages are emitted in definition order, each as its leaf loops (outermost first);
stages attached with compute_at are emitted inside their consumer's loop, over the region
bound inference gives; inlined stages have no loops (their bodies are cloned into readers).

Ragged splits (factor not dividing the extent) need a bound: when the inner loop sits
directly under its outer loop its upper bound becomes ``min(f, E - o*f)``, otherwise (or
when the inner loop is vectorized/unrolled and should keep a constant trip count) the body
is guarded with ``scf.if parent < E``, placed as soon as the loops it depends on are open.

Reductions accumulate in a one-element local buffer when every reduction loop is inside
every spatial loop; otherwise (TVM's scheme) an init nest writes the identity to the
output region at the outermost reduction loop and the update nest combines into it.

Scratch buffers (root intermediates, compute_at regions, accumulators) go to the function
entry, or to the top of the innermost enclosing parallel or threadIdx loop so that every
iteration (thread) has its own copy; heap ones are freed at the end of that block.

GPU axes (``te.bind``) become ``tir.for kind(thread ...)`` loops; a stage nested inside a
loop of the same tag reuses its index (guarded when its extent is smaller). ``shared``
caches are allocated once at the kernel's top and loaded between two ``tir.barrier``s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from math import prod

from xdsl.dialects import memref, scf
from xdsl.dialects.builtin import AnyFloat, IndexType, IntegerType, MemRefType
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import te, tir
from xtvm.dialects.tir_gpu import BLOCK_TAGS, THREAD_TAGS
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.body import BodyCloner, Buffer, combine, constant, identity
from xtvm.lowering.te_to_tir.bounds import read_forms, region, var_bounds, var_range
from xtvm.lowering.te_to_tir.emit import Emitter, IVal, Scope
from xtvm.lowering.te_to_tir.schedule import (
    Fuse,
    IterVar,
    Schedule,
    Split,
    Stage,
    leaf_extents,
    split_factor,
)
from xtvm.lowering.te_to_tir.thread_reduce import emit_thread_reduce, has_thread_reduce
from xtvm.lowering.te_to_tir.threads import thread_loop

LOCAL_LIMIT = 64 * 1024


def elem_bytes(t: Attribute) -> int:
    if isinstance(t, IndexType):
        return 8
    if isinstance(t, IntegerType):
        return max(1, (t.width.data + 7) // 8)
    if isinstance(t, AnyFloat):
        return t.bitwidth // 8
    raise CompileError(f"unsupported element type {t}")


def memref_of(shape: tuple[int, ...], elem: Attribute) -> MemRefType:
    return MemRefType(elem, list(shape))


@dataclass
class Nest:
    """One emission of a stage's loops (a stage attached at a consumer gets region extents)."""

    stage: Stage
    ext: dict[IterVar, int]
    base: tuple[IVal, ...]
    base_max: tuple[int, ...]
    out: SSAValue
    min_ub: dict[IterVar, Split]
    guards: list[tuple[Split, frozenset[IterVar]]]
    first_reduce: int | None
    accumulate_in_scalar: bool
    relaxed: list[tuple[IVal, int]] | None = None
    """The region the whole GPU block covers (threadIdx loops around the stage free), where
    it differs from ``base``/``ext``: a ``shared`` cache attached inside holds all of it."""


@dataclass
class Ctx:
    bound: dict[IterVar, IVal] = field(default_factory=dict)
    done: frozenset[int] = frozenset()
    reducing: bool = False
    acc: SSAValue | None = None


def _leaves_under(v: IterVar) -> frozenset[IterVar]:
    rel = v.relation
    if rel is None:
        return frozenset({v})
    if isinstance(rel, Fuse):
        return _leaves_under(rel.fused)
    return _leaves_under(rel.outer) | _leaves_under(rel.inner)


class KernelLowering:
    """Builds the prim_func of one kernel: signature, buffers, then each root stage's nest."""

    def __init__(self, kernel: te.KernelOp, sched: Schedule):
        self.kernel = kernel
        self.sched = sched
        ins = [
            memref_of(tuple(p.result.type.get_shape()), p.result.type.element_type)
            for p in kernel.placeholders
        ]  # type: ignore[attr-defined]
        outs = [
            memref_of(tuple(v.type.get_shape()), v.type.element_type)
            for v in kernel.return_op.values
        ]  # type: ignore[attr-defined]
        self.func = tir.PrimFuncOp(kernel.sym_name.data, [*ins, *outs])
        block = self.func.block
        block.add_op(tir.ReturnOp())
        self.prologue = Scope(block)
        self.scope = self.prologue
        self.em = Emitter(self.prologue)
        self.em.ip = InsertPoint.before(block.last_op)  # type: ignore[arg-type]
        outer: dict[SSAValue, SSAValue] = {}
        for op in kernel.block.ops:
            if op.name.startswith("arith."):
                self.prologue.insert(op.clone(value_mapper=outer))
        self.buffers: dict[object, Buffer] = {}
        self.threads: dict[str, tuple[SSAValue, int]] = {}
        """GPU tags bound by the loops around the insertion point: tag -> (index, extent)."""
        self.cloner = BodyCloner(self.em, sched, self.buffers, outer)
        n_in = len(ins)
        for p, a in zip(kernel.placeholders, block.args):
            self.buffers[p.result] = Buffer(a, (0,) * len(a.type.get_shape()))  # type: ignore[attr-defined]
            a.name_hint = p.tensor_name.data
        self.out_args = list(block.args[n_in:])
        for k, a in enumerate(self.out_args):
            a.name_hint = "out" if len(self.out_args) == 1 else f"out{k}"

    # -- buffers -------------------------------------------------------------------------
    def alloc(
        self, shape: tuple[int, ...], elem: Attribute, name: str, gpu_scope: str | None = None
    ) -> SSAValue:
        nbytes = prod(shape) * elem_bytes(elem)
        small = nbytes <= LOCAL_LIMIT and gpu_scope != "heap"
        scope = "local" if small or gpu_scope == "local" else "heap"
        op = tir.AllocOp(memref_of(shape, elem), gpu_scope == "shared" and "shared" or scope)
        op.buffer.name_hint = name.replace(".", "_")
        if gpu_scope == "shared":  # one per block: at the kernel's top, outside thread loops
            self.prologue.insert(op)
            return op.buffer
        self.scope.insert(op)
        if scope == "heap":
            self.scope.frees.append(tir.FreeOp(op.buffer))
        return op.buffer

    def close_scope(self, scope: Scope) -> None:
        term = scope.block.last_op
        assert term is not None
        for f in scope.frees:
            Rewriter.insert_op(f, InsertPoint.before(term))

    # -- the kernel ------------------------------------------------------------------------
    def lower(self) -> tir.PrimFuncOp:
        outputs = list(self.kernel.return_op.values)
        home: dict[Stage, int] = {}
        for k, v in enumerate(outputs):
            st = self.sched.of_tensor.get(v)
            if st is not None and st not in home:
                home[st] = k
                self.buffers[st] = Buffer(self.out_args[k], (0,) * len(st.shape))
        gpu = any(v.thread is not None for st in self.sched.stages for v in st.leaves)
        for st in self.sched.stages:
            if st.attach == "root" and st not in home:
                self.buffers[st] = Buffer(  # between GPU launches: global memory ("heap")
                    self.alloc(st.shape, st.element_type, st.name, "heap" if gpu else st.scope),
                    (0,) * len(st.shape),
                )
        # GPU root stages without a grid are phases of one block: they meet at barriers (with
        # a grid, the code generator launches each phase on its own)
        one_block = gpu and not any(
            v.thread in BLOCK_TAGS for st in self.sched.stages for v in st.leaves
        )
        first = True
        for st in self.sched.stages:
            if st.attach == "root":
                if one_block and not first:
                    self.em.insert(tir.BarrierOp())
                self.emit_stage(st, None)
                first = False
        for k, v in enumerate(outputs):
            st = self.sched.of_tensor.get(v)
            src = self.buffers[st] if st is not None else self.buffers[v]
            if st is None or home[st] != k:
                self.copy(src.value, self.out_args[k])
        self.close_scope(self.prologue)
        return self.func

    def copy(self, src: SSAValue, dst: SSAValue) -> None:
        shape = tuple(dst.type.get_shape())  # type: ignore[attr-defined]
        ivs: list[SSAValue] = []
        with ExitStack() as stack:
            for d, e in enumerate(shape):
                loop = tir.ForOp(self.em.index(0), self.em.index(e), self.em.index(1))
                loop.induction_var.name_hint = f"i{d}"
                self.em.insert(loop)
                ivs.append(loop.induction_var)
                stack.enter_context(self.em.inside(loop.block))
            v = self.em.insert(memref.LoadOp.get(src, ivs)).results[0]
            self.em.insert(memref.StoreOp.get(v, dst, ivs))

    # -- one stage -------------------------------------------------------------------------
    def emit_stage(
        self,
        st: Stage,
        reg: list[tuple[IVal, int]] | None,
        relaxed: list[tuple[IVal, int]] | None = None,
    ) -> None:
        root_ext = tuple(e for _, e in reg) if reg is not None else st.shape
        base = tuple(s for s, _ in reg) if reg is not None else (0,) * len(st.shape)
        ext = leaf_extents(st, root_ext)
        pos = {v: n for n, v in enumerate(st.leaves)}
        min_ub: dict[IterVar, Split] = {}
        guards: list[tuple[Split, frozenset[IterVar]]] = []
        for rel in st.relations:
            if not isinstance(rel, Split) or ext[rel.parent] % split_factor(rel, ext) == 0:
                continue
            o, i = rel.outer, rel.inner
            if o in pos and i in pos and pos[o] < pos[i] and i.kind in ("serial", "parallel"):
                min_ub[i] = rel
            else:
                guards.append((rel, _leaves_under(rel.parent)))
        first_reduce = next((n for n, v in enumerate(st.leaves) if v.reduce), None)
        if st.reduce is not None and first_reduce is None:
            first_reduce = len(st.leaves)
        scalar = first_reduce is not None and all(v.reduce for v in st.leaves[first_reduce:])
        red = st.reduce
        if red is not None and red.result.uses.get_length() != 1:
            raise CompileError(f"stage '{st.name}': a te.reduce result may only be yielded")
        base_max = tuple(d - e for d, e in zip(st.shape, root_ext))  # starts are clamped
        nest = Nest(
            st,
            ext,
            base,
            base_max,
            self.buffers[st].value,
            min_ub,
            guards,
            first_reduce,
            scalar,
            relaxed,
        )
        self.loops(nest, 0, Ctx())

    def local_index(self, nest: Nest, ctx: Ctx) -> list[IVal]:
        return [var_range(self.em, v, ctx.bound, nest.ext)[0] for v in nest.stage.axes]

    def store_local(
        self, nest: Nest, value: SSAValue, ctx: Ctx, local: list[IVal] | None = None
    ) -> None:
        local = self.local_index(nest, ctx) if local is None else local
        idx = [self.em.index(i) for i in local]
        self.em.insert(memref.StoreOp.get(value, nest.out, idx))

    def loops(self, nest: Nest, pos: int, ctx: Ctx) -> None:
        st = nest.stage
        if pos == nest.first_reduce and not ctx.reducing and has_thread_reduce(nest, pos):
            emit_thread_reduce(self, nest, pos, ctx)
            return
        if pos == nest.first_reduce and not ctx.reducing:
            red = st.reduce
            assert red is not None
            ident = identity(red.kind.data, st.element_type)
            if nest.accumulate_in_scalar:
                acc = self.alloc((1,), st.element_type, st.name + "_acc")
                c0 = self.em.index(0)
                self.em.insert(memref.StoreOp.get(constant(self.em, ident), acc, [c0]))
                self.loops(nest, pos, replace(ctx, reducing=True, acc=acc))
                v = self.em.insert(memref.LoadOp.get(acc, [c0])).results[0]
                with ExitStack() as stack:
                    self.store_local(nest, v, self.guard(nest, ctx, stack, store=True))
                return
            self.init_nest(nest, st.leaves[pos:], ctx, ident)
            ctx = replace(ctx, reducing=True)
        if pos == len(st.leaves):
            with ExitStack() as stack:
                self.body(nest, self.guard(nest, ctx, stack, store=True))
            return
        leaf = st.leaves[pos]

        def inner(c: Ctx) -> None:
            attached = self.sched.attached_at(leaf)
            for p in attached:
                self.emit_attached(p, nest, c)
            shared = any(p.scope == "shared" for p in attached)
            if shared:  # the tile is complete before any thread reads it
                self.em.insert(tir.BarrierOp())
            self.loops(nest, pos + 1, c)
            if shared and leaf.thread not in BLOCK_TAGS:  # read before the next reload
                self.em.insert(tir.BarrierOp())

        self.loop(nest, leaf, ctx, inner)

    def loop(self, nest: Nest, leaf: IterVar, ctx: Ctx, inner: Callable[[Ctx], None]) -> None:
        if leaf.thread is not None:
            thread_loop(self, nest, leaf, ctx, inner)
            return
        em = self.em
        ub: IVal = nest.ext[leaf]
        rel = nest.min_ub.get(leaf)
        if rel is None and ub == 1:
            with ExitStack() as stack:
                c = replace(ctx, bound={**ctx.bound, leaf: 0})
                inner(self.guard(nest, c, stack))
            return
        if rel is not None:
            f = split_factor(rel, nest.ext)
            ub = em.min(f, em.sub(nest.ext[rel.parent], em.mul(ctx.bound[rel.outer], f)))
        loop = tir.ForOp(em.index(0), em.index(ub), em.index(1), leaf.kind)
        loop.induction_var.name_hint = leaf.name
        em.insert(loop)
        saved = self.scope
        if leaf.kind == "parallel":  # scratch inside it is private to each iteration
            self.scope = Scope(loop.block)
        with em.inside(loop.block), ExitStack() as stack:
            c = replace(ctx, bound={**ctx.bound, leaf: loop.induction_var})
            c = self.guard(nest, c, stack)
            inner(c)
        if self.scope is not saved:
            self.close_scope(self.scope)
            self.scope = saved

    def guard(self, nest: Nest, ctx: Ctx, stack: ExitStack, store: bool = False) -> Ctx:
        """Open the ragged-split guards whose loops are bound. One over a GPU thread axis
        waits for a store (``store``): the threads past the edge still reach the barriers
        of the stages computed inside (their clamped regions stay in bounds)."""
        done = set(ctx.done)
        for n, (rel, deps) in enumerate(nest.guards):
            if n in done or not deps <= ctx.bound.keys():
                continue
            if not store and any(v.thread is not None for v in deps):
                continue
            done.add(n)
            val = var_range(self.em, rel.parent, ctx.bound, nest.ext)[0]
            cond = self.em.lt(val, nest.ext[rel.parent])
            if_op = scf.IfOp(cond, [], Region(Block([scf.YieldOp()])))
            self.em.insert(if_op)
            stack.enter_context(self.em.inside(if_op.true_region.block))
        return replace(ctx, done=frozenset(done))

    def init_nest(self, nest: Nest, leaves: list[IterVar], ctx: Ctx, ident: Attribute) -> None:
        spatial = [v for v in leaves if not v.reduce]

        def go(k: int, c: Ctx) -> None:
            if k == len(spatial):
                with ExitStack() as stack:
                    c = self.guard(nest, c, stack, store=True)
                    self.store_local(nest, constant(self.em, ident), c)
                return
            self.loop(nest, spatial[k], c, lambda c2: go(k + 1, c2))

        go(0, ctx)

    def body(self, nest: Nest, ctx: Ctx) -> None:
        st, em = nest.stage, self.em
        local = self.local_index(nest, ctx)
        glob = [em.index(em.add(b, t)) for b, t in zip(nest.base, local)]
        if st.source is not None:
            value = self.cloner.load(self.buffers[st.source], list(glob))
            self.store_local(nest, value, ctx, local)
            return
        c = st.compute
        assert c is not None
        mapping = self.cloner.mapping(c.block.args, glob)
        value = self.cloner.clone_block(c.block, mapping)
        red = c.reduce
        if red is None:
            self.store_local(nest, value, ctx, local)
            return
        rvals = [em.index(var_range(em, r, ctx.bound, nest.ext)[0]) for r in st.reduce_axes]
        mapping.update(zip(red.block.args, rvals))
        value = self.cloner.clone_block(red.block, mapping)
        kind = red.kind.data
        if ctx.acc is not None:
            c0 = em.index(0)
            cur = em.insert(memref.LoadOp.get(ctx.acc, [c0])).results[0]
            em.insert(memref.StoreOp.get(combine(em, kind, cur, value), ctx.acc, [c0]))
            return
        idx = [em.index(i) for i in local]
        cur = em.insert(memref.LoadOp.get(nest.out, idx)).results[0]
        em.insert(memref.StoreOp.get(combine(em, kind, cur, value), nest.out, idx))

    def emit_attached(self, p: Stage, consumer: Nest, ctx: Ctx) -> None:
        relaxed = None
        if any(t in THREAD_TAGS for t in self.threads):  # inside a GPU block's threads
            block_bound = {v: i for v, i in ctx.bound.items() if v.thread not in THREAD_TAGS}
            relaxed = self.attached_region(p, consumer, block_bound, relax=True)
        if p.scope == "shared" and relaxed is not None:
            reg, relaxed = relaxed, None
        else:
            reg = self.attached_region(p, consumer, ctx.bound)
        shape = tuple(e for _, e in reg)
        buf = self.alloc(shape, p.element_type, p.name, p.scope)
        self.buffers[p] = Buffer(buf, tuple(s for s, _ in reg))
        self.emit_stage(p, reg, relaxed)

    def attached_region(
        self, p: Stage, consumer: Nest, bound: dict[IterVar, IVal], relax: bool = False
    ) -> list[tuple[IVal, int]]:
        """The region of ``p`` the consumer reads with the ``bound`` leaves fixed; with
        ``relax``, the consumer's own region is the one of its whole GPU block."""
        em, c = self.em, consumer.stage
        ranges: dict[IterVar, tuple[IVal, int, int]] = {}
        for d, v in enumerate(c.axes):
            lo, e, m = var_bounds(em, v, bound, consumer.ext)
            base, base_max = consumer.base[d], consumer.base_max[d]
            if relax and consumer.relaxed is not None:
                r_base, r_ext = consumer.relaxed[d]
                if r_ext != consumer.ext[v] and e != consumer.ext[v]:
                    raise CompileError(
                        f"stage '{p.name}': the block-wide region of '{c.name}' is not known "
                        "where it is attached (bind its threads outside the attach point)"
                    )
                if r_ext != consumer.ext[v]:  # the whole thread-dependent axis
                    lo, e, m = 0, r_ext, 0
                base, base_max = r_base, c.shape[d] - r_ext
            ranges[v] = (em.add(base, lo), e, base_max + m)
        for v in c.reduce_axes:
            ranges[v] = var_bounds(em, v, bound, consumer.ext)
        forms = read_forms(c, p, self.sched.of_tensor, clamps=relax)  # relax: GPU only
        return region(em, forms, p.shape, ranges)


def lower_kernel(kernel: te.KernelOp, sched: Schedule) -> tir.PrimFuncOp:
    return KernelLowering(kernel, sched).lower()
