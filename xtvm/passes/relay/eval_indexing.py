"""numpy evaluators of the indexing ops, with the computes' index rules (negative indices
count from the end, out-of-range ones are clamped), so folding and compiled code agree."""

from __future__ import annotations

import numpy as np

from xtvm.dialects import relay
from xtvm.passes.relay.evaluate import register_evaluator


def _normalize(indices: np.ndarray, n: int) -> np.ndarray:
    idx = indices.astype(np.int64)
    return np.clip(np.where(idx < 0, idx + n, idx), 0, n - 1)


@register_evaluator(relay.TakeOp)
def _take(op: relay.TakeOp, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    axis = op.axis.value.data
    return np.take(data, _normalize(indices, data.shape[axis]), axis=axis)


@register_evaluator(relay.GatherElementsOp)
def _gather_elements(op: relay.GatherElementsOp, data: np.ndarray, idx: np.ndarray) -> np.ndarray:
    axis = op.axis.value.data
    # the data is cut to the indices' extent outside the axis (the op allows smaller indices)
    view = data[tuple(slice(0, n) if d != axis else slice(None) for d, n in enumerate(idx.shape))]
    return np.take_along_axis(view, _normalize(idx, data.shape[axis]), axis=axis)


@register_evaluator(relay.ScatterNdOp)
def _scatter_nd(
    op: relay.ScatterNdOp, data: np.ndarray, indices: np.ndarray, updates: np.ndarray
) -> np.ndarray:
    out = data.copy()
    k = indices.shape[-1]
    idx = indices.reshape(-1, k)
    upd = updates.reshape((idx.shape[0],) + data.shape[k:])
    combine = _COMBINE[op.reduction.data]
    for m in range(idx.shape[0]):  # in order: with duplicates the last update wins
        where = tuple(int(_normalize(idx[m, t], data.shape[t])) for t in range(k))
        out[where] = combine(out[where], upd[m])
    return out


_COMBINE = {
    "none": lambda old, new: new,
    "add": np.add,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


@register_evaluator(relay.TileOp)
def _tile(op: relay.TileOp, data: np.ndarray) -> np.ndarray:
    return np.tile(data, op.repeats)


@register_evaluator(relay.BroadcastToOp)
def _broadcast_to(op: relay.BroadcastToOp, data: np.ndarray) -> np.ndarray:
    return np.broadcast_to(data, relay.shape_of(op.result))


@register_evaluator(relay.GatherNdOp)
def _gather_nd(op: relay.GatherNdOp, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    b = op.batch_dims.value.data
    k = indices.shape[-1]
    out = np.empty(relay.shape_of(op.result), data.dtype)
    for pos in np.ndindex(*indices.shape[:-1]):
        tup = [int(_normalize(indices[pos][t], data.shape[b + t])) for t in range(k)]
        out[pos] = data[(*pos[:b], *tup)]
    return out


@register_evaluator(relay.ScatterElementsOp)
def _scatter_elements(
    op: relay.ScatterElementsOp, data: np.ndarray, indices: np.ndarray, updates: np.ndarray
) -> np.ndarray:
    axis = op.axis.value.data
    combine = _COMBINE[op.reduction.data]
    out = data.copy()
    idx = _normalize(indices, data.shape[axis])
    for pos in np.ndindex(*indices.shape):  # row-major: with duplicates the last index wins
        where = pos[:axis] + (int(idx[pos]),) + pos[axis + 1 :]
        out[where] = combine(out[where], updates[pos])
    return out
