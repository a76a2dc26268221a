"""``tir-simplify``: affine simplification of index arithmetic using loop ranges.

Expects tir (docs/contracts.md). Index expressions are read as affine forms
``sum(coef * atom) + const`` whose atoms are loop induction variables (range from the loop's
constant bounds, or from a ``min(c, ..)`` upper bound) or opaque values. With those ranges:

- ``x // c`` and ``x % c`` (``divsi``/``divui``/``floordivsi``, ``remsi``/``remui``, ``c > 0``)
  are rewritten when ``x = c * q + r`` with every term of ``q`` a multiple of ``c`` and
  ``0 <= r < c`` over the loop ranges: ``x // c -> q``, ``x % c -> r``. This is what turns
  ``wp[j // bn, k, j % bn]`` after ``j = jo * bn + ji`` into ``wp[jo, k, ji]``, contiguous in
  ``ji``, so ``tir-vectorize`` can widen it.
- ``addi``/``subi``/``muli`` whose form is a single atom or a constant (``(a + b) - a``) are
  replaced by it.

Guarantees: every rewrite is exact for the atom ranges (division and remainder only when
the dividend is provably non-negative); ops left without uses are erased. Nothing else
changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects.tir import ForOp, PrimFuncOp
from xtvm.passes.registry import register_pass

Form = dict[SSAValue | None, int]  # atom (None: the constant) -> coefficient

_DIVS = (arith.DivSIOp, arith.DivUIOp, arith.FloorDivSIOp)
_REMS = (arith.RemSIOp, arith.RemUIOp)


def _const(v: SSAValue) -> int | None:
    op = v.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return op.value.value.data
    return None


class _Analysis:
    """Affine forms of index values and value ranges of their atoms (memoized)."""

    def __init__(self) -> None:
        self.forms: dict[SSAValue, Form] = {}

    def form(self, v: SSAValue) -> Form:
        got = self.forms.get(v)
        if got is not None:
            return got
        f = self._form(v)
        self.forms[v] = f
        return f

    def _form(self, v: SSAValue) -> Form:
        c = _const(v)
        if c is not None:
            return {None: c}
        op = v.owner
        if isinstance(op, arith.AddiOp | arith.SubiOp):
            a, b = self.form(op.lhs), self.form(op.rhs)
            sign = 1 if isinstance(op, arith.AddiOp) else -1
            out = dict(a)
            for k, x in b.items():
                out[k] = out.get(k, 0) + sign * x
            return {k: x for k, x in out.items() if x or k is None}
        if isinstance(op, arith.MuliOp):
            a, b = self.form(op.lhs), self.form(op.rhs)
            for x, y in ((a, b), (b, a)):
                if set(y) <= {None}:
                    k = y.get(None, 0)
                    return {t: c * k for t, c in x.items() if c * k or t is None}
        return {v: 1, None: 0}

    @staticmethod
    def atom_range(v: SSAValue) -> tuple[int, int] | None:
        """Inclusive range of an atom, if known."""
        owner = v.owner
        parent = getattr(owner, "parent_op", lambda: None)()
        if isinstance(parent, ForOp) and v is parent.induction_var:
            lb, step = _const(parent.lb), _const(parent.step)
            if lb is None or step is None or step <= 0:
                return None
            ub = _const(parent.ub)
            if ub is None:
                m = parent.ub.owner
                if isinstance(m, arith.MinSIOp | arith.MinUIOp):
                    cs = [x for x in (_const(m.lhs), _const(m.rhs)) if x is not None]
                    ub = min(cs) if cs else None
            if ub is None or ub <= lb:
                return None
            return lb, lb + (ub - 1 - lb) // step * step
        return None

    def range(self, f: Form) -> tuple[int, int] | None:
        lo = hi = f.get(None, 0)
        for t, c in f.items():
            if t is None:
                continue
            r = self.atom_range(t)
            if r is None:
                return None
            a, b = c * r[0], c * r[1]
            lo, hi = lo + min(a, b), hi + max(a, b)
        return lo, hi


def _materialize(f: Form, ip: InsertPoint) -> SSAValue:
    """Emit ``f`` before ``ip`` (constants, ``muli``, ``addi``)."""
    idx = IndexType()

    def emit(op: Operation) -> SSAValue:
        Rewriter.insert_op(op, ip)
        return op.results[0]

    acc: SSAValue | None = None
    for t, c in f.items():
        if t is None or c == 0:
            continue
        term = (
            t
            if c == 1
            else emit(arith.MuliOp(t, emit(arith.ConstantOp.from_int_and_width(c, idx))))
        )
        acc = term if acc is None else emit(arith.AddiOp(acc, term))
    k = f.get(None, 0)
    if acc is None:
        return emit(arith.ConstantOp.from_int_and_width(k, idx))
    if k:
        acc = emit(arith.AddiOp(acc, emit(arith.ConstantOp.from_int_and_width(k, idx))))
    return acc


def _split(an: _Analysis, f: Form, c: int) -> tuple[Form, Form] | None:
    """``(q, r)`` with ``f = c * q + r`` and ``0 <= r < c`` everywhere, if provable."""
    k = f.get(None, 0)
    q: Form = {None: k // c}
    r: Form = {None: k % c}
    for t, x in f.items():
        if t is None:
            continue
        if x % c == 0:
            q[t] = x // c
        else:
            r[t] = x
    rr = an.range(r)
    if rr is None or rr[0] < 0 or rr[1] >= c:
        return None
    qr = an.range(q)
    if qr is None or qr[0] < 0:
        return None
    return q, r


@dataclass(frozen=True)
class _Simplifier:
    an: _Analysis

    def visit(self, op: Operation) -> bool:
        """Rewrite ``op`` if a rule applies; True when it was replaced."""
        if not op.results or not isinstance(op.results[0].type, IndexType):
            return False
        new: Form | None = None
        if isinstance(op, _DIVS + _REMS):
            c = _const(op.rhs)
            if c is None or c <= 0:
                return False
            f = self.an.form(op.lhs)
            if set(f) <= {None}:
                return False  # a constant: LLVM folds it
            qr = _split(self.an, f, c)
            if qr is None:
                return False
            new = qr[0] if isinstance(op, _DIVS) else qr[1]
        elif isinstance(op, arith.AddiOp | arith.SubiOp | arith.MuliOp):
            f = self.an.form(op.results[0])
            atoms = [t for t in f if t is not None]
            if atoms and (len(atoms) > 1 or f[atoms[0]] != 1 or f.get(None, 0) != 0):
                return False
            if not atoms and _const(op.lhs) is not None and _const(op.rhs) is not None:
                return False  # constant op constant: leave it to LLVM
            new = f
        if new is None:
            return False
        value = _materialize(new, InsertPoint.before(op))
        self.an.forms[value] = dict(new)
        op.results[0].replace_all_uses_with(value)
        return True


def _erase_dead(func: Operation) -> None:
    changed = True
    while changed:
        changed = False
        for op in list(func.walk(reverse=True)):
            if op.name.startswith("arith.") and op.results and all(not r.uses for r in op.results):
                Rewriter.erase_op(op)
                changed = True


@register_pass
@dataclass(frozen=True)
class TirSimplifyPass(ModulePass):
    """Simplify index arithmetic with loop ranges (see the module docstring)."""

    name = "tir-simplify"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for func in op.walk():
            if not isinstance(func, PrimFuncOp):
                continue
            simp = _Simplifier(_Analysis())
            changed = False
            for inner in list(func.walk()):
                changed |= simp.visit(inner)
            if changed:
                _erase_dead(func)
