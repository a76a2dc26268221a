"""Bound inference for compute_at: which region of a producer one consumer iteration needs.

Axis values are affine in the leaf loop variables through splits (``a = o*f + i``), so with
the loops outside the attach point fixed and those inside free, every original axis of the
consumer spans ``[lo, lo + ext)`` with a run-time ``lo`` and a constant ``ext``. The
consumer's read indices of the producer are analysed as affine forms over its original axes
(through inlined stages too); reads whose indices are not affine (clamps, divisions) or that
disagree in their linear part fall back to the producer's whole extent along that dim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Block, SSAValue

from xtvm.dialects import te
from xtvm.lowering.te_to_tir.emit import Emitter, IVal
from xtvm.lowering.te_to_tir.schedule import Fuse, IterVar, Stage, split_factor


@dataclass(frozen=True)
class Affine:
    """``const + sum(coef * var)`` over a consumer's original axes."""

    terms: frozenset[tuple[IterVar, int]]
    const: int
    clamp: tuple[int | None, int | None] | None = None
    """``(lo, hi)``: the index is the form clamped into ``[lo, hi]`` (a padding's read);
    only analysed for GPU shared tiles (``clamps``), else such an index is not affine."""

    @staticmethod
    def of(var: IterVar) -> Affine:
        return Affine(frozenset({(var, 1)}), 0)

    def scaled(self, c: int) -> Affine:
        return Affine(frozenset((v, k * c) for v, k in self.terms if k * c), self.const * c)

    def plus(self, other: Affine) -> Affine:
        acc: dict[IterVar, int] = dict(self.terms)
        for v, k in other.terms:
            acc[v] = acc.get(v, 0) + k
        return Affine(frozenset((v, k) for v, k in acc.items() if k), self.const + other.const)


Form = Affine | None


def _affine(v: SSAValue, env: Mapping[SSAValue, Form], clamps: bool = False) -> Form:
    if v in env:
        return env[v]
    op = v.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return Affine(frozenset(), op.value.value.data)
    if clamps and isinstance(op, arith.MinSIOp | arith.MaxSIOp):
        return _clamped(op, env)
    if isinstance(op, arith.AddiOp | arith.SubiOp | arith.MuliOp):
        a, b = _affine(op.lhs, env, clamps), _affine(op.rhs, env, clamps)
        if a is None or b is None or a.clamp is not None or b.clamp is not None:
            return None
        if isinstance(op, arith.AddiOp):
            return a.plus(b)
        if isinstance(op, arith.SubiOp):
            return a.plus(b.scaled(-1))
        if not a.terms:
            return b.scaled(a.const)
        if not b.terms:
            return a.scaled(b.const)
    return None


def _clamped(op: arith.MinSIOp | arith.MaxSIOp, env: Mapping[SSAValue, Form]) -> Form:
    """``min``/``max`` of a form and a constant: the form with a clamp bound."""
    a, b = _affine(op.lhs, env, True), _affine(op.rhs, env, True)
    if a is None or b is None or (a.terms and b.terms) or not (a.terms or b.terms):
        return None
    form, bound = (a, b) if a.terms else (b, a)
    if bound.clamp is not None:
        return None
    lo, hi = form.clamp or (None, None)
    if isinstance(op, arith.MaxSIOp):
        lo = bound.const if lo is None else max(lo, bound.const)
    else:
        hi = bound.const if hi is None else min(hi, bound.const)
    return Affine(form.terms, form.const, (lo, hi))


def read_forms(
    consumer: Stage,
    producer: Stage,
    of_tensor: Mapping[SSAValue, Stage],
    clamps: bool = False,
) -> list[tuple[Form, ...]]:
    """Index forms (over ``consumer``'s original axes) of every read of ``producer``; with
    ``clamps``, indices clamped to constants keep their affine part (see ``region``)."""
    out: list[tuple[Form, ...]] = []
    if consumer.source is not None:  # cache_write copy stage: reads its source at its axes
        if consumer.source is producer:
            out.append(tuple(Affine.of(a) for a in consumer.axes))
        return out
    c = consumer.compute
    assert c is not None
    env: dict[SSAValue, Form] = {a: Affine.of(v) for a, v in zip(c.block.args, consumer.axes)}
    red = c.reduce
    if red is not None:
        env.update({a: Affine.of(v) for a, v in zip(red.block.args, consumer.reduce_axes)})
    _collect(c.block, env, producer, of_tensor, out, 0, clamps)
    return out


