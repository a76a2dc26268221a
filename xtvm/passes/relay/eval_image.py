"""numpy evaluators of the image family: pad, resize, depth/space moves, einsum, conv2d_transpose.

Resize maps coordinates with :func:`xtvm.topi.nn.image.source_coordinate` in float32, as the
compiled kernel does, and accumulates the taps in float64.
"""

from __future__ import annotations

import numpy as np

from xtvm.dialects import relay
from xtvm.dialects.relay.einsum import letter_sizes, parse_equation
from xtvm.passes.relay.evaluate import register_evaluator
from xtvm.topi.nn.image import cubic_weights, resize_axes, source_coordinate


@register_evaluator(relay.PadOp)
def _pad(op: relay.PadOp, x: np.ndarray) -> np.ndarray:
    before, after = op.widths
    width = list(zip(before, after))
    if op.mode.data == "constant":
        return np.pad(x, width, mode="constant", constant_values=np.array(op.value).astype(x.dtype))
    return np.pad(x, width, mode=op.mode.data)


def _axis_taps(
    op: relay.ResizeOp, d: int, n: int, out: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(indices [out, taps], weights [out, taps], out-of-roi mask [out] or None) of dim d."""
    r = len(op.scale_values)
    roi = op.roi_values
    mode, method = op.coord_mode, op.method.data
    xs = np.arange(out, dtype=np.float32)
    c = np.asarray(
        source_coordinate(xs, mode, n, out, op.scale_values[d], (roi[d], roi[r + d])), np.float32
    )
    outside = ((c < 0) | (c > n - 1)) if mode == "tf_crop_and_resize" else None
    if method == "nearest":
        nm = op.nearest_mode.data
        rounded = {
            "round_prefer_floor": lambda: np.ceil(c - np.float32(0.5)),
            "round_prefer_ceil": lambda: np.floor(c + np.float32(0.5)),
            "floor": lambda: np.floor(c),
            "ceil": lambda: np.ceil(c),
        }[nm]()
        idx = np.clip(rounded.astype(np.int64), 0, n - 1)[:, None]
        return idx, np.ones_like(idx, dtype=np.float64), outside
    if method == "linear":
        if mode != "tf_crop_and_resize":
            c = np.clip(c, np.float32(0), np.float32(n - 1))
        lo = np.floor(c)
        w1 = (c - lo).astype(np.float64)
        base = lo.astype(np.int64)
        idx = np.clip(np.stack([base, base + 1], 1), 0, n - 1)
        return idx, np.stack([1 - w1, w1], 1), outside
    lo = np.floor(c)
    ws = np.stack(cubic_weights((c - lo).astype(np.float64), op.cubic_coeff_a.value.data), 1)
    raw = lo.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
    if op.exclude_outside.value.data:
        ws = np.where((raw >= 0) & (raw < n), ws, 0.0)
        ws = ws / ws.sum(axis=1, keepdims=True)
    return np.clip(raw, 0, n - 1), ws, outside


@register_evaluator(relay.ResizeOp)
def _resize(op: relay.ResizeOp, x: np.ndarray) -> np.ndarray:
    out_shape = relay.shape_of(op.result)
    axes = resize_axes(x.shape, out_shape, op.scale_values, op.roi_values, op.coord_mode)
    y = x.astype(np.float64)
    mask = np.zeros(out_shape, dtype=bool)
    for d in axes:
        idx, ws, outside = _axis_taps(op, d, x.shape[d], out_shape[d])
        gathered = np.take(y, idx, axis=d)  # [..., out, taps, ...]
        shape = [1] * y.ndim + [1]
        shape[d], shape[d + 1] = ws.shape
        y = (gathered * ws.reshape(shape)).sum(axis=d + 1)
        if outside is not None:
            mshape = [1] * len(out_shape)
            mshape[d] = out_shape[d]
            mask |= outside.reshape(mshape)
    if mask.any():
        y = np.where(mask, op.extrapolation_value.value.data, y)
    return y


@register_evaluator(relay.DepthToSpaceOp)
def _depth_to_space(op: relay.DepthToSpaceOp, x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    b = op.block
    if op.mode.data == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // (b * b), h * b, w * b)


@register_evaluator(relay.SpaceToDepthOp)
def _space_to_depth(op: relay.SpaceToDepthOp, x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    b = op.block
    t = x.reshape(n, c, h // b, b, w // b, b)
    t = t.transpose(0, 3, 5, 1, 2, 4) if op.mode.data == "DCR" else t.transpose(0, 1, 3, 5, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


@register_evaluator(relay.EinsumOp)
def _einsum(op: relay.EinsumOp, *xs: np.ndarray) -> np.ndarray:
    terms, out = parse_equation(op.equation.data)
    sizes = letter_sizes(terms, [a.shape for a in xs])
    wide = [np.broadcast_to(a, [sizes[ch] for ch in t]) for a, t in zip(xs, terms)]
    if all(np.issubdtype(a.dtype, np.floating) for a in xs):
        wide = [a.astype(np.float64) for a in wide]
    return np.einsum(op.equation.data, *wide)


@register_evaluator(relay.Conv2dTransposeOp)
def _conv2d_transpose(op: relay.Conv2dTransposeOp, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    (sh, sw), (pt, pl, _, _), (dh, dw), _, groups = op.attrs
    n, c, h, wd = x.shape
    _, opg, kh, kw = w.shape
    _, o, oh, ow = relay.shape_of(op.result)
    cpg = c // groups
    full_h = max((h - 1) * sh + dh * (kh - 1) + 1, pt + oh)
    full_w = max((wd - 1) * sw + dw * (kw - 1) + 1, pl + ow)
    acc = np.zeros((n, o, full_h, full_w))
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    for g in range(groups):
        xg = x64[:, g * cpg : (g + 1) * cpg]
        wg = w64[g * cpg : (g + 1) * cpg]
        for ky in range(kh):
            for kx in range(kw):
                contrib = np.einsum("nchw,co->nohw", xg, wg[:, :, ky, kx])
                y0, x0 = ky * dh, kx * dw
                acc[
                    :,
                    g * opg : (g + 1) * opg,
                    y0 : y0 + (h - 1) * sh + 1 : sh,
                    x0 : x0 + (wd - 1) * sw + 1 : sw,
                ] += contrib
    return acc[:, :, pt : pt + oh, pl : pl + ow]
