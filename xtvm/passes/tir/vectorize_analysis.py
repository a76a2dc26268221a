"""Legality analysis for ``tir-vectorize``: which values vary with the loop, and how.

Index values are tracked symbolically as affine forms ``{term: coefficient}`` over the
induction variable (:data:`IV`), loop-invariant SSA values and a constant (key ``None``),
so that we never need vectors of ``index``. Other values are either *uniform* (the
same in every lane: kept scalar) or *varying* (widened to vectors). A loop whose body
does anything we cannot widen exactly is reported illegal, with the reason.

One store at an index that does not move with the loop is allowed: the reduction idiom
``acc[c] = acc[c] <op> v`` (a load and a store of the same buffer at the same index values,
an associative, commutative ``op`` in between, nothing else touching the buffer). It is a
:class:`Reduction`: each lane keeps a partial accumulator and the emitter combines them
once after the loop (see ``vectorize.py``), which reassociates float sums and products.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects import arith, math, memref
from xdsl.dialects.builtin import (
    AnyFloat,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    Signedness,
)
from xdsl.ir import Attribute, Operation, SSAValue

from xtvm.dialects.tir import ForOp, YieldOp

IV = "iv"  # key of the induction variable in an affine form
Form = dict[object, int]  # term (IV, an invariant SSAValue, or None for the constant) -> coef

# Elementwise ops that accept vector operands unchanged (same op, widened types).
FLOAT_OPS: tuple[type[Operation], ...] = (
    arith.AddfOp,
    arith.SubfOp,
    arith.MulfOp,
    arith.DivfOp,
    arith.MaximumfOp,
    arith.MinimumfOp,
    arith.MaxnumfOp,
    arith.MinnumfOp,
    arith.NegfOp,
    arith.ExtFOp,
    arith.TruncFOp,
)
INT_OPS: tuple[type[Operation], ...] = (
    arith.AddiOp,
    arith.SubiOp,
    arith.MuliOp,
    arith.DivSIOp,
    arith.DivUIOp,
    arith.RemSIOp,
    arith.RemUIOp,
    arith.MinSIOp,
    arith.MaxSIOp,
    arith.MinUIOp,
    arith.MaxUIOp,
    arith.AndIOp,
    arith.OrIOp,
    arith.XOrIOp,
    arith.ShLIOp,
    arith.ShRSIOp,
    arith.ShRUIOp,
)
CASTS: tuple[type[Operation], ...] = (
    arith.SIToFPOp,
    arith.UIToFPOp,
    arith.FPToSIOp,
    arith.FPToUIOp,
)
_INT_MATH_OPS = (
    math.AbsIOp,
    math.IPowIOp,
    math.FPowIOp,
    math.CountLeadingZerosOp,
    math.CountTrailingZerosOp,
    math.CtPopOp,
)


def const_int(value: SSAValue) -> int | None:
    """The integer an ``arith.constant`` produces, else None."""
    op = value.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return op.value.value.data
    return None


def _is_float(t: Attribute) -> bool:
    return isinstance(t, AnyFloat)


def _add(a: Form, b: Form, scale: int = 1) -> Form:
    out = dict(a)
    for k, c in b.items():
        out[k] = out.get(k, 0) + scale * c
    return {k: c for k, c in out.items() if c != 0}


class Illegal(Exception):
    """The loop cannot be widened; the message says why (for debugging and tests)."""


@dataclass(eq=False)
class Reduction:
    """``store(combine(load(buf[idx]), value), buf[idx])`` with ``idx`` invariant in the loop."""

    load: memref.LoadOp
    combine: Operation
    store: memref.StoreOp
    kind: str
    """The ``vector.reduction`` kind that combines the lanes."""

    @property
    def element_type(self) -> Attribute:
        return self.load.res.type


# Combining op -> vector.reduction kind (those the LLVM lowering implements).
REDUCTION_KINDS: dict[type[Operation], str] = {
    arith.AddfOp: "add",
    arith.MulfOp: "mul",
    arith.MaximumfOp: "maximumf",
    arith.MinimumfOp: "minimumf",
    arith.MaxnumfOp: "maxnumf",
    arith.MinnumfOp: "minnumf",
    arith.AddiOp: "add",
    arith.MuliOp: "mul",
    arith.MaxSIOp: "maxsi",
    arith.MinSIOp: "minsi",
    arith.AndIOp: "and",
    arith.OrIOp: "or",
    arith.XOrIOp: "xor",
}


@dataclass
class LoopInfo:
    """What the emitter needs: index forms, varying values, the body ops in order, and the
    reductions (whose loads become per-lane accumulators)."""

    loop: ForOp
    forms: dict[SSAValue, Form] = field(default_factory=dict)
    varying: set[SSAValue] = field(default_factory=set)
    ops: list[Operation] = field(default_factory=list)
    reductions: list[Reduction] = field(default_factory=list)

    def coef(self, v: SSAValue) -> int:
        return self.forms[v].get(IV, 0) if v in self.forms else 0

    def is_varying(self, v: SSAValue) -> bool:
        return v in self.varying or self.coef(v) != 0


def analyze(loop: ForOp) -> LoopInfo:
    """Classify every value of ``loop``'s body; raise :class:`Illegal` if it cannot widen."""
    info = LoopInfo(loop)
    iv = loop.induction_var
    info.forms[iv] = {IV: 1}
    info.reductions = find_reductions(loop)
    red_loads = {r.load: r for r in info.reductions}
    red_stores = {r.store for r in info.reductions}
    accesses: dict[SSAValue, list[tuple[bool, list[Form]]]] = {}
    for op in loop.block.ops:
        if isinstance(op, YieldOp):
            continue
        if op.regions:
            raise Illegal(f"'{op.name}' has regions")
        info.ops.append(op)
        if op in red_loads:
            info.varying.add(op.res)  # one partial accumulator per lane
        elif op not in red_stores:
            _classify(info, op, accesses)
    for r in info.reductions:
        if any(info.is_varying(i) for i in r.store.indices):
            raise Illegal("a reduction's index moves with the loop")
    for uses in accesses.values():
        if any(is_store for is_store, _ in uses):
            first = uses[0][1]
            if any(idx != first for _, idx in uses[1:]):
                raise Illegal("a stored buffer is accessed at different indices in the loop")
    return info


