"""Transformer ops (Attention, RotaryEmbedding, RMSNormalization, SwiGLU): compiled xtvm output
equals onnxruntime's (onnx's reference evaluator for SwiGLU, which onnxruntime lacks). Cases
share models so each compiles once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import xtvm
from xtvm.errors import ModelError

RNG = np.random.default_rng(7)
F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def make_model(nodes, inputs: Mapping[str, tuple[int, list[int]]], outputs, opset: int):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(n, F, []) for n in outputs],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def check(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], reference: bool = False):
    """Compile with xtvm, run, and compare every output with the reference engine's."""
    if reference:
        want = ReferenceEvaluator(model).run(None, dict(feeds))
    else:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        want = sess.run(None, dict(feeds))
    for out, w in zip(model.graph.output, want):  # declare the shapes the reference computed
        out.type.tensor_type.shape.Clear()
        for n in w.shape:
            out.type.tensor_type.shape.dim.add().dim_value = n
    mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
    got = xtvm.build(mod).run(dict(feeds))
    assert len(got) == len(want)
    for out, w, g in zip(model.graph.output, want, got):
        assert g.shape == w.shape, out.name
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=out.name)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_rms_normalization_axes_and_epsilon():
    nodes = [
        helper.make_node("RMSNormalization", ["x", "s_last"], ["y_last"]),
        helper.make_node("RMSNormalization", ["x", "s_two"], ["y_two"], axis=-2, epsilon=0.1),
        helper.make_node("RMSNormalization", ["x", "s_all"], ["y_all"], axis=0, stash_type=1),
    ]
    shapes = {"x": [2, 3, 5], "s_last": [5], "s_two": [3, 5], "s_all": [2, 3, 5]}
    model = make_model(
        nodes, {n: (F, s) for n, s in shapes.items()}, ["y_last", "y_two", "y_all"], 23
    )
    check(model, {n: normal(*s) for n, s in shapes.items()})


def test_swiglu_and_swish():
    nodes = [
        helper.make_node("SwiGLU", ["a", "b"], ["y"]),
        helper.make_node("SwiGLU", ["a", "b"], ["y_alpha"], alpha=1.702),
        helper.make_node("Swish", ["a"], ["y_swish"], alpha=0.5),
    ]
    outs = ["y", "y_alpha", "y_swish"]
    model = make_model(nodes, {"a": (F, [3, 8]), "b": (F, [3, 8])}, outs, 28)
    check(model, {"a": normal(3, 8), "b": normal(3, 8)}, reference=True)


