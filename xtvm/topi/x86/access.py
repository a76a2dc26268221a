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

A last axis that reaches the reads as ``j // g`` and ``j % g`` (a concatenation along it,
an integer-factor nearest upsampling) is analysed once more as ``j = g * jo + ji`` with
``jo``, ``ji`` known ranges, where ``//`` and ``%`` resolve as ``tir-simplify`` will
resolve them after a split by ``g`` (:func:`block_split`).
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
    const: int = 0

    def deps(self) -> set:
        return {k for k, c in self.coefs.items() if c} | set(self.opaque)

    def plus(self, other: Lin, scale: int = 1) -> Lin:
        coefs = dict(self.coefs)
        for k, c in other.coefs.items():
            coefs[k] = coefs.get(k, 0) + scale * c
        return Lin(coefs, self.opaque | other.opaque, self.const + scale * other.const)

    def times(self, k: int) -> Lin:
        return Lin({a: c * k for a, c in self.coefs.items()}, self.opaque, self.const * k)


def _const(v: SSAValue) -> int | None:
    op = v.owner
    if isinstance(op, arith.ConstantOp) and hasattr(op.value, "value"):
        value = op.value.value  # type: ignore[union-attr]
        return value.data if isinstance(value.data, int) else None
    return None


_DIVS = (arith.DivSIOp, arith.DivUIOp, arith.FloorDivSIOp)
_REMS = (arith.RemSIOp, arith.RemUIOp)


