"""``KernelBuilder``: TVM ``te``-style Python construction of a ``te.kernel`` in memory.

    kb = KernelBuilder("dense")
    A = kb.placeholder((M, K), f32, "A")
    W = kb.placeholder((N, K), f32, "W")
    D = kb.compute((M, N), lambda i, j: sum_(lambda k: A[i, k] * W[j, k], (K,)), "dense")
    kb.output(D)
    kernel = kb.finish()

``fcompute`` receives the compute's axes (its region's ``index`` block arguments) as
:class:`~xtvm.topi.expr.Expr` and returns the element's value (an ``Expr`` or a Python
number). ``Tensor[...]`` emits ``te.read``. Stage names are made unique (``relu``,
``relu_1``) so schedules can address every stage by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import IndexType, TensorType, f32
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.te import ComputeOp, KernelOp, PlaceholderOp, ReadOp, ReturnOp, YieldOp
from xtvm.topi.expr import Expr, Number, as_expr, const, emit, emitting_into
from xtvm.topi.intrin import cast

_AXIS_NAMES = ("i", "j", "k", "l", "m", "n")


def _dtype(d: Attribute | str | np.dtype | type) -> Attribute:
    if isinstance(d, Attribute):
        return d
    from xtvm.dialects.relay.base import element_type_of

    return element_type_of(np.dtype(d))


class Tensor:
    """A kernel-level tensor: a placeholder or the result of a compute stage."""

    def __init__(self, value: SSAValue, name: str, builder: KernelBuilder):
        self.value = value
        self.name = name
        self.builder = builder

    @property
    def type(self) -> TensorType:
        t = self.value.type
        assert isinstance(t, TensorType)
        return t

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.type.get_shape())

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> Attribute:
        return self.type.element_type

    @property
    def op(self) -> PlaceholderOp | ComputeOp:
        owner = self.value.owner
        assert isinstance(owner, (PlaceholderOp, ComputeOp))
        return owner

    def __getitem__(self, indices: Expr | int | Sequence[Expr | int]) -> Expr:
        idx = indices if isinstance(indices, (tuple, list)) else (indices,)
        if len(idx) != self.ndim:
            raise IndexError(f"{self.name}: {len(idx)} indices for a rank-{self.ndim} tensor")
        vals = [as_expr(i, IndexType()).value for i in idx]
        return Expr(emit(ReadOp(self.value, vals)).results[0])

    def __repr__(self) -> str:
        return f"Tensor({self.name!r}, {self.shape}, {self.dtype})"


class KernelBuilder:
    """Builds one ``te.kernel``: placeholders, computes, an optional schedule, outputs."""

    def __init__(self, name: str):
        self.kernel = KernelOp(name)
        self._names: set[str] = set()
        self.placeholders: list[Tensor] = []
        self.stages: list[Tensor] = []
        self.outputs: list[Tensor] = []
        self._schedule = None

    @property
    def name(self) -> str:
        return self.kernel.sym_name.data

    @property
    def block(self) -> Block:
        return self.kernel.block

    def unique_name(self, base: str) -> str:
        """``base`` if unused in this kernel, else ``base_1``, ``base_2``, ..."""
        name, n = base, 0
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    def _insert(self, op) -> None:
        last = self.block.last_op
        if isinstance(last, ReturnOp):
            self.block.insert_op_before(op, last)
        else:
            self.block.add_op(op)

    def placeholder(
        self, shape: Sequence[int], dtype: Attribute | str = f32, name: str = "p"
    ) -> Tensor:
        """An input tensor; inputs are the kernel's placeholders in creation order."""
        if self.stages:
            raise RuntimeError("placeholders must be created before computes")
        name = self.unique_name(name)
        op = PlaceholderOp(name, TensorType(_dtype(dtype), [int(d) for d in shape]))
        op.result.name_hint = name
        self._insert(op)
        t = Tensor(op.result, name, self)
        self.placeholders.append(t)
        return t

    def compute(
        self,
        shape: Sequence[int],
        fcompute: Callable[..., Expr | Number],
        name: str = "compute",
        tag: str | None = None,
        dtype: Attribute | str | None = None,
    ) -> Tensor:
        """A stage: element ``(i, j, ...)`` is ``fcompute(i, j, ...)``.

        The element type is ``dtype`` if given, else the type of the returned expression
        (``f32`` for a bare Python float).
        """
        shape = tuple(int(d) for d in shape)
        want = _dtype(dtype) if dtype is not None else None
        block = Block(arg_types=[IndexType()] * len(shape))
        for i, a in enumerate(block.args):
            a.name_hint = _AXIS_NAMES[i] if i < len(_AXIS_NAMES) else f"i{i}"
        with emitting_into(block):
            v = fcompute(*(Expr(a) for a in block.args))
            if isinstance(v, Expr):
                val = v
            elif want is not None:
                val = const(v, want)
            else:
                val = as_expr(v, f32)
            if want is not None and val.type != want:
                val = cast(val, want)
            block.add_op(YieldOp(val.value))
        name = self.unique_name(name)
        op = ComputeOp(name, TensorType(val.type, list(shape)), Region(block), tag=tag)
        op.result.name_hint = name
        self._insert(op)
        t = Tensor(op.result, name, self)
        self.stages.append(t)
        return t

    def output(self, *tensors: Tensor) -> None:
        """Emit ``te.return`` (the kernel's outputs, in order)."""
        if isinstance(self.block.last_op, ReturnOp):
            raise RuntimeError("kernel outputs already set")
        self.outputs = list(tensors)
        self.block.add_op(ReturnOp(*(t.value for t in tensors)))

    def schedule(self):
        """The schedule builder of this kernel (creates the ``te.schedule`` region once)."""
        from xtvm.topi.schedule import Schedule

        if self._schedule is None:
            self._schedule = Schedule(self.kernel)
        return self._schedule

    def finish(self, verify: bool = True) -> KernelOp:
        """The finished ``te.kernel`` (verified unless asked not to)."""
        if not isinstance(self.block.last_op, ReturnOp):
            raise RuntimeError("call output(...) before finish()")
        if verify:
            try:
                self.kernel.verify()
            except VerifyException as e:
                raise RuntimeError(f"kernel {self.name} does not verify: {e}") from e
        return self.kernel
