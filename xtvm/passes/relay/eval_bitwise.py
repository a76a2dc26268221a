"""numpy evaluators of the bitwise relay ops (shifts as ONNX BitShift defines them)."""

from __future__ import annotations

import numpy as np

from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import register_evaluator


@register_evaluator(relay.BitwiseAndOp)
def _and(op: relay.BitwiseAndOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_and(a, b)


@register_evaluator(relay.BitwiseOrOp)
def _or(op: relay.BitwiseOrOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_or(a, b)


@register_evaluator(relay.BitwiseXorOp)
def _xor(op: relay.BitwiseXorOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_xor(a, b)


@register_evaluator(relay.BitwiseNotOp)
def _not(op: relay.BitwiseNotOp, x: np.ndarray) -> np.ndarray:
    return np.invert(x)


def shift(x: np.ndarray, s: np.ndarray, left: bool) -> np.ndarray:
    """Out-of-range amounts (< 0 or >= width) give 0, or -1 for a right shift of a negative."""
    x, s = np.broadcast_arrays(x, s.astype(x.dtype))
    width = x.dtype.itemsize * 8
    s64 = s.astype(np.int64) if x.dtype.kind == "i" else s.astype(np.uint64)
    ok = (s64 >= 0) & (s64 < width)
    safe = np.where(ok, s, 0).astype(x.dtype)
    if left:
        return np.where(ok, np.left_shift(x, safe), 0).astype(x.dtype)
    fill = np.where(x < 0, -1, 0) if x.dtype.kind == "i" else np.zeros_like(x)
    return np.where(ok, np.right_shift(x, safe), fill).astype(x.dtype)


@register_evaluator(relay.LeftShiftOp)
def _shl(op: relay.LeftShiftOp, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    return shift(x, s, True)


@register_evaluator(relay.RightShiftOp)
def _shr(op: relay.RightShiftOp, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    return shift(x, s, False)


@register_evaluator(relay.ReinterpretOp)
def _reinterpret(op: relay.ReinterpretOp, x: np.ndarray) -> np.ndarray:
    dtype = relay.numpy_dtype_of(relay.elt_of(op.result))
    return np.ascontiguousarray(x).view(dtype)
