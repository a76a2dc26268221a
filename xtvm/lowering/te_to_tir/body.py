"""Clone compute bodies into loop nests: ``te.read`` becomes ``memref.load`` or inlining.

A read of a placeholder or of a stage with a buffer loads from that buffer (shifted by the
buffer's region start when the producer was computed at a consumer loop); a read of an
inlined stage clones the producer's body in place with its axes bound to the read indices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    Signedness,
)
from xdsl.ir import Attribute, Block, SSAValue

from xtvm.dialects import te
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.emit import Emitter, IVal
from xtvm.lowering.te_to_tir.schedule import Schedule


@dataclass
class Buffer:
    """Where a tensor lives: a memref and, for a compute_at region, its start per dim."""

    value: SSAValue
    offsets: tuple[IVal, ...]


class BodyCloner:
    def __init__(
        self,
        em: Emitter,
        sched: Schedule,
        buffers: dict[object, Buffer],
        outer: Mapping[SSAValue, SSAValue],
    ):
        self.em = em
        self.sched = sched
        self.buffers = buffers
        """Placeholder value or non-inlined :class:`Stage` -> its buffer."""
        self.outer = outer
        """Kernel-level values (constants) -> their clones in the prim_func."""

    def load(self, buf: Buffer, indices: list[IVal]) -> SSAValue:
        idx = [self.em.index(self.em.sub(i, o)) for i, o in zip(indices, buf.offsets)]
        return self.em.insert(memref.LoadOp.get(buf.value, idx)).results[0]

    def store(self, value: SSAValue, buf: Buffer, indices: list[IVal]) -> None:
        idx = [self.em.index(self.em.sub(i, o)) for i, o in zip(indices, buf.offsets)]
        self.em.insert(memref.StoreOp.get(value, buf.value, idx))

    def mapping(self, args, values) -> dict[SSAValue, SSAValue]:
        """Block arguments -> values, on top of the kernel-level values."""
        m = dict(self.outer)
        m.update(zip(args, values))
        return m

    def clone_block(self, block: Block, mapping: dict[SSAValue, SSAValue]) -> SSAValue:
        """Clone ``block``'s ops (skipping a yielded ``te.reduce``); return the yielded value."""
        for op in block.ops:
            if isinstance(op, te.YieldOp):
                return self._get(op.value, mapping)
            if isinstance(op, te.ReduceOp):
                continue  # the caller loops over it; it is always the yielded value
            if isinstance(op, te.ReadOp):
                mapping[op.result] = self.read(op, mapping)
                continue
            if any(isinstance(o, te.ReadOp | te.ReduceOp) for o in op.walk(reverse=True)):
                raise CompileError(f"{op.name} with te ops in its regions is not supported")
            self.em.insert(op.clone(value_mapper=mapping))
        raise CompileError("compute body does not end in te.yield")

    def _get(self, v: SSAValue, mapping: Mapping[SSAValue, SSAValue]) -> SSAValue:
        if v in mapping:
            return mapping[v]
        return self.outer.get(v, v)

    def read(self, op: te.ReadOp, mapping: Mapping[SSAValue, SSAValue]) -> SSAValue:
        idx = [self._get(i, mapping) for i in op.indices]
        st = self.sched.of_tensor.get(op.tensor)  # first: a cache_read copy of a placeholder
        if st in self.buffers:
            return self.load(self.buffers[st], list(idx))
        if op.tensor in self.buffers:
            return self.load(self.buffers[op.tensor], list(idx))
        if st is None or st.attach != "inline" or st.compute is None:
            raise CompileError(f"te.read of a tensor with no buffer ({op.tensor.name_hint})")
        return self.clone_block(st.compute.block, self.mapping(st.compute.block.args, idx))


def identity(kind: str, t: Attribute) -> Attribute:
    """The value a reduction starts from."""
    if isinstance(t, AnyFloat):
        v = {"sum": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf}[kind]
        return FloatAttr(v, t)
    if isinstance(t, IntegerType | IndexType):
        width = t.width.data if isinstance(t, IntegerType) else 64
        if width == 1:
            v = {"sum": 0, "prod": 1, "max": 0, "min": 1}[kind]
        else:
            lo, hi = -(2 ** (width - 1)), 2 ** (width - 1) - 1
            if isinstance(t, IntegerType) and t.signedness.data == Signedness.UNSIGNED:
                lo, hi = 0, 2**width - 1
            v = {"sum": 0, "prod": 1, "max": lo, "min": hi}[kind]
        return IntegerAttr(v, t)
    raise CompileError(f"cannot reduce values of type {t}")


def combine(em: Emitter, kind: str, a: SSAValue, b: SSAValue) -> SSAValue:
    """``a <kind> b`` for the element type of ``a``."""
    if isinstance(a.type, AnyFloat):
        cls = {
            "sum": arith.AddfOp,
            "prod": arith.MulfOp,
            "max": arith.MaximumfOp,
            "min": arith.MinimumfOp,
        }[kind]
    elif isinstance(a.type, IntegerType) and a.type.width.data == 1:
        cls = {"sum": arith.XOrIOp, "prod": arith.AndIOp, "max": arith.OrIOp, "min": arith.AndIOp}[
            kind
        ]
    else:
        unsigned = isinstance(a.type, IntegerType) and a.type.signedness.data == Signedness.UNSIGNED
        cls = {
            "sum": arith.AddiOp,
            "prod": arith.MuliOp,
            "max": arith.MaxUIOp if unsigned else arith.MaxSIOp,
            "min": arith.MinUIOp if unsigned else arith.MinSIOp,
        }[kind]
    return em.insert(cls(a, b)).results[0]  # type: ignore[call-arg]


def constant(em: Emitter, attr: Attribute) -> SSAValue:
    t = attr.type if isinstance(attr, IntegerAttr) else None
    if isinstance(t, IntegerType) and t.signedness.data != Signedness.SIGNLESS:
        # arith.constant takes signless integers only: the bits, then a reinterpretation
        width = t.width.data
        bits = IntegerType(width)
        raw = em.insert(arith.ConstantOp(IntegerAttr(attr.value.data % (1 << width), bits)))
        return em.insert(arith.BitcastOp(raw.results[0], t)).results[0]
    return em.insert(arith.ConstantOp(attr)).results[0]  # type: ignore[arg-type]
