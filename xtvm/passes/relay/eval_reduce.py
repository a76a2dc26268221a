"""numpy evaluators of the reduction, normalization and sorting-like relay ops.

Float math runs in float64 and is rounded to the result type by the caller; integer
reductions stay in their own type (int64 wraps like the compiled code does).
"""

from __future__ import annotations

import numpy as np

from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import register_evaluator


def _f64(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


@register_evaluator(relay.ReduceOp)
def _reduce(op: relay.ReduceOp, x: np.ndarray) -> np.ndarray:
    kind, axes, keep = op.kind.data, op.reduce_axes, op.keep
    v = _f64(x)
    if kind == "sum_square":
        v, kind = v * v, "sum"
    elif kind == "l1":
        v, kind = np.abs(v), "sum"
    if kind == "l2":
        return np.sqrt(np.sum(v * v, axis=axes, keepdims=keep))
    if kind == "log_sum":
        return np.log(np.sum(v, axis=axes, keepdims=keep))
    if kind == "log_sum_exp":
        if not axes:
            return v
        m = np.max(v, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0.0)
        s = np.log(np.sum(np.exp(v - m), axis=axes, keepdims=True)) + m
        return s if keep else np.squeeze(s, axis=axes)
    if kind == "mean":  # an empty mean is 0, as in onnxruntime (ONNX leaves it undefined)
        count = int(np.prod([v.shape[a] for a in axes])) if axes else 1
        return np.sum(v, axis=axes, keepdims=keep) / max(count, 1)
    if kind in ("max", "min"):  # an empty max/min is the type's lowest/highest value
        return getattr(np, kind)(v, axis=axes, keepdims=keep, initial=_extreme(v.dtype, kind))
    fn = {"sum": np.sum, "prod": np.prod}[kind]
    return fn(v, axis=axes, keepdims=keep)


def _extreme(dtype: np.dtype, kind: str) -> float | int | bool:
    """The identity of ``kind`` (max or min) for ``dtype``: -inf/+inf, the integer limits."""
    low = kind == "max"
    if dtype == np.bool_:
        return not low
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return int(info.min if low else info.max)
    return -np.inf if low else np.inf


def _arg_index(x: np.ndarray, axis: int, find_max: bool, last: bool) -> np.ndarray:
    fn = np.argmax if find_max else np.argmin
    if not last:
        return fn(x, axis=axis, keepdims=True)
    n = x.shape[axis]
    return n - 1 - fn(np.flip(x, axis=axis), axis=axis, keepdims=True)


@register_evaluator(relay.ArgMaxOp, relay.ArgMinOp)
def _arg_reduce(op: relay.ArgReduceOp, x: np.ndarray) -> np.ndarray:
    axis, keep, last = op.attrs
    idx = _arg_index(x, axis, isinstance(op, relay.ArgMaxOp), last)
    return idx if keep else np.squeeze(idx, axis=axis)


@register_evaluator(relay.LogSoftmaxOp)
def _log_softmax(op: relay.LogSoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.axis.value.data
    v = x.astype(np.float64)
    shifted = v - v.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@register_evaluator(relay.HardmaxOp)
def _hardmax(op: relay.HardmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.axis.value.data
    idx = np.argmax(x, axis=axis, keepdims=True)
    pos = np.arange(x.shape[axis]).reshape([-1 if d == axis else 1 for d in range(x.ndim)])
    return (pos == idx).astype(x.dtype)


def _moments(x: np.ndarray, axes: tuple[int, ...], eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 1 / sqrt(variance + eps) over ``axes`` (kept as size-1 dims)."""
    v = x.astype(np.float64)
    mean = v.mean(axis=axes, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=axes, keepdims=True)
    return mean, 1.0 / np.sqrt(var + eps)


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mean, inv_std = _moments(x, axes, eps)
    return (x.astype(np.float64) - mean) * inv_std


@register_evaluator(relay.LayerNormOp)
def _layer_norm(op: relay.LayerNormOp, x, scale, bias) -> np.ndarray:
    axes = tuple(range(op.axis.value.data, x.ndim))
    kind = op.result_kind
    if kind != "output":
        mean, inv_std = _moments(x, axes, op.epsilon.value.data)
        return mean if kind == "mean" else inv_std
    y = _normalize(x, axes, op.epsilon.value.data)
    return y * scale.astype(np.float64) + bias.astype(np.float64)


@register_evaluator(relay.InstanceNormOp)
def _instance_norm(op: relay.InstanceNormOp, x, scale, bias) -> np.ndarray:
    y = _normalize(x, tuple(range(2, x.ndim)), op.epsilon.value.data)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return y * scale.astype(np.float64).reshape(shape) + bias.astype(np.float64).reshape(shape)


@register_evaluator(relay.TopKOp)
def _topk(op: relay.TopKOp, x: np.ndarray) -> np.ndarray:
    k, axis, largest, ret = op.attrs
    # a stable sort keeps equal elements in index order (ONNX: the lower index first)
    if largest:
        order = np.argsort(-_f64(x) if x.dtype.kind == "f" else -x, axis=axis, kind="stable")
    else:
        order = np.argsort(x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return idx.astype(np.int64) if ret == "indices" else np.take_along_axis(x, idx, axis=axis)


@register_evaluator(relay.CumSumOp)
def _cumsum(op: relay.CumSumOp, x: np.ndarray) -> np.ndarray:
    axis, exclusive, reverse = op.attrs
    v = _f64(x)
    if reverse:
        v = np.flip(v, axis=axis)
    out = np.cumsum(v, axis=axis, dtype=v.dtype)
    if exclusive:  # shift by one: element i holds the sum of elements before i
        head = np.zeros_like(np.take(out, [0], axis=axis))
        out = np.concatenate([head, np.take(out, np.arange(out.shape[axis] - 1), axis=axis)], axis)
    return np.flip(out, axis=axis) if reverse else out
