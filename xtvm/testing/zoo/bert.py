"""A BERT-style encoder as transformers' torch.onnx export writes it (opset 17)."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto

from xtvm.testing.zoo.graph import GraphBuilder

# size -> (vocab, hidden, layers, heads, intermediate, max positions)
BERT_SIZES = {"tiny": (100, 32, 2, 2, 64, 64), "real": (30522, 768, 12, 12, 3072, 512)}


def _embeddings(b: GraphBuilder, ids: str, vocab: int, hidden: int, max_pos: int) -> str:
    """word + position (Range -> Gather) + token-type (buffered zeros sliced, Expand) lookups."""
    seq = b.dim(ids, 1)

    def table(rows: int, name: str) -> str:
        return b.const(b.rng.standard_normal((rows, hidden), dtype=np.float32) * 0.5, name)

    words = b.op("Gather", [table(vocab, "word_embeddings"), ids], axis=0)
    pos_ids = b.unsqueeze(b.op("Range", [b.i64(0), seq, b.i64(1)]), [0])
    pos = b.op("Gather", [table(max_pos, "position_embeddings"), pos_ids], axis=0)
    buffered = b.const(np.zeros((1, max_pos), dtype=np.int64), "token_type_ids_buffer")
    types = b.op("Slice", [buffered, b.i64([0]), b.unsqueeze(seq, [0]), b.i64([1])])
    types = b.op("Expand", [types, b.op("Shape", [ids])])
    tok = b.op("Gather", [table(2, "token_type_embeddings"), types], axis=0)
    emb = b.op("Add", [b.op("Add", [words, tok]), pos])
    return b.layer_norm_decomposed(emb, hidden, eps=1e-12)


def _extended_mask(b: GraphBuilder, mask: str) -> str:
    """(1 - mask[:, None, None, :].float()) * -10000."""
    m = b.op("Cast", [b.unsqueeze(mask, [1, 2])], to=TensorProto.FLOAT)
    return b.op("Mul", [b.op("Sub", [b.f32(1.0), m]), b.f32(-10000.0)])


def _layer(b: GraphBuilder, h: str, mask: str, hidden: int, heads: int, inter: int) -> str:
    hd = hidden // heads
    bs, sl = b.dim(h, 0), b.dim(h, 1)

    def split_heads(x: str, perm: list[int]) -> str:
        return b.op("Transpose", [b.reshape(x, [bs, sl, heads, hd])], perm=perm)

    q = split_heads(b.linear(h, hidden, hidden), [0, 2, 1, 3])
    kt = split_heads(b.linear(h, hidden, hidden), [0, 2, 3, 1])
    v = split_heads(b.linear(h, hidden, hidden), [0, 2, 1, 3])
    scores = b.op("Div", [b.op("MatMul", [q, kt]), b.f32(math.sqrt(hd))])
    probs = b.op("Softmax", [b.op("Add", [scores, mask])], axis=-1)
    ctx = b.op("Transpose", [b.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    ctx = b.reshape(ctx, [bs, sl, hidden])
    h = b.layer_norm(b.op("Add", [b.linear(ctx, hidden, hidden), h]), hidden, eps=1e-12)
    ff = b.linear(b.gelu(b.linear(h, hidden, inter)), inter, hidden)
    return b.layer_norm(b.op("Add", [ff, h]), hidden, eps=1e-12)


def bert_like(size: str = "tiny") -> onnx.ModelProto:
    """Embeddings (Gather, Range, Slice/Expand, decomposed LayerNorm), encoder layers with
    masked multi-head attention and Erf-Gelu, pooler (Gather token 0, Gemm, Tanh).

    Inputs ``input_ids`` and ``attention_mask``, int64 ``[batch, sequence]`` (both symbolic);
    outputs ``last_hidden_state[batch, sequence, hidden]`` and ``pooler_output[batch, hidden]``.
    """
    vocab, hidden, layers, heads, inter, max_pos = BERT_SIZES[size]
    b = GraphBuilder(f"bert_like_{size}", seed=110)
    ids = b.input("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = _extended_mask(b, b.input("attention_mask", TensorProto.INT64, ["batch", "sequence"]))
    h = _embeddings(b, ids, vocab, hidden, max_pos)
    for _ in range(layers):
        h = _layer(b, h, mask, hidden, heads, inter)
    first = b.op("Gather", [h, b.i64(0)], axis=1)
    pooled = b.op("Tanh", [b.gemm(first, hidden, hidden)])
    b.output(h, "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])
    b.output(pooled, "pooler_output", TensorProto.FLOAT, ["batch", hidden])
    return b.build()
