"""Einsum as one direct compute: a ``te.reduce "sum"`` over the letters missing from the output.

Chosen over a transpose/reshape/batch_matmul lowering because it is general (diagonals,
traces, sums, outer products, any operand count) and costs the same loop nest as a
hand-written batch_matmul for the matmul-like patterns; the default schedule then vectorizes
the output's last dim like any other reduction.
"""

from __future__ import annotations

from collections.abc import Sequence

from xtvm.dialects.relay.einsum import letter_sizes, parse_equation
from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr
from xtvm.topi.intrin import sum_


def einsum(operands: Sequence[Tensor], equation: str, name: str = "einsum") -> Tensor:
    """``equation`` is explicit and ellipsis-free (``relay.einsum``'s form)."""
    terms, out = parse_equation(equation)
    sizes = letter_sizes(terms, [t.shape for t in operands])
    reduced = sorted({ch for t in terms for ch in t} - set(out))

    def product(env: dict[str, Expr]) -> Expr:
        value: Expr | None = None
        for t, term in zip(operands, terms):
            # a size-1 dim broadcast against a larger letter size reads index 0
            idx = [0 if n == 1 and sizes[ch] != 1 else env[ch] for ch, n in zip(term, t.shape)]
            v = t[idx]
            value = v if value is None else value * v
        assert value is not None
        return value

    def body(*i: Expr) -> Expr:
        env = dict(zip(out, i))
        if not reduced:
            return product(env)
        return sum_(
            lambda *r: product({**env, **dict(zip(reduced, r))}),
            [sizes[ch] for ch in reduced],
        )

    shape = tuple(sizes[ch] for ch in out)
    return operands[0].builder.compute(shape, body, name, tag="einsum")
