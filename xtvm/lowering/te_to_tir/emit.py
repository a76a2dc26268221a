"""An insertion cursor with constant-folding index arithmetic.

Index expressions are ``int | SSAValue``: Python ints fold at compile time, so loop bounds
and offsets that are known stay constants and only what depends on loop variables becomes
``arith`` ops. Index constants are hoisted to the function's prologue (they dominate every
loop), which keeps loop bounds as plain ``arith.constant`` values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

IVal = int | SSAValue


@dataclass
class Scope:
    """Where scratch buffers go: the function prologue or a parallel loop's body."""

    block: Block
    last: Operation | None = None
    frees: list[Operation] = field(default_factory=list)

    def insert(self, op: Operation) -> Operation:
        ip = InsertPoint.after(self.last) if self.last else InsertPoint.at_start(self.block)
        Rewriter.insert_op(op, ip)
        self.last = op
        return op


class Emitter:
    """Builds ops at a movable insertion point."""

    def __init__(self, prologue: Scope):
        self.prologue = prologue
        self.ip = InsertPoint.at_end(prologue.block)
        self._consts: dict[int, SSAValue] = {}

    def insert(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.ip)
        return op

    @contextmanager
    def at(self, ip: InsertPoint) -> Iterator[None]:
        saved, self.ip = self.ip, ip
        try:
            yield
        finally:
            self.ip = saved

    @contextmanager
    def inside(self, block: Block) -> Iterator[None]:
        """Insert before ``block``'s terminator."""
        assert block.last_op is not None
        with self.at(InsertPoint.before(block.last_op)):
            yield

    def index(self, v: IVal) -> SSAValue:
        if isinstance(v, SSAValue):
            return v
        if v not in self._consts:
            c = arith.ConstantOp(IntegerAttr(v, IndexType()))
            c.result.name_hint = f"c{v}" if v >= 0 else f"cm{-v}"
            self.prologue.insert(c)
            self._consts[v] = c.result
        return self._consts[v]

    def _bin(self, cls: type[Operation], a: IVal, b: IVal) -> SSAValue:
        return self.insert(cls(self.index(a), self.index(b))).results[0]  # type: ignore[call-arg]

    def add(self, a: IVal, b: IVal) -> IVal:
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        if b == 0:
            return a
        if a == 0:
            return b
        return self._bin(arith.AddiOp, a, b)

    def sub(self, a: IVal, b: IVal) -> IVal:
        if isinstance(a, int) and isinstance(b, int):
            return a - b
        if b == 0:
            return a
        if a is b:
            return 0
        return self._bin(arith.SubiOp, a, b)

    def mul(self, a: IVal, b: IVal) -> IVal:
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        if a == 0 or b == 0:
            return 0
        if b == 1:
            return a
        if a == 1:
            return b
        return self._bin(arith.MuliOp, a, b)

    def floordiv(self, a: IVal, b: int) -> IVal:
        """``a // b`` for ``a >= 0`` (all loop-derived indices are)."""
        if isinstance(a, int):
            return a // b
        return a if b == 1 else self._bin(arith.DivUIOp, a, b)

    def rem(self, a: IVal, b: int) -> IVal:
        if isinstance(a, int):
            return a % b
        return 0 if b == 1 else self._bin(arith.RemUIOp, a, b)

    def min(self, a: IVal, b: IVal) -> IVal:
        if isinstance(a, int) and isinstance(b, int):
            return min(a, b)
        return self._bin(arith.MinSIOp, a, b)

    def max(self, a: IVal, b: IVal) -> IVal:
        if isinstance(a, int) and isinstance(b, int):
            return max(a, b)
        return self._bin(arith.MaxSIOp, a, b)

    def lt(self, a: IVal, b: IVal) -> SSAValue:
        op = arith.CmpiOp(self.index(a), self.index(b), "slt")
        return self.insert(op).result
