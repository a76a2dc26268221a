"""Text recognizers: a CRNN (CNN + bidirectional LSTM, CTC head) and an SVTR-like transformer."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto

from xtvm.testing.zoo.graph import GraphBuilder, image_input

# size -> (conv widths, LSTM hidden size, classes)
_CRNN = {
    "tiny": ((8, 16, 16, 16, 32, 32), 16, 11),
    "real": ((64, 128, 256, 256, 512, 512), 256, 97),
}


def _lstm_weights(b: GraphBuilder, cin: int, hidden: int) -> list[str]:
    """W [2, 4H, in], R [2, 4H, H], B [2, 8H] for a bidirectional ONNX LSTM (gates i, o, f, c)."""
    return [
        b.weight((2, 4 * hidden, cin), fan_in=cin, base="lstm.W"),
        b.weight((2, 4 * hidden, hidden), fan_in=hidden, base="lstm.R"),
        b.const((b.rng.standard_normal((2, 8 * hidden)) * 0.1).astype(np.float32), "lstm.B"),
    ]


def crnn_like(size: str = "tiny") -> onnx.ModelProto:
    """Conv-BN-ReLU stack (height 32 -> 1), Squeeze/Transpose to [T, batch, C], 2-layer BiLSTM,
    MatMul+Add to classes, LogSoftmax.

    Input ``x[batch, 3, 32, width]`` (batch and width symbolic, T = width / 4); output
    ``log_probs[time, batch, classes]``.
    """
    (c1, c2, c3, c4, c5, c6), hidden, classes = _CRNN[size]
    b = GraphBuilder(f"crnn_like_{size}", seed=31)
    x = image_input(b, "x", 3, 32, "width")
    pool2 = {"kernel_shape": [2, 2], "strides": [2, 2]}
    pool21 = {"kernel_shape": [2, 1], "strides": [2, 1]}
    y = b.op("MaxPool", [b.conv_bn(x, 3, c1, 3)], **pool2)  # H 16
    y = b.op("MaxPool", [b.conv_bn(y, c1, c2, 3)], **pool2)  # H 8
    y = b.op("MaxPool", [b.conv_bn(b.conv_bn(y, c2, c3, 3), c3, c4, 3)], **pool21)  # H 4
    y = b.op("MaxPool", [b.conv_bn(b.conv_bn(y, c4, c5, 3), c5, c6, 3)], **pool21)  # H 2
    y = b.conv_bn(y, c6, c6, (2, 1), pad=(0, 0))  # H 1
    seq = b.op("Transpose", [b.op("Squeeze", [y, b.i64([2])])], perm=[2, 0, 1])  # [T, b, C]
    # nn.LSTM without (h0, c0): zeros(num_layers * 2, batch, hidden), sliced per layer
    state_shape = b.shape_vec([4, b.dim(seq, 1), hidden])
    zeros = b.op(
        "ConstantOfShape",
        [state_shape],
        value=onnx.helper.make_tensor("value", TensorProto.FLOAT, [1], [0.0]),
    )
    cin = c6
    for layer in range(2):
        h0 = b.op("Slice", [zeros, b.i64([2 * layer]), b.i64([2 * layer + 2]), b.i64([0])])
        ys = b.op_n(
            "LSTM",
            [seq, *_lstm_weights(b, cin, hidden), "", h0, h0],
            3,
            direction="bidirectional",
            hidden_size=hidden,
        )
        y = b.op("Transpose", [ys[0]], perm=[0, 2, 1, 3])  # [T, b, 2, H]
        seq = b.op("Reshape", [y, b.i64([0, 0, -1])])
        cin = 2 * hidden
    logits = b.linear(seq, cin, classes, gain=3.0)
    out = b.op("LogSoftmax", [logits], axis=2)
    b.output(out, "log_probs", TensorProto.FLOAT, ["time", "batch", classes])
    return b.build()


# size -> (input width, (dim1, dim2), (depth1, depth2), (heads1, heads2), out dim, classes)
_SVTR = {
    "tiny": (64, (16, 32), (1, 1), (2, 2), 32, 11),
    "real": (320, (64, 128), (3, 6), (2, 4), 192, 97),
}


def _local_mask(h: int, w: int, kh: int = 7, kw: int = 11) -> np.ndarray:
    """SVTR's local mixer: -inf outside a kh x kw window around each token."""
    ys, xs = np.divmod(np.arange(h * w), w)
    near = (np.abs(ys[:, None] - ys[None]) <= kh // 2) & (np.abs(xs[:, None] - xs[None]) <= kw // 2)
    return np.where(near, 0.0, -np.inf).astype(np.float32)[None, None]


def _block(b: GraphBuilder, x: str, dim: int, heads: int, mask: str | None) -> str:
    """Pre-norm transformer block: LN, multi-head attention (+ mask), residual, LN, MLP, residual."""
    hd = dim // heads
    h = b.layer_norm(x, dim, eps=1e-6)
    bs, n = b.dim(h, 0), b.dim(h, 1)
    qkv = b.reshape(b.linear(h, dim, 3 * dim), [bs, n, 3, heads, hd])
    qkv = b.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q, k, v = (b.op("Gather", [qkv, b.i64(i)], axis=0) for i in range(3))
    kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
    attn = b.op("MatMul", [b.op("Mul", [q, b.f32(1.0 / math.sqrt(hd))]), kt])
    if mask is not None:
        attn = b.op("Add", [attn, mask])
    y = b.op("MatMul", [b.op("Softmax", [attn], axis=-1), v])
    y = b.reshape(b.op("Transpose", [y], perm=[0, 2, 1, 3]), [bs, n, dim])
    x = b.op("Add", [x, b.linear(y, dim, dim, gain=0.5)])
    h = b.linear(
        b.gelu(b.linear(b.layer_norm(x, dim, eps=1e-6), dim, 4 * dim)), 4 * dim, dim, gain=0.5
    )
    return b.op("Add", [x, h])


def _to_image(b: GraphBuilder, tokens: str, dim: int, h: int, w: int) -> str:
    """[b, h*w, C] -> [b, C, h, w]: Transpose, then Reshape with the batch taken from Shape."""
    t = b.op("Transpose", [tokens], perm=[0, 2, 1])
    return b.reshape(t, [b.dim(t, 0), dim, h, w])


def _to_tokens(b: GraphBuilder, img: str) -> str:
    """[b, C, h, w] -> [b, h*w, C]: x.flatten(2).transpose(1, 2)."""
    return b.op("Transpose", [b.flatten_from(img, 2)], perm=[0, 2, 1])


def svtr_like(size: str = "tiny") -> onnx.ModelProto:
    """Patch-embedding convs, local-then-global transformer stages with a strided-conv merge,
    average pool over height, 1x1 conv + HardSwish, linear head, Softmax.

    Input ``x[batch, 3, 32, W]`` (W fixed: position embeddings and the local mask are
    constants); output ``probs[batch, W/4, classes]``.
    """
    width, (d1, d2), (n1, n2), (h1, h2), dout, classes = _SVTR[size]
    b = GraphBuilder(f"svtr_like_{size}", seed=47)
    x = image_input(b, "x", 3, 32, width)
    y = b.conv_bn(b.conv_bn(x, 3, d1 // 2, 3, 2, act="gelu"), d1 // 2, d1, 3, 2, act="gelu")
    gh, gw = 8, width // 4
    t = _to_tokens(b, y)
    pos = (b.rng.standard_normal((1, gh * gw, d1)) * 0.02).astype(np.float32)
    t = b.op("Add", [t, b.const(pos, "pos_embed")])
    mask = b.const(_local_mask(gh, gw), "local_mask")
    for _ in range(n1):
        t = _block(b, t, d1, h1, mask)
    y = b.conv(_to_image(b, t, d1, gh, gw), d1, d2, 3, stride=(2, 1))  # merge: height 8 -> 4
    t = b.layer_norm(_to_tokens(b, y), d2, eps=1e-6)
    for _ in range(n2):
        t = _block(b, t, d2, h2, None)
    y = _to_image(b, b.layer_norm(t, d2, eps=1e-6), d2, gh // 2, gw)
    y = b.op("ReduceMean", [y], axes=[2], keepdims=1)  # AdaptiveAvgPool2d((1, W/4))
    y = b.op("HardSwish", [b.conv(y, d2, dout, 1, pad=0, bias=False)])
    y = b.op("Transpose", [b.op("Squeeze", [y, b.i64([2])])], perm=[0, 2, 1])
    out = b.op("Softmax", [b.linear(y, dout, classes, gain=3.0)], axis=2)
    b.output(out, "probs", TensorProto.FLOAT, ["batch", gw, classes])
    return b.build()
