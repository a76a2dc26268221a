"""Which loop of a stage walks its inputs contiguously: the last spatial axis or the last
reduction axis.

The default schedule vectorizes one innermost loop. That pays when every tensor the stage
reads either moves by one element per iteration of that loop along its last (contiguous)
dim or does not move at all: then ``tir-vectorize`` turns the reads into vector loads and
broadcasts. A softmax or layer-norm statistic reads ``x[i, r]``: contiguous in its reduction
axis ``r``, while its own output (``[n, 1]``) gives the spatial axis nothing to vectorize.

Reads are followed through stages that will be inlined (a fused residual add feeding a
layer norm reads ``a[i, r] + b[i, r]``). Indices are analysed as affine forms over the
axes; anything else (clamps, ``//``, ``%``) counts as moving in an unknown way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects import arith
from xdsl.ir import BlockArgument, SSAValue

from xtvm.dialects import te
from xtvm.topi.schedule import Stage


@dataclass(frozen=True)
class Lin:
    """An index as ``sum(coef * axis) + const``; axes in ``opaque`` enter non-linearly."""

    coefs: dict[object, int] = field(default_factory=dict)
    opaque: frozenset = frozenset()

    def deps(self) -> set:
        return {k for k, c in self.coefs.items() if c} | set(self.opaque)

    def plus(self, other: Lin, scale: int = 1) -> Lin:
        coefs = dict(self.coefs)
        for k, c in other.coefs.items():
            coefs[k] = coefs.get(k, 0) + scale * c
        return Lin(coefs, self.opaque | other.opaque)

    def times(self, k: int) -> Lin:
        return Lin({a: c * k for a, c in self.coefs.items()}, self.opaque)


def _const(v: SSAValue) -> int | None:
    op = v.owner
    if isinstance(op, arith.ConstantOp) and hasattr(op.value, "value"):
        value = op.value.value  # type: ignore[union-attr]
        return value.data if isinstance(value.data, int) else None
    return None


class _Reads:
    """Every (tensor, index forms) a stage's body reads from a buffer."""

    def __init__(self, inlined: set[SSAValue], computes: dict[SSAValue, te.ComputeOp]):
        self.inlined = inlined
        self.computes = computes
        self.found: list[tuple[SSAValue, list[Lin]]] = []

    def form(self, v: SSAValue, env: dict[SSAValue, Lin]) -> Lin:
        if v in env:
            return env[v]
        c = _const(v)
        if c is not None:
            return Lin()
        op = v.owner
        if isinstance(op, arith.AddiOp | arith.SubiOp):
            a, b = self.form(op.lhs, env), self.form(op.rhs, env)
            return a.plus(b, 1 if isinstance(op, arith.AddiOp) else -1)
        if isinstance(op, arith.MuliOp):
            for x, y in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                k = _const(y)
                if k is not None:
                    return self.form(x, env).times(k)
        if isinstance(v, BlockArgument) or not hasattr(op, "operands"):
            return Lin()  # defined outside every analysed body: invariant
        deps: set = set()
        for operand in op.operands:  # type: ignore[union-attr]
            deps |= self.form(operand, env).deps()
        return Lin({}, frozenset(deps))

    def walk(self, compute: te.ComputeOp, env: dict[SSAValue, Lin]) -> None:
        for op in compute.walk():
            if not isinstance(op, te.ReadOp):
                continue
            idx = [self.form(i, env) for i in op.indices]
            if op.tensor in self.inlined:
                producer = self.computes[op.tensor]
                self.walk(producer, dict(zip(producer.block.args, idx)))
            else:
                self.found.append((op.tensor, idx))


def _walks(reads: list[tuple[SSAValue, list[Lin]]], axis: object) -> bool:
    """Every read is contiguous in ``axis`` or does not move with it, and one moves."""
    moving = False
    for _, idx in reads:
        if not idx:
            continue
        *lead, last = idx
        if any(axis in f.deps() for f in lead) or axis in last.opaque:
            return False
        c = last.coefs.get(axis, 0)
        if c not in (0, 1):
            return False
        moving |= c == 1
    return moving


def _reads(st: Stage) -> tuple[list[tuple[SSAValue, list[Lin]]], list, list]:
    """The buffer reads of ``st`` (through inlined stages), its spatial and reduction args."""
    c = st.compute
    assert c is not None
    sched = st.schedule
    computes = {k.result: k for k in sched.kernel.computes}
    inlined = {k.result for k in computes.values() if sched.is_inlined(k)}
    spatial = list(c.block.args)
    red = c.reduce
    reduce_args = list(red.block.args) if red is not None else []
    env = {a: Lin({a: 1}) for a in [*spatial, *reduce_args]}
    reads = _Reads(inlined, computes)
    reads.walk(c, env)
    return reads.found, spatial, reduce_args


def contiguous_axes(st: Stage) -> tuple[bool, bool]:
    """(the last spatial axis walks the reads contiguously, the last reduction axis does)."""
    if st.compute is None:
        return False, False
    found, spatial, reduce_args = _reads(st)
    s_ok = bool(spatial) and _walks(found, spatial[-1])
    r_ok = bool(reduce_args) and _walks(found, reduce_args[-1])
    return s_ok, r_ok


def read_walking_axis(st: Stage) -> int | None:
    """For a stage whose reads are not contiguous in its last axis (a transpose): the
    innermost other spatial axis in which they are, by position; else None."""
    if st.compute is None or st.compute.reduce is not None:
        return None
    found, spatial, _ = _reads(st)
    if not spatial or _walks(found, spatial[-1]):
        return None
    for k in range(len(spatial) - 2, -1, -1):
        if _walks(found, spatial[k]):
            return k
    return None
