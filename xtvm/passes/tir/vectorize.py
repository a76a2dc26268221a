"""``tir-vectorize``: turn ``kind(vectorized)`` loops into straight-line vector code.

Expects tir (docs/contracts.md). A vectorized loop with constant bounds, step 1 and a
body of only ``arith``/``math``/``memref.load``/``memref.store`` is widened: values that
vary with the loop variable become vectors, loads/stores contiguous in it become
``vector.load``/``vector.store``, loop-invariant loads stay scalar and are broadcast.
Trip counts above the target's lane count become a serial loop stepping by ``lanes`` plus
a straight-line remainder of width ``trip % lanes``. Compares/selects/int<->float casts
on vectors use ``llvmx`` ops (xDSL's ``arith`` rejects ``vector<..xi1>`` and vector casts).

Reductions (``acc[c] = acc[c] <op> f(iv)`` with ``c`` fixed in the loop, found by
``vectorize_analysis.find_reductions``): every lane keeps a partial result in a vector
accumulator that starts at the operation's identity, ``accumulators`` registers of
``lanes`` each (independent chains hide the latency of the combining op); after the loop
one ``vector.reduction`` combines the lanes into ``acc[c]``. Remainders of ``lanes`` and
fewer elements are reduced the same way after the loop, so the hot loop has no tail
checks. This reassociates: float sums and products may differ from the serial loop in the
last bits (as onnxruntime's and every BLAS's reductions do); max/min are exact.

Guarantees: no ``kind(vectorized)`` loop is left. Anything that cannot be widened
exactly (strided or gathered accesses, loop-carried memory dependences, nested control
flow, calls) becomes a ``serial`` loop, unchanged otherwise: never a wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, memref, vector
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
    VectorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import llvmx
from xtvm.dialects.tir import AllocOp, ForOp, YieldOp
from xtvm.passes.registry import register_pass
from xtvm.passes.tir.vectorize_analysis import Illegal, LoopInfo, Reduction, analyze, const_int
from xtvm.passes.tir.vectorize_reduction import accumulators_for, finish, hoist, identity_vector

_CASTS = {
    arith.SIToFPOp: llvmx.SIToFPOp,
    arith.UIToFPOp: llvmx.UIToFPOp,
    arith.FPToSIOp: llvmx.FPToSIOp,
    arith.FPToUIOp: llvmx.FPToUIOp,
}


def _vec(t: Attribute, width: int) -> VectorType:
    return VectorType(t, [width])


class _Widener:
    """Emits one copy of the loop body at ``width`` lanes, lane 0 at index value ``iv0``.

    Each reduction's load reads ``acc_in[reduction]`` (its vector accumulator) and its store
    leaves the new accumulator in ``acc_out[reduction]``."""

    def __init__(
        self,
        info: LoopInfo,
        width: int,
        iv0: SSAValue,
        point: InsertPoint,
        acc_in: dict[Reduction, SSAValue] | None = None,
    ):
        self.info, self.width, self.point = info, width, point
        self.scalar: dict[SSAValue, SSAValue] = {info.loop.induction_var: iv0}
        self.vector: dict[SSAValue, SSAValue] = {}
        self.broadcasts: dict[SSAValue, SSAValue] = {}
        self.reduction_ops = {r.load: r for r in info.reductions}
        self.reduction_ops.update({r.store: r for r in info.reductions})
        self.acc_out: dict[Reduction, SSAValue] = {}
        for r, acc in (acc_in or {}).items():
            self.vector[r.load.res] = acc

    def insert(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.point)
        return op

    def s(self, v: SSAValue) -> SSAValue:
        return self.scalar.get(v, v)

    def v(self, value: SSAValue) -> SSAValue:
        """The widened value; uniform scalars are broadcast (once)."""
        if value in self.vector:
            return self.vector[value]
        if value not in self.broadcasts:
            scalar = self.s(value)
            op = self.insert(vector.BroadcastOp(scalar, _vec(scalar.type, self.width)))
            self.broadcasts[value] = op.results[0]
        return self.broadcasts[value]

    def emit(self) -> None:
        for op in self.info.ops:
            self._emit(op)

    def _emit(self, op: Operation) -> None:
        info, w = self.info, self.width
        red = self.reduction_ops.get(op)
        if red is not None:
            if op is red.store:
                self.acc_out[red] = self.v(red.store.value)
            return
        if isinstance(op, memref.LoadOp) and info.is_varying(op.res):
            new = vector.LoadOp(op.memref, [self.s(i) for i in op.indices], _vec(op.res.type, w))
            self.vector[op.res] = self.insert(new).results[0]
        elif isinstance(op, memref.StoreOp):
            self.insert(
                vector.StoreOp(self.v(op.value), op.memref, [self.s(i) for i in op.indices])
            )
        elif not any(info.is_varying(r) for r in op.results) or isinstance(
            op.results[0].type, IndexType
        ):
            self.insert(op.clone(value_mapper=self.scalar))  # uniform, or a lane-0 index
        elif isinstance(op, arith.IndexCastOp) and info.coef(op.input):
            self._iota(op)
        elif isinstance(op, arith.CmpfOp):
            pred = llvmx.FCMP_PREDICATES[op.predicate.value.data]
            new = llvmx.FCmpOp(self.v(op.lhs), self.v(op.rhs), pred)
            self.vector[op.result] = self.insert(new).results[0]
        elif isinstance(op, arith.SelectOp) and info.is_varying(op.cond):
            new = llvmx.SelectOp(self.v(op.cond), self.v(op.lhs), self.v(op.rhs))
            self.vector[op.result] = self.insert(new).results[0]
        elif type(op) in _CASTS:
            res = op.results[0]
            new = _CASTS[type(op)](self.v(op.operands[0]), _vec(res.type, w))
            self.vector[res] = self.insert(new).results[0]
        else:
            # Same elementwise op on vectors; a uniform i1 select condition stays scalar.
            keep = {op.operands[0]} if isinstance(op, arith.SelectOp) else set()
            operands = [self.s(x) if x in keep else self.v(x) for x in op.operands]
            new = op.create(
                operands=operands,
                result_types=[_vec(r.type, w) for r in op.results],
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
            self.insert(new)
            self.vector.update(zip(op.results, new.results))

    def _iota(self, op: arith.IndexCastOp) -> None:
        """index_cast(base + c*iv) -> broadcast(cast(lane-0 value)) + [0, c, 2c, ...]."""
        t = op.result.type
        assert isinstance(t, IntegerType)
        base = self.insert(arith.IndexCastOp(self.s(op.input), t)).results[0]
        vt = _vec(t, self.width)
        c = self.info.coef(op.input)
        steps = DenseIntOrFPElementsAttr.from_list(vt, [c * k for k in range(self.width)])
        lanes = self.insert(arith.ConstantOp(steps, vt)).results[0]
        splat = self.insert(vector.BroadcastOp(base, vt)).results[0]
        self.vector[op.result] = self.insert(arith.AddiOp(splat, lanes)).results[0]


def _index_const(value: int, point: InsertPoint) -> SSAValue:
    op = arith.ConstantOp(IntegerAttr(value, IndexType()))
    Rewriter.insert_op(op, point)
    return op.result


def _inline_once(loop: ForOp, iv_value: SSAValue) -> None:
    """Replace a one-trip loop by its body with the induction variable bound."""
    block = loop.block
    block.args[0].replace_all_uses_with(iv_value)
    for op in list(block.ops):
        if isinstance(op, YieldOp):
            continue
        op.detach()
        Rewriter.insert_op(op, InsertPoint.before(loop))


def _scalar_copy(loop: ForOp, iv_value: SSAValue, point: InsertPoint) -> None:
    mapping: dict[SSAValue, SSAValue] = {loop.induction_var: iv_value}
    for op in loop.block.ops:
        if not isinstance(op, YieldOp):
            Rewriter.insert_op(op.clone(value_mapper=mapping), point)


def _emit_range(
    loop: ForOp,
    info: LoopInfo,
    start: int,
    count: int,
    width: int,
    before: InsertPoint,
    index: dict[Reduction, list[SSAValue]],
) -> None:
    """Elements ``[start, start + count)`` of the loop, ``width`` at a time (``count`` is a
    multiple of ``width``): one straight-line copy, or a serial loop stepping by ``width``."""
    reds = info.reductions
    chunks = count // width
    if width == 1:
        _scalar_copy(loop, _index_const(start, before), before)
        return
    if chunks == 1:
        w = _Widener(
            info,
            width,
            _index_const(start, before),
            before,
            {r: identity_vector(r, width, before) for r in reds},
        )
        w.emit()
        for r in reds:
            finish(r, w.acc_out[r], index[r], before)
        return
    c0 = _index_const(0, before) if reds else None
    bufs = {}
    for r in reds:
        buf = AllocOp(MemRefType(r.element_type, [width]), "local")
        Rewriter.insert_op(buf, before)
        Rewriter.insert_op(
            vector.StoreOp(identity_vector(r, width, before), buf.buffer, [c0]), before
        )
        bufs[r] = buf.buffer
    first = loop.lb if const_int(loop.lb) == start else _index_const(start, before)
    main = ForOp(
        first,
        _index_const(start + count, before),
        _index_const(width, before),
        "serial",
    )
    Rewriter.insert_op(main, before)
    inside = InsertPoint.before(main.block.last_op)  # before the tir.yield
    acc_in = {}
    for r in reds:
        load = vector.LoadOp(bufs[r], [c0], _vec(r.element_type, width))
        Rewriter.insert_op(load, inside)
        acc_in[r] = load.result
    w = _Widener(info, width, main.induction_var, inside, acc_in)
    w.emit()
    for r in reds:
        Rewriter.insert_op(vector.StoreOp(w.acc_out[r], bufs[r], [c0]), inside)
        final = vector.LoadOp(bufs[r], [c0], _vec(r.element_type, width))
        Rewriter.insert_op(final, before)
        finish(r, final.result, index[r], before)


def vectorize_loop(loop: ForOp, lanes: int, accumulators: int = 0) -> bool:
    """Widen ``loop`` in place; on refusal mark it serial. True when vectorized."""
    lb, ub, step = (const_int(v) for v in (loop.lb, loop.ub, loop.step))
    if lb is None or ub is None or step != 1:
        loop.kind = StringAttr("serial")
        return False
    trip = ub - lb
    if trip <= 0:
        Rewriter.erase_op(loop)
        return True
    if trip == 1:
        _inline_once(loop, loop.lb)
        Rewriter.erase_op(loop)
        return True
    try:
        info = analyze(loop)
    except Illegal:
        loop.kind = StringAttr("serial")
        return False
    before = InsertPoint.before(loop)
    done: dict[SSAValue, SSAValue] = {}
    index = {r: hoist(loop, list(r.store.indices), before, done) for r in info.reductions}
    width = min(trip, lanes * (accumulators_for(info, accumulators) if info.reductions else 1))
    main = trip // width * width
    pieces = [(main, width)]
    rest = trip - main
    if info.reductions and rest >= lanes:  # whole vectors of lanes, then the last few
        pieces.append((rest // lanes * lanes, rest // lanes * lanes))
        rest %= lanes
    pieces.append((rest, rest))
    start = lb
    for count, w in pieces:
        if count:
            _emit_range(loop, info, start, count, w, before, index)
            start += count
    Rewriter.erase_op(loop)
    return True


@register_pass
@dataclass(frozen=True)
class TirVectorizePass(ModulePass):
    """Widen ``tir.for kind(vectorized)`` loops (see the module docstring)."""

    name = "tir-vectorize"

    lanes: int = 0
    """Vector width in elements; 0 means the host's (32-bit lanes of its widest unit)."""

    accumulators: int = 0
    """Vector accumulators per reduction (each ``lanes`` wide); 0 picks 2 or 4 by body size."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lanes = self.lanes
        if lanes <= 0:
            from xtvm.backends.llvm.target import Target

            lanes = Target.host().vector_lanes(32)
        loops = [o for o in op.walk() if isinstance(o, ForOp) and o.kind.data == "vectorized"]
        for loop in reversed(loops):  # innermost first
            vectorize_loop(loop, lanes, self.accumulators)
