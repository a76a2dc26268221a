"""ONNX LSTM / GRU / RNN: compiled code and the relay evaluator agree with onnxruntime.

Cases are grouped into a few multi-node models so that each group compiles once. The
onnxruntime CPU kernels reject ``layout = 1``, so the reference model computes those nodes
as ``Transpose -> layout 0 node -> Transpose``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort
import pytest
from onnx import ModelProto, NodeProto, helper, numpy_helper
from xdsl.dialects import func

import xtvm
from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.passes.relay.evaluate import evaluate_function

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


@dataclass
class Case:
    kind: str
    seq: int = 7
    batch: int = 2
    inp: int = 5
    hid: int = 4
    direction: str = "forward"
    layout: int = 0
    bias: bool = True
    init: str | None = None  # None, "const" (initializers) or "input" (graph inputs)
    peepholes: bool = False
    attrs: dict = field(default_factory=dict)


def _tr(a: np.ndarray, layout: int) -> np.ndarray:
    return a.transpose(1, 0, 2) if layout == 1 else a


def _group(cases: list[Case], opset: int, seed: int = 0):
    """(xtvm model, reference model, feeds) for independent nodes, one per case."""
    rng = np.random.default_rng(seed)
    nodes: list[NodeProto] = []
    ref_nodes: list[NodeProto] = []
    inputs, outputs, inits, feeds = [], [], [], {}

    def const(name: str, a: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(a.astype(np.float32), name))
        return name

    def graph_input(name: str, a: np.ndarray) -> str:
        inputs.append(helper.make_tensor_value_info(name, 1, a.shape))
        feeds[name] = a.astype(np.float32)
        return name

    for k, c in enumerate(cases):
        nd, g, p = (2 if c.direction == "bidirectional" else 1), GATES[c.kind], f"n{k}_"
        w = rng.standard_normal((nd, g * c.hid, c.inp)) * 0.4
        r = rng.standard_normal((nd, g * c.hid, c.hid)) * 0.4
        names = [graph_input(p + "X", _tr(rng.standard_normal((c.seq, c.batch, c.inp)), c.layout))]
        names += [const(p + "W", w), const(p + "R", r)]
        names.append(
            const(p + "B", rng.standard_normal((nd, 2 * g * c.hid)) * 0.4) if c.bias else ""
        )
        names.append("")  # sequence_lens
        states = ["h0", "c0"] if c.kind == "LSTM" else ["h0"]
        for s in states:
            if c.init is None:
                names.append("")
                continue
            v = _tr(rng.standard_normal((nd, c.batch, c.hid)), c.layout)
            names.append(const(p + s, v) if c.init == "const" else graph_input(p + s, v))
        if c.peepholes:
            names.append(const(p + "P", rng.standard_normal((nd, 3 * c.hid)) * 0.4))
        outs = [p + "Y", p + "Y_h"] + ([p + "Y_c"] if c.kind == "LSTM" else [])
        attrs = dict(hidden_size=c.hid, direction=c.direction, **c.attrs)
        if c.layout:
            attrs["layout"] = 1
        nodes.append(helper.make_node(c.kind, names, outs, **attrs))
        y_shape = [c.seq, nd, c.batch, c.hid] if not c.layout else [c.batch, c.seq, nd, c.hid]
        s_shape = [nd, c.batch, c.hid] if not c.layout else [c.batch, nd, c.hid]
        outputs += [helper.make_tensor_value_info(o, 1, s_shape) for o in outs]
        outputs[-len(outs)] = helper.make_tensor_value_info(outs[0], 1, y_shape)
        if not c.layout:
            ref_nodes.append(nodes[-1])
            continue
        # reference: transpose the batch-first operands and results around a layout-0 node
        ref_in = list(names)
        for j in (0, 5, 6):
            if j < len(names) and names[j]:
                ref_in[j] = names[j] + "_t"
                ref_nodes.append(
                    helper.make_node("Transpose", [names[j]], [ref_in[j]], perm=[1, 0, 2])
                )
        del attrs["layout"]
        ref_nodes.append(helper.make_node(c.kind, ref_in, [o + "_t" for o in outs], **attrs))
        for j, o in enumerate(outs):
            perm = [2, 0, 1, 3] if j == 0 else [1, 0, 2]
            ref_nodes.append(helper.make_node("Transpose", [o + "_t"], [o], perm=perm))

    def model(ns: list[NodeProto]) -> ModelProto:
        graph = helper.make_graph(ns, "rnn", inputs, outputs, inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])

    return model(nodes), model(ref_nodes), feeds


def _reference(ref: ModelProto, feeds: dict) -> list[np.ndarray]:
    sess = ort.InferenceSession(ref.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _check_group(cases: list[Case], opset: int) -> xtvm.CompiledModule:
    model, ref, feeds = _group(cases, opset)
    want = _reference(ref, feeds)
    mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
    main = next(op for op in mod.walk() if isinstance(op, func.FuncOp))
    arg_names = [a.data["xtvm.name"].data for a in main.arg_attrs]  # type: ignore[union-attr]
    evaluated = evaluate_function(main, [feeds[n] for n in arg_names])
    lib = xtvm.build(mod)
    got = lib.run(feeds)
    for name, w, e, g in zip([o.name for o in model.graph.output], want, evaluated, got):
        np.testing.assert_allclose(e, w, rtol=1e-4, atol=1e-5, err_msg=f"evaluator: {name}")
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=f"compiled: {name}")
    return lib


def _count(lib: xtvm.CompiledModule, fragment: str) -> int:
    return lib.get_source("relay").count(fragment)


def test_lstm_variants():
    lib = _check_group(
        [
            Case("LSTM"),
            Case("LSTM", direction="reverse", bias=False, init="input"),
            Case("LSTM", seq=1, direction="bidirectional", layout=1, init="const"),
            Case("LSTM", direction="bidirectional", layout=1, init="input"),
            # the general path: peepholes, clip, non-default activations
            Case("LSTM", seq=3, peepholes=True, init="input"),
            Case(
                "LSTM",
                seq=3,
                direction="reverse",
                attrs=dict(
                    clip=0.7,
                    activations=["HardSigmoid", "Tanh", "Relu"],
                    activation_alpha=[0.3],
                    activation_beta=[0.4],
                ),
            ),
        ],
        opset=14,
    )
    assert _count(lib, "relay.rnn_cell") == 7 + 7 + 2 + 14


def test_gru_variants():
    lbr1 = {"linear_before_reset": 1}
    lib = _check_group(
        [
            Case("GRU", init="input"),
            Case("GRU", seq=3, direction="reverse", bias=False),
            Case("GRU", direction="reverse", init="input", attrs=lbr1),
            Case("GRU", seq=1, direction="bidirectional", layout=1, init="const", attrs=lbr1),
            Case("GRU", direction="bidirectional", layout=1, bias=False, attrs=lbr1),
            Case("GRU", seq=3, attrs=dict(clip=0.5, **lbr1)),
        ],
        opset=21,
    )
    assert _count(lib, "relay.rnn_cell") == 7 + 2 + 14


def test_rnn_variants_at_opset_11():
    lib = _check_group(
        [
            Case("RNN", init="input"),
            Case("RNN", seq=3, direction="bidirectional", attrs=dict(activations=["Relu", "Tanh"])),
        ],
        opset=11,
    )
    assert _count(lib, "relay.rnn_cell") == 7


def _single(case: Case, opset: int = 14, lens: np.ndarray | None = None) -> tuple:
    model, _, feeds = _group([case], opset)
    if lens is not None:
        model.graph.initializer.append(numpy_helper.from_array(lens, "lens"))
        model.graph.node[0].input[4] = "lens"
    return model, {k: v.shape for k, v in feeds.items()}


def test_full_sequence_lens_is_accepted():
    model, shapes = _single(Case("LSTM", seq=3), lens=np.full(2, 3, np.int32))
    mod = xtvm.from_onnx(model, shapes)
    assert "relay.rnn_cell" in str(mod)


@pytest.mark.parametrize(
    "case,lens,message",
    [
        (Case("LSTM", seq=3), np.array([3, 2], np.int32), "sequence_lens \\[3, 2\\]"),
        (Case("GRU", attrs=dict(activations=["Elu", "Tanh"])), None, "activations='elu'"),
        (Case("LSTM", attrs=dict(input_forget=1)), None, "input_forget=1"),
        (Case("RNN", attrs=dict(activations=["Tanh", "Tanh"])), None, "activations has 2"),
    ],
)
def test_unsupported_variants_name_the_node(case, lens, message):
    model, shapes = _single(case, lens=lens)
    with pytest.raises(ModelError, match=f"node #0 \\({case.kind}\\).*{message}"):
        xtvm.from_onnx(model, shapes)


def test_rnn_cell_verifier_rejects_rows_out_of_range():
    xw = relay.ConstantOp.from_numpy(np.zeros((6, 4), np.float32)).result
    state = relay.ConstantOp.from_numpy(np.zeros((2, 4), np.float32)).result
    w = relay.ConstantOp.from_numpy(np.zeros((4, 4), np.float32)).result
    with pytest.raises(Exception, match="outside"):
        relay.RnnCellOp(xw, state, w, None, "rnn", 5, 1)


@pytest.mark.slow
def test_crnn_sized_bidirectional_lstm():
    """seq 40, batch 1, input 256, hidden 128, bidirectional: numbers and compile time."""
    model, ref, feeds = _group(
        [Case("LSTM", seq=40, batch=1, inp=256, hid=128, direction="bidirectional")], 14
    )
    start = time.perf_counter()
    mod = xtvm.from_onnx(model, {k: v.shape for k, v in feeds.items()})
    imported = time.perf_counter()
    lib = xtvm.build(mod)
    built = time.perf_counter()
    print(f"CRNN LSTM: import {imported - start:.2f} s, build {built - imported:.2f} s")
    for g, w in zip(lib.run(feeds), _reference(ref, feeds)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
