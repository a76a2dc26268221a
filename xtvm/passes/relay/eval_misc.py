"""numpy evaluators of the trig/hyperbolic ops and the running product."""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation

from xtvm.dialects.relay import misc
from xtvm.passes.relay.evaluate import register_evaluator

_TRIG = {
    misc.SinOp: np.sin,
    misc.CosOp: np.cos,
    misc.TanOp: np.tan,
    misc.AsinOp: np.arcsin,
    misc.AcosOp: np.arccos,
    misc.AtanOp: np.arctan,
    misc.SinhOp: np.sinh,
    misc.CoshOp: np.cosh,
    misc.AsinhOp: np.arcsinh,
    misc.AcoshOp: np.arccosh,
    misc.AtanhOp: np.arctanh,
}


@register_evaluator(*_TRIG)
def _trig(op: Operation, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # NaN/inf like libm
        return _TRIG[type(op)](x.astype(np.float64)).astype(x.dtype)


@register_evaluator(misc.CumProdOp)
def _cumprod(op: misc.CumProdOp, x: np.ndarray) -> np.ndarray:
    axis, exclusive, reverse = op.attrs
    v = np.flip(x, axis=axis) if reverse else x
    out = np.cumprod(v, axis=axis, dtype=v.dtype)
    if exclusive:  # shift by one: element i holds the product of elements before i
        head = np.ones_like(np.take(out, [0], axis=axis))
        out = np.concatenate([head, np.take(out, np.arange(out.shape[axis] - 1), axis=axis)], axis)
    return np.flip(out, axis=axis) if reverse else out