def find_reductions(loop: ForOp) -> list[Reduction]:
    """The reduction idioms of ``loop``'s body (see the module docstring)."""
    body = loop.block
    touched: dict[SSAValue, list[Operation]] = {}
    for op in body.ops:
        for v in op.operands:
            if isinstance(v.type, MemRefType):
                touched.setdefault(v, []).append(op)
    found = []
    for op in body.ops:
        if not isinstance(op, memref.StoreOp):
            continue
        comb = op.value.owner
        if not isinstance(comb, Operation) or comb.parent_block() is not body:
            continue
        kind = REDUCTION_KINDS.get(type(comb))
        loads = [
            v.owner
            for v in comb.operands
            if isinstance(v.owner, memref.LoadOp) and v.owner.memref == op.memref
        ]
        if kind is None or len(loads) != 1 or len(touched[op.memref]) != 2:
            continue
        (load,) = loads
        t = load.res.type
        int_ok = (
            isinstance(t, IntegerType)
            and t.width.data >= 8
            and t.signedness.data == Signedness.SIGNLESS
        )
        if not (_is_float(t) or int_ok):
            continue
        if (
            load.parent_block() is body
            and list(load.indices) == list(op.indices)
            and load.res.uses.get_length() == 1
            and comb.results[0].uses.get_length() == 1
            and _invariant_index(loop, list(op.indices))
        ):
            found.append(Reduction(load, comb, op, kind))
    return found