def test_rotary_embedding_variants():
    """4-D with position ids (plain, interleaved, partial), 3-D with num_heads, and caches
    given per (batch, position) without position ids."""
    b, h, s, d, max_pos = 2, 3, 4, 8, 10
    nodes = [
        helper.make_node("RotaryEmbedding", ["x4", "cos", "sin", "pos"], ["y_plain"]),
        helper.make_node(
            "RotaryEmbedding", ["x4", "cos", "sin", "pos"], ["y_inter"], interleaved=1
        ),
        helper.make_node(
            "RotaryEmbedding",
            ["x4", "cos_p", "sin_p", "pos"],
            ["y_partial"],
            rotary_embedding_dim=4,
            interleaved=1,
        ),
        helper.make_node("RotaryEmbedding", ["x3", "cos", "sin", "pos"], ["y_3d"], num_heads=h),
        helper.make_node("RotaryEmbedding", ["x4", "cos_b", "sin_b"], ["y_nopos"]),
    ]
    shapes = {
        "x4": (F, [b, h, s, d]),
        "x3": (F, [b, s, h * d]),
        "cos": (F, [max_pos, d // 2]),
        "sin": (F, [max_pos, d // 2]),
        "cos_p": (F, [max_pos, 2]),
        "sin_p": (F, [max_pos, 2]),
        "cos_b": (F, [b, s, d // 2]),
        "sin_b": (F, [b, s, d // 2]),
        "pos": (I64, [b, s]),
    }
    outs = ["y_plain", "y_inter", "y_partial", "y_3d", "y_nopos"]
    model = make_model(nodes, shapes, outs, 23)
    feeds = {n: normal(*sh) for n, (t, sh) in shapes.items() if t == F}
    feeds["pos"] = RNG.integers(0, max_pos, (b, s)).astype(np.int64)
    check(model, feeds)


def test_attention_4d_gqa_causal_mask_softcap_and_taps():
    """Grouped-query heads, a float mask, causal masking, softcap and a KV cache, with the
    present key/value and the qk_matmul_output tap."""
    b, hq, hkv, sq, skv, past, d = 2, 4, 2, 3, 5, 2, 8
    node = helper.make_node(
        "Attention",
        ["q", "k", "v", "mask", "past_k", "past_v"],
        ["y", "present_k", "present_v", "qk"],
        is_causal=1,
        softcap=3.0,
        qk_matmul_output_mode=1,
    )
    shapes = {
        "q": [b, hq, sq, d],
        "k": [b, hkv, skv, d],
        "v": [b, hkv, skv, d],
        "mask": [sq, past + skv],
        "past_k": [b, hkv, past, d],
        "past_v": [b, hkv, past, d],
    }
    model = make_model(
        [node], {n: (F, s) for n, s in shapes.items()}, ["y", "present_k", "present_v", "qk"], 23
    )
    check(model, {n: normal(*s) for n, s in shapes.items()})


def test_attention_3d_bool_mask_and_scale():
    """3-D inputs split into heads by q_num_heads/kv_num_heads, a boolean mask, scale."""
    b, sq, skv, hq, hkv, d = 2, 3, 4, 4, 2, 4
    node = helper.make_node(
        "Attention",
        ["q", "k", "v", "mask"],
        ["y"],
        q_num_heads=hq,
        kv_num_heads=hkv,
        scale=0.3,
    )
    inputs = {
        "q": (F, [b, sq, hq * d]),
        "k": (F, [b, skv, hkv * d]),
        "v": (F, [b, skv, hkv * d]),
        "mask": (B, [sq, skv]),
    }
    model = make_model([node], inputs, ["y"], 23)
    mask = RNG.random((sq, skv)) > 0.3
    mask[:, 0] = True
    feeds = {n: normal(*s) for n, (t, s) in inputs.items() if t == F}
    check(model, {**feeds, "mask": mask})


def test_unsupported_attributes_are_model_errors():
    node = helper.make_node("RotaryEmbedding", ["x", "c", "s"], ["y"], rotary_embedding_dim=3)
    inputs = {"x": (F, [1, 2, 3, 4]), "c": (F, [1, 3, 1]), "s": (F, [1, 3, 1])}
    model = make_model([node], inputs, ["y"], 23)
    with pytest.raises(ModelError, match="rotary_embedding_dim"):
        xtvm.from_onnx(model, {"x": (1, 2, 3, 4), "c": (1, 3, 1), "s": (1, 3, 1)})
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"], stash_type=10)
    model = make_model([node], {"x": (F, [2, 3]), "s": (F, [3])}, ["y"], 23)
    with pytest.raises(ModelError, match="stash_type"):
        xtvm.from_onnx(model, {"x": (2, 3), "s": (3,)})


def test_attention_opset24_nonpad_kv_seqlen():
    """Opset 24's per-batch valid KV lengths, with causal masking."""
    b, h, sq, skv, d = 2, 2, 3, 5, 4
    node = helper.make_node("Attention", ["q", "k", "v", "", "", "", "nonpad"], ["y"], is_causal=1)
    inputs = {
        "q": (F, [b, h, sq, d]),
        "k": (F, [b, h, skv, d]),
        "v": (F, [b, h, skv, d]),
        "nonpad": (I64, [b]),
    }
    model = make_model([node], inputs, ["y"], 24)
    feeds = {n: normal(*s) for n, (t, s) in inputs.items() if t == F}
    check(model, {**feeds, "nonpad": np.array([5, 3], np.int64)})
