"""Random legal schedules never change what a kernel computes.

Hypothesis draws a small compute definition (an elementwise chain, a matmul-like reduction
with an optional consumer, or a 2-D stencil over a zero-padded input) and a random legal
schedule (splits with any factor, tiles, fuses of adjacent axes, reorders, parallel /
vectorize / unroll, compute_inline of elementwise producers, compute_at, cache_write,
cache_read of inputs, staged at the root or inside their reader's loops); the
lowered tir (half the time after tir-simplify, tir-loop-partition, tir-unroll
and tir-storage-rewrite) runs in
the interpreter and must match numpy. Inputs are small integers so
every reduction order gives the same float result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser

from xtvm.backends.interpreter import run_prim_func
from xtvm.context import make_context
from xtvm.lowering.te_to_tir.convert import ConvertTeToTirPass
from xtvm.passes.tir.loop_partition import TirLoopPartitionPass
from xtvm.passes.tir.simplify import TirSimplifyPass
from xtvm.passes.tir.storage_rewrite import TirStorageRewritePass
from xtvm.passes.tir.unroll import TirUnrollPass


def ttype(shape: tuple[int, ...]) -> str:
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


@dataclass
class StageDef:
    name: str
    shape: tuple[int, ...]
    body: str  # block body text using %i0.. (spatial) and, for reductions, %r0..
    reduce: tuple[str, tuple[int, ...]] | None = None
    elementwise: bool = True  # inlinable
    readers: list[str] = field(default_factory=list)

    def text(self) -> str:
        args = ", ".join(f"%i{d}: index" for d in range(len(self.shape)))
        t = ttype(self.shape)
        if self.reduce is None:
            return (
                f'%{self.name} = te.compute "{self.name}" : {t} {{\n^bb0({args}):\n{self.body}\n}}'
            )
        kind, ext = self.reduce
        rargs = ", ".join(f"%r{d}: index" for d in range(len(ext)))
        exts = ", ".join(map(str, ext))
        return (
            f'%{self.name} = te.compute "{self.name}" : {t} {{\n^bb0({args}):\n'
            f'%acc = te.reduce "{kind}" [{exts}] : f32 {{\n^bb1({rargs}):\n{self.body}\n}}\n'
            f"te.yield %acc : f32\n}}"
        )


@dataclass
class Problem:
    inputs: list[tuple[str, tuple[int, ...]]]
    stages: list[StageDef]
    output: str
    reference: Callable[..., np.ndarray]


BINOPS = {"addf": np.add, "subf": np.subtract, "mulf": np.multiply, "maximumf": np.maximum}


@st.composite
def chain(draw) -> Problem:
    m, n = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    ops = draw(st.lists(st.sampled_from(sorted(BINOPS)), min_size=1, max_size=5))
    stages, prev, others = [], "A", []
    for k, op in enumerate(ops):
        other = draw(st.sampled_from(["A", "B"]))
        others.append(other)
        body = (
            f"%x = te.read %{prev}[%i0, %i1] : {ttype((m, n))}\n"
            f"%y = te.read %{other}[%i0, %i1] : {ttype((m, n))}\n"
            f"%z = arith.{op} %x, %y : f32\nte.yield %z : f32"
        )
        stages.append(StageDef(f"S{k}", (m, n), body))
        prev = f"S{k}"

    def ref(a, b):
        v = a
        for op, other in zip(ops, others):
            v = BINOPS[op](v, a if other == "A" else b)
        return v

    return Problem([("A", (m, n)), ("B", (m, n))], stages, prev, ref)


@st.composite
def matmul(draw) -> Problem:
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 6))
    kind = draw(st.sampled_from(["sum", "max"]))
    body = (
        f"%a = te.read %A[%i0, %r0] : {ttype((m, k))}\n%b = te.read %B[%r0, %i1] : {ttype((k, n))}\n"
        "%p = arith.mulf %a, %b : f32\nte.yield %p : f32"
    )
    stages = [StageDef("C", (m, n), body, (kind, (k,)), elementwise=False)]
    relu = draw(st.booleans())
    if relu:
        stages.append(
            StageDef(
                "R",
                (m, n),
                f"%c = te.read %C[%i0, %i1] : {ttype((m, n))}\n%z = arith.constant 0.0 : f32\n"
                "%r = arith.maximumf %c, %z : f32\nte.yield %r : f32",
            )
        )

    def ref(a, b):
        prod = a[:, :, None] * b[None]
        c = prod.sum(1) if kind == "sum" else prod.max(1)
        return np.maximum(c, 0) if relu else c

    return Problem([("A", (m, k)), ("B", (k, n))], stages, "R" if relu else "C", ref)


@st.composite
def stencil(draw) -> Problem:
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    tp, tx = ttype((h + 2, w + 2)), ttype((h, w))
    pad = (
        f"%c1 = arith.constant 1 : index\n%c0 = arith.constant 0 : index\n"
        f"%ch = arith.constant {h - 1} : index\n%cw = arith.constant {w - 1} : index\n"
        "%im = arith.subi %i0, %c1 : index\n%jm = arith.subi %i1, %c1 : index\n"
        "%ia = arith.maxsi %im, %c0 : index\n%ib = arith.minsi %ia, %ch : index\n"
        "%ja = arith.maxsi %jm, %c0 : index\n%jb = arith.minsi %ja, %cw : index\n"
        f"%v = te.read %X[%ib, %jb] : {tx}\n%ei = arith.cmpi eq, %ib, %im : index\n"
        "%ej = arith.cmpi eq, %jb, %jm : index\n%in = arith.andi %ei, %ej : i1\n"
        "%z = arith.constant 0.0 : f32\n%r = arith.select %in, %v, %z : f32\nte.yield %r : f32"
    )
    stages = [StageDef("P", (h + 2, w + 2), pad)]
    if draw(st.booleans()):  # 3x3 window sum as a reduction
        body = (
            "%a = arith.addi %i0, %r0 : index\n%b = arith.addi %i1, %r1 : index\n"
            f"%v = te.read %P[%a, %b] : {tp}\nte.yield %v : f32"
        )
        stages.append(StageDef("S", (h, w), body, ("sum", (3, 3)), elementwise=False))
        offsets = [(di, dj, 1) for di in range(3) for dj in range(3)]
    else:  # 5-point stencil as an elementwise compute
        offsets = [(0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, -4)]
        lines = ["%c0 = arith.constant 0 : index", "%c1 = arith.constant 1 : index"]
        lines += ["%c2 = arith.constant 2 : index", "%acc0 = arith.constant 0.0 : f32"]
        for n, (di, dj, c) in enumerate(offsets):
            lines += [
                f"%a{n} = arith.addi %i0, %c{di} : index",
                f"%b{n} = arith.addi %i1, %c{dj} : index",
            ]
            lines += [
                f"%v{n} = te.read %P[%a{n}, %b{n}] : {tp}",
                f"%k{n} = arith.constant {c}.0 : f32",
            ]
            lines += [
                f"%m{n} = arith.mulf %v{n}, %k{n} : f32",
                f"%acc{n + 1} = arith.addf %acc{n}, %m{n} : f32",
            ]
        lines.append(f"te.yield %acc{len(offsets)} : f32")
        stages.append(StageDef("S", (h, w), "\n".join(lines)))

    def ref(x):
        p = np.pad(x, 1)
        return sum(c * p[di : di + h, dj : dj + w] for di, dj, c in offsets)

    return Problem([("X", (h, w))], stages, "S", ref)


class ScheduleWriter:
    """Draws schedule ops while tracking each stage's leaf axes as the interpreter does."""

    def __init__(self, draw):
        self.draw = draw
        self.lines: list[str] = []
        self.n = 0

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"%{prefix}{self.n}"

    def stage_axes(self, handle: str, s: StageDef) -> list[tuple[str, int, bool]]:
        leaves = []
        if s.shape:
            names = [self.fresh("ax") for _ in s.shape]
            self.lines.append(
                f"{', '.join(names)} = te.axes {handle} : {', '.join(['!te.axis'] * len(names))}"
            )
            leaves += [(nm, e, False) for nm, e in zip(names, s.shape)]
        if s.reduce is not None:
            names = [self.fresh("rx") for _ in s.reduce[1]]
            self.lines.append(
                f"{', '.join(names)} = te.reduce_axes {handle} : {', '.join(['!te.axis'] * len(names))}"
            )
            leaves += [(nm, e, True) for nm, e in zip(names, s.reduce[1])]
        return leaves

    def transform(self, leaves: list[tuple[str, int, bool]]) -> list[tuple[str, int, bool]]:
        draw = self.draw
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from(["split", "split", "tile", "fuse", "reorder"]))
            if op == "split":
                k = draw(st.integers(0, len(leaves) - 1))
                name, e, red = leaves[k]
                f = draw(st.integers(1, e + 2))
                o, i = self.fresh("o"), self.fresh("i")
                self.lines.append(f"{o}, {i} = te.split {name} by {f}")
                fe = min(f, e)
                leaves[k : k + 1] = [(o, -(-e // fe), red), (i, fe, red)]
            elif op == "tile" and len(leaves) >= 2:
                a, b = sorted(
                    draw(
                        st.lists(
                            st.integers(0, len(leaves) - 1), min_size=2, max_size=2, unique=True
                        )
                    )
                )
                fx, fy = draw(st.integers(1, 4)), draw(st.integers(1, 4))
                xo, yo, xi, yi = (self.fresh(p) for p in ("xo", "yo", "xi", "yi"))
                (xn, xe, xr), (yn, ye, yr) = leaves[a], leaves[b]
                self.lines.append(f"{xo}, {yo}, {xi}, {yi} = te.tile {xn}, {yn} by [{fx}, {fy}]")
                fx, fy = min(fx, xe), min(fy, ye)
                leaves[a : a + 1] = [(xo, -(-xe // fx), xr), (xi, fx, xr)]
                b += 1
                leaves[b : b + 1] = [(yo, -(-ye // fy), yr), (yi, fy, yr)]
                slots = sorted([a, a + 1, b, b + 1])
                new = [leaves[a], leaves[b], leaves[a + 1], leaves[b + 1]]
                for s, v in zip(slots, new):
                    leaves[s] = v
            elif op == "fuse":
                pairs = [k for k in range(len(leaves) - 1) if leaves[k][2] == leaves[k + 1][2]]
                if pairs:
                    k = draw(st.sampled_from(pairs))
                    f = self.fresh("f")
                    self.lines.append(f"{f} = te.fuse {leaves[k][0]}, {leaves[k + 1][0]}")
                    leaves[k : k + 2] = [(f, leaves[k][1] * leaves[k + 1][1], leaves[k][2])]
            elif op == "reorder" and len(leaves) >= 2:
                leaves = draw(st.permutations(leaves))
                self.lines.append("te.reorder " + ", ".join(nm for nm, _, _ in leaves))
        spatial = [k for k, v in enumerate(leaves) if not v[2]]
        if spatial and draw(st.booleans()):
            self.lines.append(f"te.parallel {leaves[draw(st.sampled_from(spatial))][0]}")
        last = leaves[-1] if leaves else None
        if last is not None and not last[2] and draw(st.booleans()):
            self.lines.append(f"te.vectorize {last[0]}")
        elif leaves and draw(st.booleans()):
            self.lines.append(f"te.unroll {leaves[draw(st.integers(0, len(leaves) - 1))][0]}")
        return leaves


@st.composite
def scheduled(draw):
    prob = draw(st.one_of(chain(), matmul(), stencil()))
    readers = {s.name: [] for s in prob.stages}
    for s in prob.stages:
        for p in readers:
            if f"%{p}[" in s.body:
                readers[p].append(s.name)
    w = ScheduleWriter(draw)
    handles = {s.name: w.fresh("s") for s in prob.stages}
    for s in prob.stages:
        w.lines.append(f'{handles[s.name]} = te.stage "{s.name}"')
    final: dict[str, list] = {}
    attach: dict[str, str] = {}
    # consumers first, so a producer can be attached at a consumer's final loops
    for s in reversed(prob.stages):
        h = handles[s.name]
        if s.reduce is not None and s.name == prob.output and draw(st.booleans()):
            local = w.fresh("local")
            w.lines.append(f"{local} = te.cache_write {h}")
            copy = StageDef(s.name, s.shape, "")
            final[s.name] = w.transform(w.stage_axes(h, copy))
            # the local stage now does the reading: producers attach to it
            final[s.name + ".local"] = w.transform(w.stage_axes(local, s))
            for users in readers.values():
                users[:] = [s.name + ".local" if u == s.name else u for u in users]
            spatial = final[s.name]
            if spatial and draw(st.booleans()):
                w.lines.append(f"te.compute_at {local}, {draw(st.sampled_from(spatial))[0]}")
            continue
        is_output = s.name == prob.output
        users = readers[s.name]
        choice = "root"
        if not is_output and len(users) == 1:
            options = ["root", "at"] + (["inline"] if s.elementwise else [])
            if attach.get(users[0]) == "inline":
                options.remove("at")
            choice = draw(st.sampled_from(options))
        if choice == "inline":
            w.lines.append(f"te.compute_inline {h}")
            attach[s.name] = "inline"
            continue
        final[s.name] = w.transform(w.stage_axes(h, s))
        if choice == "at" and final.get(users[0]):
            w.lines.append(f"te.compute_at {h}, {draw(st.sampled_from(final[users[0]]))[0]}")
    # cache_read of inputs: a staged copy, at the root or inside its one reader's loops
    for name, _ in prob.inputs:
        if not draw(st.booleans()):
            continue
        cache = w.fresh("cache")
        w.lines.append(f'{cache} = te.cache_read "{name}"')
        users = [s.name for s in prob.stages if f"%{name}[" in s.body]
        users = [u + ".local" if u + ".local" in final else u for u in users]
        if len(users) == 1 and attach.get(users[0]) != "inline" and final.get(users[0]):
            if draw(st.booleans()):
                w.lines.append(
                    f"te.compute_at {cache}, {draw(st.sampled_from(final[users[0]]))[0]}"
                )
    return prob, w.lines


def kernel_text(prob: Problem, sched: list[str]) -> str:
    lines = ["te.kernel @k {"]
    lines += [f'%{n} = te.placeholder "{n}" : {ttype(s)}' for n, s in prob.inputs]
    lines += [s.text() for s in prob.stages]
    lines += [
        "te.schedule {",
        *sched,
        "}",
        f"te.return %{prob.output} : {ttype(prob.stages[-1].shape)}",
        "}",
    ]
    return "\n".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheduled(), st.randoms(use_true_random=False), st.booleans())
def test_random_schedules_preserve_results(case, rnd, post: bool) -> None:
    prob, sched = case
    text = kernel_text(prob, sched)
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    ConvertTeToTirPass().apply(ctx, module)
    module.verify()
    if post:  # the tir passes that rewrite loops must keep every random schedule's result
        for p in (
            TirSimplifyPass(),
            TirLoopPartitionPass(),
            TirUnrollPass(),
            TirStorageRewritePass(),
        ):
            p.apply(ctx, module)
            module.verify()
    rng = np.random.default_rng(rnd.randint(0, 2**31))
    ins = [rng.integers(-3, 4, size=s).astype(np.float32) for _, s in prob.inputs]
    out = np.full(prob.stages[-1].shape, np.nan, np.float32)
    run_prim_func(module, "k", [*ins, out])
    np.testing.assert_array_equal(out, prob.reference(*ins).astype(np.float32), err_msg=text)