def _collect(block: Block, env, producer, of_tensor, out, depth: int, clamps: bool) -> None:
    for op in block.walk():
        if not isinstance(op, te.ReadOp):
            continue
        st = of_tensor.get(op.tensor)
        if st is None:
            continue
        forms = tuple(_affine(i, env, clamps) for i in op.indices)
        if st is producer:
            out.append(forms)
        elif st.attach == "inline" and st.compute is not None and depth < 64:
            inner = dict(zip(st.compute.block.args, forms))
            _collect(st.compute.block, inner, producer, of_tensor, out, depth + 1, clamps)


def var_range(
    em: Emitter,
    var: IterVar,
    bound: Mapping[IterVar, IVal],
    ext: Mapping[IterVar, int],
) -> tuple[IVal, int]:
    """``(lo, extent)`` of ``var`` with the ``bound`` leaves fixed and the others free.

    With every leaf under ``var`` bound this is its exact value (extent 1).
    """
    lo, e, _ = var_bounds(em, var, bound, ext)
    return lo, e


def var_bounds(
    em: Emitter,
    var: IterVar,
    bound: Mapping[IterVar, IVal],
    ext: Mapping[IterVar, int],
) -> tuple[IVal, int, int]:
    """:func:`var_range` plus the largest value ``lo`` can take."""
    rel = var.relation
    if rel is None:
        return (bound[var], 1, ext[var] - 1) if var in bound else (0, ext[var], 0)
    if isinstance(rel, Fuse):
        lo_f, e_f, m_f = var_bounds(em, rel.fused, bound, ext)
        if e_f != 1:
            return 0, ext[var], 0
        k = rel.parents.index(var)
        stride = prod(ext[p] for p in rel.parents[k + 1 :])
        q = em.floordiv(lo_f, stride)
        if k == 0:  # a ragged split of the fused axis can push it past its extent
            return q, 1, m_f // stride
        return em.rem(q, ext[var]), 1, ext[var] - 1
    f = split_factor(rel, ext)
    lo_o, e_o, m_o = var_bounds(em, rel.outer, bound, ext)
    lo_i, e_i, m_i = var_bounds(em, rel.inner, bound, ext)
    lo = em.add(em.mul(lo_o, f), lo_i)
    return lo, min((e_o - 1) * f + e_i, ext[var]), m_o * f + m_i


def region(
    em: Emitter,
    forms: list[tuple[Form, ...]],
    shape: tuple[int, ...],
    axis_ranges: Mapping[IterVar, tuple[IVal, int, int]],
) -> list[tuple[IVal, int]]:
    """Per producer dim, ``(start, extent)`` of the box covering every read, kept inside
    ``[0, dim)`` by clamping the start (the extent never exceeds the dim).

    ``axis_ranges`` gives each consumer axis as ``(lo, extent, largest lo)``.
    """
    out: list[tuple[IVal, int]] = []
    for d, dim in enumerate(shape):
        col = [f[d] for f in forms]
        if not col or any(f is None for f in col) or len({f.terms for f in col}) != 1:
            out.append((0, dim))
            continue
        clamps = [f.clamp for f in col if f.clamp is not None]  # type: ignore[union-attr]
        if any((lo or 0) > 0 or (hi if hi is not None else dim) < dim - 1 for lo, hi in clamps):
            out.append((0, dim))  # a clamp inside the tensor: values the box may miss
            continue
        consts = [f.const for f in col]  # type: ignore[union-attr]
        lo: IVal = 0
        lo_max = 0
        span = 1
        terms = sorted(col[0].terms, key=lambda t: t[0].stage.root_vars().index(t[0]))  # type: ignore[union-attr]
        for v, c in terms:
            vlo, vext, vmax = axis_ranges[v]
            end = em.add(vlo, vext - 1) if c < 0 else vlo
            lo = em.add(lo, em.mul(end, c))
            lo_max += vmax * c if c > 0 else 0
            span += abs(c) * (vext - 1)
        ext = min(span + max(consts) - min(consts), dim)
        if ext == dim:
            out.append((0, dim))
            continue
        start = em.add(lo, min(consts))
        if clamps or min(consts) < 0 or any(c < 0 for _, c in terms):
            start = em.max(start, 0)
        if clamps or lo_max + min(consts) + ext > dim:  # (clamped reads: the box covers
            start = em.min(start, dim - ext)  # the clamped values once shifted inside)
        out.append((start, ext))
    return out