class _Reads:
    """Every (tensor, index forms) a stage's body reads from a buffer.

    ``ranges`` (inclusive, per axis symbol) let ``x // c`` and ``x % c`` resolve when ``x``
    is ``c * q + r`` with ``0 <= r < c``; ``divisors`` collects the constants ``c`` of the
    unresolved ones whose dividend moves with a symbol of ``watch``."""

    def __init__(
        self,
        inlined: set[SSAValue],
        computes: dict[SSAValue, te.ComputeOp],
        ranges: dict[object, tuple[int, int]] | None = None,
        watch: frozenset = frozenset(),
    ):
        self.inlined = inlined
        self.computes = computes
        self.found: list[tuple[SSAValue, list[Lin]]] = []
        self.ranges = ranges or {}
        self.watch = watch
        self.divisors: set[int] = set()

    def _range(self, f: Lin) -> tuple[int, int] | None:
        if f.opaque:
            return None
        lo = hi = f.const
        for k, c in f.coefs.items():
            r = self.ranges.get(k)
            if r is None:
                return None
            lo, hi = lo + min(c * r[0], c * r[1]), hi + max(c * r[0], c * r[1])
        return lo, hi

    def _divmod(self, op: arith.DivSIOp, env: dict[SSAValue, Lin]) -> Lin | None:
        """``x // c`` or ``x % c`` as an affine form, when the ranges make it one."""
        c = _const(op.rhs)
        if c is None or c <= 0:
            return None
        f = self.form(op.lhs, env)
        q = Lin({k: x // c for k, x in f.coefs.items() if x % c == 0}, const=f.const // c)
        r = Lin({k: x for k, x in f.coefs.items() if x % c}, const=f.const % c)
        rr, qr = self._range(r), self._range(q)
        if rr is None or qr is None or rr[0] < 0 or rr[1] >= c or qr[0] < 0:
            if self.watch & f.deps():
                self.divisors.add(c)
            return None
        return q if isinstance(op, _DIVS) else r

    def form(self, v: SSAValue, env: dict[SSAValue, Lin]) -> Lin:
        """The affine form of ``v``, memoized in ``env``: bodies are DAGs (a value used by
        several ops, as in an unrolled binary search), and re-deriving shared operands
        would cost time exponential in their depth."""
        if v not in env:
            env[v] = self._form(v, env)
        return env[v]

    def _form(self, v: SSAValue, env: dict[SSAValue, Lin]) -> Lin:
        c = _const(v)
        if c is not None:
            return Lin(const=c)
        op = v.owner
        if isinstance(op, arith.AddiOp | arith.SubiOp):
            a, b = self.form(op.lhs, env), self.form(op.rhs, env)
            return a.plus(b, 1 if isinstance(op, arith.AddiOp) else -1)
        if isinstance(op, arith.MuliOp):
            for x, y in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                k = _const(y)
                if k is not None:
                    return self.form(x, env).times(k)
        if isinstance(op, _DIVS + _REMS):
            got = self._divmod(op, env)
            if got is not None:
                return got
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


JO, JI = "block", "lane"  # symbols of the last axis split as ``g * JO + JI``


def _reads(
    st: Stage, split: int = 0
) -> tuple[list[tuple[SSAValue, list[Lin]]], list, list, _Reads]:
    """The buffer reads of ``st`` (through inlined stages), its spatial and reduction args
    and the analysis; with ``split`` the last axis enters as ``split * JO + JI``."""
    c = st.compute
    assert c is not None
    sched = st.schedule
    computes = {k.result: k for k in sched.kernel.computes}
    inlined = {k.result for k in computes.values() if sched.is_inlined(k)}
    spatial = list(c.block.args)
    red = c.reduce
    reduce_args = list(red.block.args) if red is not None else []
    env = {a: Lin({a: 1}) for a in [*spatial, *reduce_args]}
    extents = [*c.shape, *(red.axis_extents if red is not None else ())]
    ranges: dict[object, tuple[int, int]] = {
        a: (0, n - 1) for a, n in zip([*spatial, *reduce_args], extents)
    }
    if split and spatial:
        env[spatial[-1]] = Lin({JO: split, JI: 1})
        ranges[JO] = (0, c.shape[-1] // split - 1)
        ranges[JI] = (0, split - 1)
    watch = frozenset([spatial[-1], JO, JI]) if spatial else frozenset()
    reads = _Reads(inlined, computes, ranges, watch)
    reads.walk(c, env)
    return reads.found, spatial, reduce_args, reads


def contiguous_axes(st: Stage) -> tuple[bool, bool]:
    """(the last spatial axis walks the reads contiguously, the last reduction axis does)."""
    if st.compute is None:
        return False, False
    found, spatial, reduce_args, _ = _reads(st)
    s_ok = bool(spatial) and _walks(found, spatial[-1])
    r_ok = bool(reduce_args) and _walks(found, reduce_args[-1])
    return s_ok, r_ok


def read_walking_axis(st: Stage) -> int | None:
    """For a stage whose reads are not contiguous in its last axis (a transpose): the
    innermost other spatial axis in which they are, by position; else None."""
    if st.compute is None or st.compute.reduce is not None:
        return None
    found, spatial, _, _ = _reads(st)
    if not spatial or _walks(found, spatial[-1]):
        return None
    for k in range(len(spatial) - 2, -1, -1):
        if _walks(found, spatial[k]):
            return k
    return None


def block_split(st: Stage) -> tuple[int, str] | None:
    """``(g, walker)`` for a stage whose reads see its last axis ``j`` only through
    ``j // g`` and ``j % g`` (besides contiguously): after a split by ``g`` the reads are
    contiguous in the inner loop (``walker == "inner"``: a concatenation along the axis) or
    in the outer one (``"outer"``: an integer-factor upsampling, whose inner loop picks a
    phase)."""
    c = st.compute
    if c is None or c.reduce is not None or not c.shape:
        return None
    found, spatial, _, reads = _reads(st)
    n = c.shape[-1]
    if len(reads.divisors) != 1:
        return None
    (g,) = reads.divisors
    if g <= 1 or g >= n or n % g:
        return None
    found, _, _, again = _reads(st, g)
    if again.divisors:
        return None
    if _walks(found, JI):
        return g, "inner"
    if _walks(found, JO):
        return g, "outer"
    return None