def _invariant_index(loop: ForOp, values: list[SSAValue]) -> bool:
    """Whether ``values`` can be recomputed before the loop (pure arith, no loop variable)."""
    work = list(values)
    while work:
        v = work.pop()
        if v is loop.induction_var:
            return False
        op = v.owner
        if not isinstance(op, Operation) or not loop.is_ancestor(op):
            continue
        if op.regions or not op.name.startswith("arith."):
            return False
        work.extend(op.operands)
    return True


def _form(info: LoopInfo, v: SSAValue) -> Form:
    if v in info.forms:
        return info.forms[v]
    c = const_int(v)
    if c is not None:
        return {None: c} if c else {}
    return {v: 1}  # invariant (defined outside) or an opaque uniform value inside


def _classify(
    info: LoopInfo, op: Operation, accesses: dict[SSAValue, list[tuple[bool, list[Form]]]]
) -> None:
    ins = list(op.operands)
    varying_in = [v for v in ins if info.is_varying(v)]
    if isinstance(op, memref.LoadOp | memref.StoreOp):
        forms = [_form(info, v) for v in op.indices]
        coefs = [f.get(IV, 0) for f in forms]
        if isinstance(op, memref.StoreOp) and coefs[-1:] != [1]:
            raise Illegal("a store that is not contiguous in the loop variable")
        if any(coefs[:-1]) or (coefs and coefs[-1] not in (0, 1)):
            raise Illegal("a strided or gathered access")
        if isinstance(op, memref.LoadOp) and coefs[-1:] == [1]:
            info.varying.add(op.res)
        accesses.setdefault(op.memref, []).append((isinstance(op, memref.StoreOp), forms))
        return
    if not varying_in:
        # Uniform: cloned as a scalar. Index results get a form for address analysis.
        for r in op.results:
            if isinstance(r.type, IndexType) and const_int(r) is None:
                try:
                    info.forms[r] = _index_form(info, op)
                except Illegal:
                    info.forms[r] = {r: 1}
        if op.name.startswith(("arith.", "math.")):
            return
        raise Illegal(f"'{op.name}' cannot be vectorized")
    res = op.results[0] if op.results else None
    if res is not None and isinstance(res.type, IndexType):
        info.forms[res] = _index_form(info, op)
        return
    if any(isinstance(v.type, IndexType) for v in varying_in) and not isinstance(
        op, arith.IndexCastOp
    ):
        raise Illegal(f"'{op.name}' uses the loop variable as a value")
    if isinstance(op, arith.IndexCastOp):
        if not isinstance(op.result.type, IntegerType):
            raise Illegal("an index_cast to index of a varying value")
    elif isinstance(op, (arith.CmpfOp, arith.SelectOp, *FLOAT_OPS, *CASTS)):
        pass
    elif isinstance(op, INT_OPS):
        if not isinstance(op.results[0].type, IntegerType):
            raise Illegal(f"'{op.name}' on a varying non-integer")
    elif op.name.startswith("math.") and not isinstance(op, _INT_MATH_OPS):
        if not all(_is_float(v.type) for v in (*ins, *op.results)):
            raise Illegal(f"'{op.name}' on non-float values")
    else:
        raise Illegal(f"'{op.name}' cannot be widened")
    info.varying.update(op.results)


def _index_form(info: LoopInfo, op: Operation) -> Form:
    """Affine form of an index op with a varying operand (or Illegal)."""
    if isinstance(op, arith.AddiOp | arith.SubiOp):
        a, b = _form(info, op.lhs), _form(info, op.rhs)
        return _add(a, b, 1 if isinstance(op, arith.AddiOp) else -1)
    if isinstance(op, arith.MuliOp):
        a, b = _form(info, op.lhs), _form(info, op.rhs)
        for x, y in ((a, b), (b, a)):
            if set(y) <= {None}:
                k = y.get(None, 0)
                return {t: c * k for t, c in x.items() if c * k}
    raise Illegal(f"'{op.name}' makes a non-affine index of the loop variable")


def memref_of(op: Operation) -> MemRefType:
    t = op.operands[0 if isinstance(op, memref.LoadOp) else 1].type
    assert isinstance(t, MemRefType)
    return t
