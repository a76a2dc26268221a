"""Resize with ``antialias=1`` (opset 18) as one weight matrix per resized axis.

When downsampling by ``scale < 1`` an antialiased linear or cubic filter is stretched by
``1 / scale``, so each output blends about ``support / scale`` inputs instead of 2 or 4. The
maps are known at import time, so each axis becomes a constant ``[out, in]`` matrix (built
here with numpy as the ONNX reference builds its taps, with onnxruntime's float32 source
coordinates) applied with ``relay.dense`` (last axis) or ``relay.batch_matmul`` (other
axes): the tuned GEMM kernels do the work, and no new kernel is needed. Upsampling axes give
the ordinary 2- or 4-tap matrix, as in the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import ConstantOp, elt_of, numpy_dtype_of, shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import reshape
from xtvm.topi.nn.image import source_coordinate

_SUPPORT = {"linear": 1.0, "cubic": 2.0}


def _filter(method: str, t: np.ndarray, a: float) -> np.ndarray:
    """Triangle (linear) or Keys cubic filter with coefficient ``a`` at offsets ``t``."""
    t = np.abs(t)
    if method == "linear":
        return np.clip(1.0 - t, 0.0, 1.0)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def antialias_matrix(
    method: str,
    coord_mode: str,
    n: int,
    out: int,
    scale: float,
    cubic_a: float = -0.75,
    exclude_outside: bool = False,
) -> np.ndarray:
    """``W`` [out, n] with ``y = W @ x`` the antialiased resize of ``x`` along one axis."""
    xs = np.arange(out, dtype=np.float32)
    c = np.asarray(source_coordinate(xs, coord_mode, n, out, scale, (0.0, 1.0)), np.float64)
    # the tap left of c (c itself minus one when c is an integer: the reference's ratio 1)
    left = np.ceil(c).astype(np.int64) - 1
    ratio = c - left
    s = min(float(scale), 1.0)
    first = int(np.floor(-_SUPPORT[method] / s) + 1)
    offsets = np.arange(first, 2 - first)
    coeffs = _filter(method, s * (offsets[None, :] - ratio[:, None]), cubic_a)
    coeffs /= coeffs.sum(axis=1, keepdims=True)
    taps = left[:, None] + offsets[None, :]
    if exclude_outside:
        coeffs = np.where((taps < 0) | (taps >= n), 0.0, coeffs)
        total = coeffs.sum(axis=1, keepdims=True)
        coeffs /= np.where(total == 0, 1.0, total)
    w = np.zeros((out, n), np.float64)
    rows = np.broadcast_to(np.arange(out)[:, None], taps.shape)
    np.add.at(w, (rows, np.clip(taps, 0, n - 1)), coeffs)  # edge taps clamp into the input
    return w


def resize_antialias(
    ctx: ConversionContext,
    x: SSAValue,
    out_shape: Sequence[int],
    scales: Sequence[float],
    method: str,
    coord_mode: str,
    cubic_a: float,
    exclude_outside: bool,
) -> SSAValue:
    """Apply each resized axis's matrix in turn (the filters are separable)."""
    dtype = np.dtype(numpy_dtype_of(elt_of(x)))
    if dtype.kind != "f":
        raise ctx.error(f"antialias=1 needs a float input, got {elt_of(x)}")
    if method not in _SUPPORT:
        raise ctx.error(f"antialias=1 applies to linear and cubic modes, not {method!r}")
    if coord_mode == "tf_crop_and_resize":
        raise ctx.error("antialias=1 with coordinate_transformation_mode=tf_crop_and_resize")
    y = x
    for d, (n, m) in enumerate(zip(shape_of(x), out_shape)):
        if n == m and scales[d] == 1.0:
            continue
        w = antialias_matrix(method, coord_mode, n, m, scales[d], cubic_a, exclude_outside)
        cur = shape_of(y)
        if d == len(cur) - 1:
            y = ctx.emit(relay.DenseOp(y, ctx.emit(ConstantOp.from_numpy(w.astype(dtype)))))
            continue
        pre, post = int(np.prod(cur[:d])), int(np.prod(cur[d + 1 :]))
        folded = reshape(ctx, y, (pre, n, post))
        lhs = ctx.emit(ConstantOp.from_numpy(w.astype(dtype)))
        y = reshape(ctx, ctx.emit(relay.BatchMatmulOp(lhs, folded)), (*cur[:d], m, *cur[d + 1 :]))
    return y
