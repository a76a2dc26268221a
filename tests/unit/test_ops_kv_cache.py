"""KV-cache ops (TensorScatter, LinearAttention): compiled code matches onnx's numpy reference
implementation (onnxruntime has no kernels for these opsets' ops)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import xtvm
from xtvm.errors import ModelError
from xtvm.testing.onnx_check import check_model

RNG = np.random.default_rng(0)


def _model(
    nodes: Sequence[onnx.NodeProto],
    feeds: dict[str, np.ndarray],
    outputs: dict[str, Sequence[int]],
    opset: int,
) -> onnx.ModelProto:
    def info(name: str, arr: np.ndarray) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape)
        )

    graph = helper.make_graph(
        list(nodes),
        "g",
        [info(k, v) for k, v in feeds.items()],
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(s)) for k, s in outputs.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def _check(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    check_model(model, feeds, reference=True, evaluate=False)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_tensor_scatter_linear_circular_and_axis() -> None:
    feeds = {
        "past": _x(3, 2, 6, 4),
        "upd": _x(3, 2, 3, 4),
        "idx": np.array([0, 3, 5], np.int64),
        "past1": _x(2, 5, 3),
        "upd1": _x(2, 2, 3),
        "idx1": np.array([1, 3], np.int64),
    }
    nodes = [
        helper.make_node("TensorScatter", ["past", "upd", "idx"], ["lin"]),  # idx 5 clips
        helper.make_node("TensorScatter", ["past", "upd", "idx"], ["circ"], mode="circular"),
        helper.make_node("TensorScatter", ["past1", "upd1", "idx1"], ["ax1"], axis=1),
        helper.make_node("TensorScatter", ["past1", "upd1"], ["noidx"], axis=1),
    ]
    feeds["idx"][2] = 3  # linear writes must stay inside the cache
    outs = {"lin": (3, 2, 6, 4), "circ": (3, 2, 6, 4), "ax1": (2, 5, 3), "noidx": (2, 5, 3)}
    _check(_model(nodes, feeds, outs, 24), feeds)
    feeds["idx"][2] = 5  # wraps around in circular mode
    _check(_model(nodes[1:2], feeds, {"circ": (3, 2, 6, 4)}, 24), feeds)


@pytest.mark.parametrize(
    ("rule", "hq", "hkv", "decay_last", "beta_last", "past"),
    [
        ("linear", 2, 2, 0, 0, False),
        ("gated", 4, 2, 2, 0, True),  # per-head decay, grouped query heads
        ("delta", 2, 1, 0, 1, True),  # multi-query, scalar beta
        ("gated_delta", 4, 2, 6, 2, True),  # per-key-dim decay
    ],
)
def test_linear_attention_update_rules(rule, hq, hkv, decay_last, beta_last, past) -> None:
    b, t, dk, dv = 2, 3, 3, 4
    feeds = {"q": _x(b, t, hq * dk) * 0.5, "k": _x(b, t, hkv * dk) * 0.5, "v": _x(b, t, hkv * dv)}
    ins = ["q", "k", "v", "", "", ""]
    if past:
        feeds["s"] = _x(b, hkv, dk, dv)
        ins[3] = "s"
    if decay_last:
        feeds["g"] = -np.abs(_x(b, t, decay_last))
        ins[4] = "g"
    if beta_last:
        feeds["beta"] = 1.0 / (1.0 + np.exp(-_x(b, t, beta_last)))
        ins[5] = "beta"
    while ins[-1] == "":
        ins.pop()
    node = helper.make_node(
        "LinearAttention", ins, ["o", "st"], q_num_heads=hq, kv_num_heads=hkv, update_rule=rule
    )
    outs = {"o": (b, t, hq * dv), "st": (b, hkv, dk, dv)}
    _check(_model([node], feeds, outs, 27), feeds)


def test_linear_attention_explicit_scale_single_step() -> None:
    feeds = {"q": _x(1, 1, 8), "k": _x(1, 1, 8), "v": _x(1, 1, 4), "s": _x(1, 2, 4, 2)}
    node = helper.make_node(
        "LinearAttention",
        ["q", "k", "v", "s"],
        ["o", "st"],
        q_num_heads=2,
        kv_num_heads=2,
        update_rule="linear",
        scale=0.3,
    )
    _check(_model([node], feeds, {"o": (1, 1, 4), "st": (1, 2, 4, 2)}, 27), feeds)


@pytest.mark.parametrize(
    ("op", "attrs", "match"),
    [
        ("TensorScatter", {"mode": "ring"}, "mode"),
        (
            "LinearAttention",
            {"update_rule": "fancy", "q_num_heads": 1, "kv_num_heads": 1},
            "update_rule",
        ),
        ("LinearAttention", {"q_num_heads": 3, "kv_num_heads": 2}, "multiple"),
    ],
)
def test_errors_name_the_node_and_attribute(op: str, attrs: dict, match: str) -> None:
    feeds = {"a": _x(1, 2, 6), "b": _x(1, 2, 6), "c": _x(1, 2, 6)}
    ins = ["a", "b"] if op == "TensorScatter" else ["a", "b", "c"]
    outs = {"y": (1, 2, 6)} if op == "TensorScatter" else {"y": (1, 2, 6), "z": (1, 1, 6, 6)}
    node = helper.make_node(op, ins, list(outs), name="n", **attrs)
    model = _model([node], feeds, outs, 27)
    with pytest.raises(ModelError, match=f"'n'.*{match}"):
        xtvm.from_onnx(model, {})
