"""Elementwise and broadcasting operators (numpy broadcasting rules).

A broadcast operand is read at index 0 along its size-1 dims and aligned to the output's
trailing dims, exactly as numpy aligns shapes. Tags follow TVM: ``elemwise`` when all shapes
agree, ``broadcast`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from xtvm.topi.builder import Tensor
from xtvm.topi.expr import Expr, const, is_float, is_unsigned
from xtvm.topi.intrin import exp, max_, min_, select, sigmoid, sqrt, tanh

__all__ = [
    "add",
    "batch_norm",
    "binary",
    "broadcast_index",
    "clip",
    "divide",
    "exp_",
    "maximum",
    "minimum",
    "multiply",
    "relu",
    "sigmoid_",
    "subtract",
    "tanh_",
    "unary",
]


def broadcast_index(t: Tensor, out_shape: Sequence[int], axes: Sequence[Expr]) -> list[Expr | int]:
    """Indices into ``t`` for output element ``axes`` under numpy broadcasting."""
    offset = len(out_shape) - t.ndim
    idx: list[Expr | int] = []
    for d, size in enumerate(t.shape):
        idx.append(0 if size == 1 and out_shape[offset + d] != 1 else axes[offset + d])
    return idx


def unary(x: Tensor, fn: Callable[[Expr], Expr], name: str, tag: str = "elemwise") -> Tensor:
    """``out[i] = fn(x[i])``."""
    return x.builder.compute(x.shape, lambda *i: fn(x[i]), name, tag=tag)


def binary(a: Tensor, b: Tensor, fn: Callable[[Expr, Expr], Expr], name: str) -> Tensor:
    """``out[i] = fn(a[bcast(i)], b[bcast(i)])`` with numpy broadcasting."""
    shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    tag = "elemwise" if a.shape == b.shape else "broadcast"

    def body(*i: Expr) -> Expr:
        return fn(a[broadcast_index(a, shape, i)], b[broadcast_index(b, shape, i)])

    return a.builder.compute(shape, body, name, tag=tag)


def add(a: Tensor, b: Tensor, name: str = "add") -> Tensor:
    return binary(a, b, lambda x, y: x + y, name)


def subtract(a: Tensor, b: Tensor, name: str = "subtract") -> Tensor:
    return binary(a, b, lambda x, y: x - y, name)


def multiply(a: Tensor, b: Tensor, name: str = "multiply") -> Tensor:
    return binary(a, b, lambda x, y: x * y, name)


def _safe_int_div(x: Expr, y: Expr) -> Expr:
    """Truncating division that cannot trap: ``x / 0`` is 0 and ``MIN / -1`` wraps to ``MIN``
    (x86's idiv raises SIGFPE on both; ONNX leaves them undefined)."""
    zero = const(0, x.type)
    one = const(1, x.type)
    if is_unsigned(x.type):  # arith.divui: only x / 0 traps
        return select(y.eq(zero), zero, x / select(y.eq(zero), one, y))
    minus_one = const(-1, x.type)
    is_zero = y.eq(zero)
    is_minus_one = y.eq(minus_one)
    safe = select(is_zero | is_minus_one, one, y)
    return select(is_zero, zero, select(is_minus_one, zero - x, x / safe))


def divide(a: Tensor, b: Tensor, name: str = "divide") -> Tensor:
    if is_float(a.dtype):
        return binary(a, b, lambda x, y: x / y, name)
    return binary(a, b, _safe_int_div, name)


def maximum(a: Tensor, b: Tensor, name: str = "maximum") -> Tensor:
    return binary(a, b, max_, name)


def minimum(a: Tensor, b: Tensor, name: str = "minimum") -> Tensor:
    return binary(a, b, min_, name)


def relu(x: Tensor, name: str = "relu") -> Tensor:
    return unary(x, lambda v: max_(v, const(0.0, x.dtype)), name)


def sigmoid_(x: Tensor, name: str = "sigmoid") -> Tensor:
    return unary(x, sigmoid, name)


def tanh_(x: Tensor, name: str = "tanh") -> Tensor:
    return unary(x, tanh, name)


def exp_(x: Tensor, name: str = "exp") -> Tensor:
    return unary(x, exp, name)


def clip(x: Tensor, a_min: float, a_max: float, name: str = "clip") -> Tensor:
    """``min(max(x, a_min), a_max)``; infinite bounds are left out."""

    def body(v: Expr) -> Expr:
        if a_min != float("-inf"):
            v = max_(v, const(a_min, x.dtype))
        if a_max != float("inf"):
            v = min_(v, const(a_max, x.dtype))
        return v

    return unary(x, body, name)


def batch_norm(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    mean: Tensor,
    var: Tensor,
    epsilon: float,
    name: str = "batch_norm",
) -> Tensor:
    """Inference batch norm over axis 1, one elementwise stage:
    ``(x - mean[c]) * (gamma[c] / sqrt(var[c] + eps)) + beta[c]``."""

    def body(*i: Expr) -> Expr:
        c = i[1]
        scale = gamma[c] / sqrt(var[c] + const(epsilon, x.dtype))
        return (x[i] - mean[c]) * scale + beta[c]

    return x.builder.compute(x.shape, body, name, tag="broadcast")
