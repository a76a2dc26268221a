"""A small ONNX graph builder that emits the node patterns real exporters produce.

The zoo generators describe networks layer by layer; this builder turns each layer into the
nodes PyTorch / Paddle exporters write (BatchNormalization kept, ReLU6 as Clip with min/max
inputs, SiLU as x * Sigmoid(x), Gelu in its Erf form, shapes computed from ``Shape`` of
activations). Weights are random (fixed seed) and scaled by fan-in so activations stay O(1)
through deep stacks, which keeps float32 comparisons with onnxruntime meaningful.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # opset 17 needs IR 8; every onnxruntime we test with reads it

Dims = Sequence[int | str | None] | None


class GraphBuilder:
    """Accumulates nodes, initializers and graph inputs/outputs; ``build`` checks the model."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._used: Counter[str] = Counter()

    # ------------------------------------------------------------------ naming / plumbing
    def fresh(self, base: str) -> str:
        """A unique value/node name derived from ``base``."""
        self._used[base] += 1
        n = self._used[base]
        return base if n == 1 else f"{base}_{n - 1}"

    def input(self, name: str, elem_type: int, dims: Dims) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, dims))
        self._used[name] += 1
        return name

    def output(self, value: str, name: str, elem_type: int, dims: Sequence[int | str]) -> None:
        """Expose ``value`` as graph output ``name``, renaming the value where it is produced."""
        if value != name:
            self._used[name] += 1
            for node in self.nodes:
                for seq in (node.input, node.output):
                    for i, v in enumerate(seq):
                        if v == value:
                            seq[i] = name
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, dims))

    def op(self, op_type: str, inputs: Sequence[str], **attrs) -> str:
        """Append one single-output node; returns its output name."""
        return self.op_n(op_type, inputs, 1, **attrs)[0]

    def op_n(self, op_type: str, inputs: Sequence[str], n_out: int, **attrs) -> list[str]:
        """Append a node with ``n_out`` outputs (e.g. Split, LSTM); returns their names."""
        name = self.fresh(op_type)
        outs = [name] if n_out == 1 else [f"{name}:{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs

    # ------------------------------------------------------------------ constants
    def const(self, array: np.ndarray, base: str = "const") -> str:
        """An initializer holding ``array`` as given (dtype preserved)."""
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def constant_node(self, array: np.ndarray, base: str = "Constant") -> str:
        """A ``Constant`` node, the way torch.onnx emits small shape-arithmetic operands."""
        name = self.fresh(base)
        value = numpy_helper.from_array(np.array(array, order="C"), name + "_value")
        self.nodes.append(helper.make_node("Constant", [], [name], name=name, value=value))
        return name

    def i64(self, values: int | Sequence[int], base: str = "Constant") -> str:
        """int64 constant (0-d for an int, 1-d for a sequence) as a Constant node."""
        return self.constant_node(np.array(values, dtype=np.int64), base)

    def f32(self, values: float | Sequence[float], base: str = "Constant") -> str:
        return self.constant_node(np.array(values, dtype=np.float32), base)

    def weight(
        self,
        shape: Sequence[int],
        fan_in: int | None = None,
        base: str = "weight",
        gain: float = 1.0,
    ) -> str:
        """Random float32 initializer, normal with std gain/sqrt(fan_in)."""
        fan = fan_in if fan_in is not None else int(np.prod(shape[1:])) or 1
        w = self.rng.standard_normal(tuple(shape), dtype=np.float32)
        w *= np.float32(gain / math.sqrt(fan))
        return self.const(w, base)

    def bias(self, n: int, base: str = "bias", scale: float = 0.05) -> str:
        return self.const((self.rng.standard_normal(n) * scale).astype(np.float32), base)

    # ------------------------------------------------------------------ shape arithmetic
    def dim(self, x: str, axis: int) -> str:
        """0-d int64 ``Shape(x)[axis]``: Shape -> Gather(scalar index)."""
        return self.op("Gather", [self.op("Shape", [x]), self.i64(axis)], axis=0)

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        return self.op("Unsqueeze", [x, self.i64(list(axes))])

    def shape_vec(self, parts: Sequence[int | str]) -> str:
        """1-d int64 shape built by Concat: ints become constants, strings are 0-d dims."""
        pieces = [self.unsqueeze(p, [0]) if isinstance(p, str) else self.i64([p]) for p in parts]
        return pieces[0] if len(pieces) == 1 else self.op("Concat", pieces, axis=0)

    def reshape(self, x: str, parts: Sequence[int | str]) -> str:
        """Reshape to a shape assembled from symbolic dims and constants."""
        return self.op("Reshape", [x, self.shape_vec(parts)])

    def flatten_batch(self, x: str) -> str:
        """``x.view(x.size(0), -1)`` as exported: Reshape(x, Concat(Unsqueeze(Gather(Shape)), [-1]))."""
        return self.reshape(x, [self.dim(x, 0), -1])

    def flatten_from(self, x: str, start: int) -> str:
        """``x.flatten(start)``: Reshape(x, Concat(Slice(Shape(x), 0, start), [-1]))."""
        lead = self.op(
            "Slice", [self.op("Shape", [x]), self.i64([0]), self.i64([start]), self.i64([0])]
        )
        return self.op("Reshape", [x, self.op("Concat", [lead, self.i64([-1])], axis=0)])

    # ------------------------------------------------------------------ layers
    def conv(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int | tuple[int, int],
        stride=1,
        pad=None,
        group: int = 1,
        bias: bool = True,
        gain: float = 1.4,
    ) -> str:
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        ph, pw = (
            (kh // 2, kw // 2) if pad is None else ((pad, pad) if isinstance(pad, int) else pad)
        )
        w = self.weight((cout, cin // group, kh, kw), base="conv.weight", gain=gain)
        ins = [x, w] + ([self.bias(cout, "conv.bias")] if bias else [])
        return self.op(
            "Conv",
            ins,
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            group=group,
            dilations=[1, 1],
        )

    def bn(self, x: str, c: int) -> str:
        """BatchNormalization with non-trivial running statistics (not folded into the conv)."""
        r = self.rng
        params = [
            self.const((1.0 + 0.1 * r.standard_normal(c)).astype(np.float32), "bn.weight"),
            self.const((0.1 * r.standard_normal(c)).astype(np.float32), "bn.bias"),
            self.const((0.1 * r.standard_normal(c)).astype(np.float32), "bn.running_mean"),
            self.const((0.5 + r.random(c)).astype(np.float32), "bn.running_var"),
        ]
        return self.op("BatchNormalization", [x, *params], epsilon=1e-5, momentum=0.9)

    def act(self, x: str, kind: str | None) -> str:
        if kind is None:
            return x
        if kind == "relu":
            return self.op("Relu", [x])
        if kind == "relu6":  # torch exports ReLU6 as Clip(x, 0, 6) with scalar inputs
            return self.op("Clip", [x, self.f32(0.0), self.f32(6.0)])
        if kind == "silu":
            return self.op("Mul", [x, self.op("Sigmoid", [x])])
        if kind == "gelu":
            return self.gelu(x)
        if kind == "hardswish":
            return self.op("HardSwish", [x])
        raise ValueError(f"unknown activation {kind!r}")

    def conv_bn(
        self,
        x: str,
        cin: int,
        cout: int,
        k,
        stride=1,
        act: str | None = "relu",
        group: int = 1,
        pad=None,
        gain: float = 1.4,
    ) -> str:
        """conv (no bias) -> BatchNormalization -> activation, as torchvision / YOLO write it."""
        y = self.conv(x, cin, cout, k, stride, pad=pad, group=group, bias=False, gain=gain)
        return self.act(self.bn(y, cout), act)

    def gelu(self, x: str) -> str:
        """x * 0.5 * (1 + erf(x / sqrt(2))), the form torch.onnx emits below opset 20."""
        e = self.op("Erf", [self.op("Div", [x, self.f32(1.4142135381698608)])])
        return self.op(
            "Mul", [self.op("Mul", [x, self.op("Add", [e, self.f32(1.0)])]), self.f32(0.5)]
        )

    def linear(self, x: str, cin: int, cout: int, bias: bool = True, gain: float = 1.0) -> str:
        """nn.Linear on a >2-d tensor: MatMul(x, W^T stored [cin, cout]) + Add(bias)."""
        y = self.op(
            "MatMul", [x, self.weight((cin, cout), fan_in=cin, base="linear.weight", gain=gain)]
        )
        return self.op("Add", [y, self.bias(cout, "linear.bias")]) if bias else y

    def gemm(self, x: str, cin: int, cout: int) -> str:
        """nn.Linear on a 2-d tensor: Gemm(x, W[cout, cin], b, transB=1)."""
        w = self.weight((cout, cin), fan_in=cin, base="fc.weight")
        return self.op("Gemm", [x, w, self.bias(cout, "fc.bias")], alpha=1.0, beta=1.0, transB=1)

    def _ln_params(self, c: int) -> tuple[str, str]:
        g = self.const((1.0 + 0.1 * self.rng.standard_normal(c)).astype(np.float32), "ln.weight")
        return g, self.bias(c, "ln.bias")

    def layer_norm(self, x: str, c: int, eps: float = 1e-5) -> str:
        """LayerNormalization (opset 17) over the last axis."""
        g, b = self._ln_params(c)
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    def layer_norm_decomposed(self, x: str, c: int, eps: float = 1e-12) -> str:
        """The ReduceMean/Sub/Pow/Sqrt/Div form that exporters before opset 17 emit."""
        g, b = self._ln_params(c)
        mean = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        d = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Pow", [d, self.f32(2.0)])], axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.f32(eps)])])
        return self.op("Add", [self.op("Mul", [self.op("Div", [d, std]), g]), b])

    # ------------------------------------------------------------------ result
    def build(self, opset: int = OPSET) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, initializer=self.inits
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="xtvm-zoo"
        )
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        return model


def image_input(
    b: GraphBuilder, name: str, channels: int, height: int | str, width: int | str
) -> str:
    """A float NCHW image input with a symbolic batch dim (and possibly symbolic H/W)."""
    return b.input(name, TensorProto.FLOAT, ["batch", channels, height, width])
