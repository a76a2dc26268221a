"""Signal processing: DFT and STFT as dense products with constant cos/sin matrices.

The transform lengths in models are small, so a DFT is one ``relay.dense`` whose weight holds
the exact twiddle factors (computed in float64, stored as float32). Complex tensors are ONNX's
real layout: a trailing dim of 2 (real, imaginary); real signals have a trailing dim of 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.dialects.relay import shape_of
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.converters.common import normalize_axis, reshape, transpose
from xtvm.frontend.onnx.registry import converter

Inputs = list[SSAValue | None]
Attrs = dict[str, Any]


def _operand(ins: Inputs, k: int) -> SSAValue | None:
    return ins[k] if len(ins) > k else None


def _scalar_int(ctx: ConversionContext, v: SSAValue | None, what: str) -> int | None:
    if v is None:
        return None
    values = ctx.ints(v, what)
    if len(values) != 1:
        raise ctx.error(f"{what} must hold one value, got {values}")
    return values[0]


def dft_matrix(
    n_in: int, channels: int, length: int, inverse: bool, onesided: bool
) -> tuple[np.ndarray, int, int]:
    """Weight [K * C_out, n_in * channels] mapping an interleaved signal to its transform.

    Input samples at or past ``length`` get zero columns (ONNX truncates the signal to the
    transform length; a shorter signal is zero-padded, which the matrix does implicitly).
    Returns the weight, K (output bins or samples) and C_out (2, or 1 for a real output)."""
    sign = 1.0 if inverse else -1.0
    if inverse and onesided:  # irfft: Hermitian one-sided spectrum -> real signal
        k_out, c_out = length, 1
        w = np.zeros((k_out, c_out, n_in, channels))
        t = np.arange(length)[:, None]
        f = np.arange(min(n_in, length // 2 + 1))[None, :]
        theta = 2.0 * np.pi * t * f / length
        weight = np.where((f == 0) | (2 * f == length), 1.0, 2.0) / length
        w[:, 0, : f.shape[1], 0] = weight * np.cos(theta)
        if channels == 2:
            w[:, 0, : f.shape[1], 1] = -weight * np.sin(theta)
        return w.reshape(k_out * c_out, n_in * channels), k_out, c_out
    k_out = length // 2 + 1 if onesided else length
    c_out = 2
    scale = 1.0 / length if inverse else 1.0
    n_used = min(n_in, length)
    k = np.arange(k_out)[:, None]
    n = np.arange(n_used)[None, :]
    theta = 2.0 * np.pi * k * n / length
    cos, sin = scale * np.cos(theta), scale * sign * np.sin(theta)
    w = np.zeros((k_out, c_out, n_in, channels))
    w[:, 0, :n_used, 0] = cos  # re += xr cos
    w[:, 1, :n_used, 0] = sin  # im += xr s sin
    if channels == 2:
        w[:, 0, :n_used, 1] = -sin  # re -= xi s sin
        w[:, 1, :n_used, 1] = cos  # im += xi cos
    return w.reshape(k_out * c_out, n_in * channels), k_out, c_out


def _dense64(ctx: ConversionContext, x: SSAValue, w: np.ndarray) -> SSAValue:
    """``x @ w.T`` accumulated in float64: near-cancelling sums (an inverse transform of a
    spectrum) must stay accurate to well below float32 rounding of the terms."""
    x64 = ctx.emit(relay.CastOp(x, np.dtype("float64")))
    w64 = ctx.emit(relay.ConstantOp.from_numpy(w.astype(np.float64)))
    return ctx.emit(relay.CastOp(ctx.emit(relay.DenseOp(x64, w64)), np.dtype("float32")))


def _complex_dims(ctx: ConversionContext, x: SSAValue) -> tuple[int, ...]:
    s = shape_of(x)
    if len(s) < 2 or s[-1] not in (1, 2):
        raise ctx.error(f"input must be [..., 1] (real) or [..., 2] (complex), got {s}")
    return s


def _dft(ctx: ConversionContext, ins: Inputs, attrs: Attrs, axis: int) -> SSAValue:
    x = ins[0]
    assert x is not None
    s = _complex_dims(ctx, x)
    rank = len(s)
    axis = normalize_axis(ctx, axis, rank)
    if axis == rank - 1:
        raise ctx.error("axis must not be the last (real/imaginary) dim")
    inverse = bool(int(attrs.get("inverse", 0)))
    onesided = bool(int(attrs.get("onesided", 0)))
    length = _scalar_int(ctx, _operand(ins, 1), "dft_length (input 1)")
    if length is None:
        length = 2 * (s[axis] - 1) if inverse and onesided else s[axis]
    if length < 1:
        raise ctx.error(f"dft_length must be positive, got {length}")
    w, k_out, c_out = dft_matrix(s[axis], s[-1], length, inverse, onesided)
    others = [d for d in range(rank - 1) if d != axis]
    perm = [*others, axis, rank - 1]
    xt = transpose(ctx, x, perm)
    batch = [s[d] for d in others]
    flat = reshape(ctx, xt, [*batch, s[axis] * s[-1]])
    y = _dense64(ctx, flat, w)
    y = reshape(ctx, y, [*batch, k_out, c_out])
    inv = [0] * rank
    for i, p in enumerate(perm):
        inv[p] = i
    return transpose(ctx, y, inv)


@converter("DFT", since=17)
def dft_17(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> SSAValue:
    """Opset 17: ``axis`` is an attribute (default 1)."""
    return _dft(ctx, ins, attrs, int(attrs.get("axis", 1)))


@converter("DFT", since=20)
def dft_20(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> SSAValue:
    """Opset 20: ``axis`` is the optional input 2 (default -2)."""
    axis = _scalar_int(ctx, _operand(ins, 2), "axis (input 2)")
    return _dft(ctx, ins, attrs, -2 if axis is None else axis)


@converter("STFT", since=17)
def stft(ctx: ConversionContext, node: NodeProto, ins: Inputs, attrs: Attrs) -> SSAValue:
    """Frames are picked with a 0/1 selection matrix (exact), windowed, then transformed."""
    signal = ins[0]
    assert signal is not None
    s = _complex_dims(ctx, signal)
    if len(s) != 3:
        raise ctx.error(f"signal must be [batch, length, 1 or 2], got {s}")
    batch, n, channels = s
    step = _scalar_int(ctx, _operand(ins, 1), "frame_step (input 1)")
    window = _operand(ins, 2)
    frame_len = _scalar_int(ctx, _operand(ins, 3), "frame_length (input 3)")
    if window is not None:
        ws = shape_of(window)
        if len(ws) != 1 or (frame_len is not None and ws[0] != frame_len):
            raise ctx.error(f"window must be [frame_length], got {ws}")
        frame_len = ws[0]
    if frame_len is None:
        raise ctx.error("one of window (input 2) and frame_length (input 3) is required")
    assert step is not None
    if step < 1 or not 1 <= frame_len <= n:
        raise ctx.error(f"frame_step {step} / frame_length {frame_len} invalid for length {n}")
    onesided = bool(int(attrs.get("onesided", 1)))
    if onesided and channels == 2:
        raise ctx.error("onesided=1 needs a real signal")
    frames = 1 + (n - frame_len) // step
    select = np.zeros((frames, frame_len, channels, n, channels), dtype=np.float32)
    for f in range(frames):
        for t in range(frame_len):
            for c in range(channels):
                select[f, t, c, f * step + t, c] = 1.0
    flat = reshape(ctx, signal, [batch, n * channels])
    sel = ctx.constant(select.reshape(frames * frame_len * channels, n * channels))
    x = ctx.emit(relay.DenseOp(flat, sel))
    x = reshape(ctx, x, [batch, frames, frame_len, channels])
    if window is not None:
        x = ctx.emit(relay.MultiplyOp(x, reshape(ctx, window, [frame_len, 1])))
    w, k_out, _ = dft_matrix(frame_len, channels, frame_len, False, onesided)
    x = reshape(ctx, x, [batch, frames, frame_len * channels])
    y = _dense64(ctx, x, w)
    return reshape(ctx, y, [batch, frames, k_out, 2])
