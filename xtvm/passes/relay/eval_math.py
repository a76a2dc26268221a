"""numpy evaluators of the elementwise math, comparison, logic and cast relay ops."""

from __future__ import annotations

import math

import numpy as np
from xdsl.ir import Operation

from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import register_evaluator


def _f64(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


_UNARY = {
    relay.NegativeOp: np.negative,
    relay.AbsOp: np.abs,
    relay.SignOp: np.sign,
    relay.SqrtOp: np.sqrt,
    relay.LogOp: np.log,
    relay.FloorOp: np.floor,
    relay.CeilOp: np.ceil,
    relay.RoundOp: np.round,  # half to even
    relay.ErfOp: np.vectorize(math.erf, otypes=[np.float64]),
    relay.LogicalNotOp: np.logical_not,
}


@register_evaluator(*_UNARY)
def _unary(op: Operation, x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    with np.errstate(divide="ignore"):  # log(0) = -inf
        return _UNARY[type(op)](_f64(x))


@register_evaluator(relay.LeakyReluOp)
def _leaky_relu(op: relay.LeakyReluOp, x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    return np.where(x64 >= 0, x64, x64 * op.alpha.value.data)


_BINARY = {
    relay.PowerOp: np.power,
    relay.EqualOp: np.equal,
    relay.NotEqualOp: np.not_equal,
    relay.LessOp: np.less,
    relay.LessEqualOp: np.less_equal,
    relay.GreaterOp: np.greater,
    relay.GreaterEqualOp: np.greater_equal,
    relay.LogicalAndOp: np.logical_and,
    relay.LogicalOrOp: np.logical_or,
    relay.LogicalXorOp: np.logical_xor,
}


@register_evaluator(*_BINARY)
def _binary(op: Operation, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if type(op) is relay.PowerOp:
        return np.power(a.astype(np.float64), b.astype(np.float64))
    return _BINARY[type(op)](a, b)


@register_evaluator(relay.ModOp)
def _mod(op: relay.ModOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.floating):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        return np.fmod(a64, b64) if op.is_fmod else np.mod(a64, b64)
    safe = np.where(b == 0, 1, b)
    r = np.fmod(a, safe) if op.is_fmod else np.mod(a, safe)
    return np.where(b == 0, 0, r)


@register_evaluator(relay.WhereOp)
def _where(op: Operation, c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(c, x, y)


@register_evaluator(relay.CastOp)
def _cast(op: Operation, x: np.ndarray) -> np.ndarray:
    # the evaluator casts every result to the op's element type: astype truncates floats
    # toward zero, maps nonzero (and NaN) to True, and bool to 0/1
    return x
