"""Random ONNX graphs and operator configurations, compiled with xtvm, checked against numpy.

The numpy reference is written here (not onnxruntime), so these tests pin down ONNX's
semantics independently of any engine. Examples are derandomized to keep CI repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import xtvm

OPSET = 13
SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ----------------------------------------------------------------------------------------------
# numpy reference
# ----------------------------------------------------------------------------------------------

BINARY = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Max": np.maximum,
    "Min": np.minimum,
}
UNARY = {
    "Relu": lambda x: np.maximum(x, np.float32(0)),
    "Sigmoid": lambda x: (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32),
    "Tanh": np.tanh,
    "Exp": np.exp,
}


def ref_conv(x, w, b, strides, pads, dilations, group):
    """NCHW convolution in float64; ``pads`` = (top, left, bottom, right)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    n, _, _, _ = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    (sh, sw), (dh, dw) = strides, dilations
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, m, oh, ow))
    mg = m // group
    for g in range(group):
        xs, ws = xp[:, g * cg : (g + 1) * cg], w[g * mg : (g + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw]
                out[:, g * mg : (g + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, ws[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out.astype(np.float32)


def ref_pool(x, kind, kernel, strides, pads, dilations=(1, 1), count_include_pad=0):
    """Max or average pooling (ceil_mode=0) in float64."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    pad = ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3]))
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), pad, constant_values=fill)
    valid = np.pad(np.ones(x.shape[2:]), pad[2:])
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    taps = [
        (
            xp[:, :, i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw],
            valid[i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw],
        )
        for i in range(kh)
        for j in range(kw)
    ]
    if kind == "max":
        return np.max([t for t, _ in taps], axis=0).astype(np.float32)
    total = np.sum([t for t, _ in taps], axis=0)
    count = kh * kw if count_include_pad else np.sum([v for _, v in taps], axis=0)
    return (total / count).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# model construction and checking
# ----------------------------------------------------------------------------------------------


@dataclass
class Graph:
    """An ONNX graph under construction, with numpy values for its inputs."""

    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # name -> np.ndarray

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def model(self, outputs: dict[str, tuple[int, ...]]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            "random",
            [
                helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape))
                for k, v in self.inputs.items()
            ],
            [
                helper.make_tensor_value_info(k, TensorProto.FLOAT, list(s))
                for k, s in outputs.items()
            ],
            initializer=self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def check(g: Graph, expected: dict[str, np.ndarray]) -> None:
    """Compile the graph with xtvm and compare every output with the numpy reference."""
    for want in expected.values():
        assume(np.all(np.isfinite(want)))
    model = g.model({k: v.shape for k, v in expected.items()})
    shapes = {k: v.shape for k, v in g.inputs.items()}
    lib = xtvm.build(xtvm.from_onnx(model, shape_dict=shapes))
    got = lib.run(dict(g.inputs))
    assert len(got) == len(expected)
    for out, (name, want) in zip(got, expected.items()):
        assert out.shape == want.shape, name
        scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


def away_from_zero(rng: np.random.Generator, shape) -> np.ndarray:
    """Values with magnitude in [0.5, 2) and random sign (safe divisors)."""
    mag = rng.uniform(0.5, 2.0, shape)
    return (mag * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# elementwise / broadcast graphs
# ----------------------------------------------------------------------------------------------


@st.composite
def elementwise_graphs(draw):
    rank = draw(st.integers(1, 4))
    base = draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    g = Graph()
    values: dict[str, np.ndarray] = {}
    for k in range(draw(st.integers(1, 3))):
        lead = draw(st.integers(0, rank - 1))
        dims = [1 if draw(st.integers(0, 3)) == 0 else d for d in base[lead:]]
        arr = away_from_zero(rng, dims)
        g.inputs[f"in{k}"] = values[f"in{k}"] = arr
    input_names = list(g.inputs)
    for i in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(sorted(BINARY) + sorted(UNARY) + ["Clip"]))
        a = draw(st.sampled_from(sorted(values)))
        out = f"v{i}"
        if op in BINARY:
            # divide only by graph inputs, which stay away from zero
            b = draw(st.sampled_from(input_names if op == "Div" else sorted(values)))
            g.nodes.append(helper.make_node(op, [a, b], [out], name=f"n{i}"))
            values[out] = BINARY[op](values[a], values[b]).astype(np.float32)
        elif op == "Clip":
            lo, hi = sorted(
                draw(
                    st.lists(st.sampled_from([-1.5, -0.5, 0.0, 0.25, 1.0]), min_size=2, max_size=2)
                )
            )
            which = draw(st.sampled_from(["both", "min", "max"]))
            lo_name = g.const(f"lo{i}", lo) if which != "max" else ""
            hi_name = g.const(f"hi{i}", hi) if which != "min" else ""
            inputs = [a, lo_name, hi_name] if hi_name else [a, lo_name]
            g.nodes.append(helper.make_node("Clip", inputs, [out], name=f"n{i}"))
            low = lo if which != "max" else -np.inf
            high = hi if which != "min" else np.inf
            values[out] = np.clip(values[a], low, high).astype(np.float32)
        else:
            g.nodes.append(helper.make_node(op, [a], [out], name=f"n{i}"))
            values[out] = UNARY[op](values[a]).astype(np.float32)
    last = f"v{len(g.nodes) - 1}"
    outputs = {last: values[last]}
    earlier = [f"v{i}" for i in range(len(g.nodes) - 1)]
    if earlier and draw(st.booleans()):
        extra = draw(st.sampled_from(earlier))
        outputs[extra] = values[extra]
    return g, outputs


@settings(max_examples=25, **SETTINGS)
@given(elementwise_graphs())
def test_random_elementwise_graphs(case) -> None:
    g, expected = case
    check(g, expected)


# ----------------------------------------------------------------------------------------------
# single-operator configurations
# ----------------------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    group = draw(st.integers(1, 3))
    cg, mg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = [draw(st.integers(0, 2)) for _ in range(4)]
    h, w = draw(st.integers(3, 9)), draw(st.integers(3, 9))
    assume(h + pads[0] + pads[2] >= dilations[0] * (kh - 1) + 1)
    assume(w + pads[1] + pads[3] >= dilations[1] * (kw - 1) + 1)
    n = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, group * cg, h, w)).astype(np.float32)
    weight = (rng.standard_normal((group * mg, cg, kh, kw)) * 0.5).astype(np.float32)
    bias = rng.standard_normal(group * mg).astype(np.float32) if draw(st.booleans()) else None
    return x, weight, bias, strides, pads, dilations, group


@settings(max_examples=20, **SETTINGS)
@given(conv_cases())
def test_random_conv(case) -> None:
    x, weight, bias, strides, pads, dilations, group = case
    g = Graph(inputs={"x": x})
    names = ["x", g.const("w", weight)] + ([g.const("b", bias)] if bias is not None else [])
    attrs = dict(strides=strides, pads=pads, dilations=dilations, group=group)
    g.nodes.append(
        helper.make_node("Conv", names, ["y"], kernel_shape=list(weight.shape[2:]), **attrs)
    )
    check(g, {"y": ref_conv(x, weight, bias, strides, pads, dilations, group)})


@st.composite
def gemm_cases(draw):
    m, k, n = (draw(st.integers(1, 9)) for _ in range(3))
    trans_a, trans_b = draw(st.booleans()), draw(st.booleans())
    alpha, beta = draw(st.sampled_from([1.0, 0.5, 2.0])), draw(st.sampled_from([1.0, 0.5, 2.0]))
    c_shape = draw(st.sampled_from([None, (n,), (1, n), (m, n), (m, 1)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = rng.standard_normal(c_shape).astype(np.float32) if c_shape else None
    return a, b, c, trans_a, trans_b, alpha, beta


@settings(max_examples=15, **SETTINGS)
@given(gemm_cases())
def test_random_gemm(case) -> None:
    a, b, c, trans_a, trans_b, alpha, beta = case
    g = Graph(inputs={"a": a})
    names = ["a", g.const("b", b)] + ([g.const("c", c)] if c is not None else [])
    attrs = dict(transA=int(trans_a), transB=int(trans_b), alpha=alpha, beta=beta)
    g.nodes.append(helper.make_node("Gemm", names, ["y"], **attrs))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = alpha * ((a64.T if trans_a else a64) @ (b64.T if trans_b else b64))
    if c is not None:
        want = want + beta * c
    check(g, {"y": want.astype(np.float32)})


@st.composite
def pool_cases(draw):
    kind = draw(st.sampled_from(["max", "avg"]))
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))] if kind == "max" else [1, 1]
    pads = [draw(st.integers(0, kernel[i % 2] - 1)) for i in range(4)]
    h, w = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    assume(h + pads[0] + pads[2] >= dilations[0] * (kernel[0] - 1) + 1)
    assume(w + pads[1] + pads[3] >= dilations[1] * (kernel[1] - 1) + 1)
    count_include_pad = draw(st.integers(0, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), draw(st.integers(1, 4)), h, w))
    return kind, x.astype(np.float32), kernel, strides, pads, dilations, count_include_pad


@settings(max_examples=20, **SETTINGS)
@given(pool_cases())
def test_random_pool(case) -> None:
    kind, x, kernel, strides, pads, dilations, count_include_pad = case
    g = Graph(inputs={"x": x})
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads)
    if kind == "max":
        g.nodes.append(helper.make_node("MaxPool", ["x"], ["y"], dilations=dilations, **attrs))
    else:
        attrs["count_include_pad"] = count_include_pad
        g.nodes.append(helper.make_node("AveragePool", ["x"], ["y"], **attrs))
    want = ref_pool(x, kind, kernel, strides, pads, dilations, count_include_pad)
    check(g, {"y": want})
