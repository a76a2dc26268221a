"""float16 / bfloat16 ONNX values: half precision at the boundary, float32 inside.

Design. A half-precision ONNX value is represented in relay by a float32 tensor, and half
types appear only where the model's numbers must be half: graph inputs and outputs (the
runtime passes ``float16`` arrays) and *rounding points*, ``cast(cast(x, f16), f32)``.
Why not keep f16 tensor types through relay and make every TOPI compute upcast on load:
x86 has no half arithmetic (F16C converts only), so every kernel would compute in float32
anyway; all ~150 converters, the constant folder, the layout and fusion passes and the
schedules already handle float32 graphs, and a half-typed graph would need each of them
taught a second float type. Casting at the frontend keeps one compute type and lets fusion
put the rounding casts inside the neighbouring kernels (a cast is elementwise). Weights are
upcast when the model is imported (exact: every half value is a float32 value).

Where onnxruntime rounds (measured with onnxruntime 1.32 on x86-64, on single ops and on
chains, bit for bit). Its CPU provider has half kernels for a few ops only (``NATIVE_OPS``:
data movement, Max/Min/Clip/Mod/Round/Sign, LayerNormalization, ...); every other op runs in
float32 between inserted casts, and a float32 -> float16 -> float32 cast pair between two
such ops is removed, so a chain of them is *not* rounded in between. A native op that only
touches float32-run ops (an "isolated" one) is switched to float32 as well. So xtvm rounds:
at Cast/CastLike to a half type (a Cast *from* half reads the unrounded value), at graph
outputs, and at the inputs and outputs of native ops that are not isolated (``plan``).
Identity nodes vanish (onnxruntime eliminates them), a Cast to the type a value already has
is dropped, control flow (If) receives and returns half tensors (rounded). An ONNX op the
frontend splits into several relay ops is rounded at its boundary only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from onnx import GraphProto, NodeProto, TensorProto, ValueInfoProto
from xdsl.dialects.builtin import AnyFloat, f32
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.frontend.onnx.context import ConversionContext

try:  # numpy has no bfloat16; ml_dtypes (an onnx dependency) adds it
    import ml_dtypes

    BFLOAT16: np.dtype | None = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - onnx installs ml_dtypes
    BFLOAT16 = None

# ONNX half element types -> numpy dtype of their storage
HALF_TYPES: dict[int, np.dtype] = {TensorProto.FLOAT16: np.dtype("float16")}
if BFLOAT16 is not None:
    HALF_TYPES[TensorProto.BFLOAT16] = BFLOAT16

# ONNX ops onnxruntime's CPU provider runs on half tensors (no casts inserted around them)
NATIVE_OPS = frozenset(
    {
        "Attention", "Clip", "Concat", "DequantizeLinear", "Expand", "Flatten", "Gather",
        "GatherElements", "Identity", "LayerNormalization", "Max", "Min", "Mod",
        "RMSNormalization", "Reshape", "Round", "ScatterND", "Sign", "Slice", "Split",
        "Squeeze", "Transpose", "Unsqueeze",
    }
)  # fmt: skip
_TYPE_ATTRS = ("to", "dtype")
# ops whose outputs are never floats (their half inputs do not make half outputs)
_NON_FLOAT_OPS = frozenset(
    {
        "Shape", "Size", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not",
        "And", "Or", "Xor", "IsNaN", "IsInf", "ArgMax", "ArgMin", "NonZero",
        "NonMaxSuppression", "QuantizeLinear",
    }
)  # fmt: skip


def output_kind(node: NodeProto, kind: Mapping[str, int]) -> int | None:
    """The half type of the node's float outputs, from its type attributes or its inputs."""
    if node.op_type in _NON_FLOAT_OPS:
        return None
    for a in node.attribute:
        if a.name in _TYPE_ATTRS and a.type == a.INT:
            return a.i if a.i in HALF_TYPES else None
        if a.name == "value" and a.type == a.TENSOR and a.t.data_type in HALF_TYPES:
            return a.t.data_type
    if node.op_type == "CastLike" and len(node.input) > 1:
        return kind.get(node.input[1])
    return next((kind[n] for n in node.input if n in kind), None)


def _subgraphs(node: NodeProto) -> list[GraphProto]:
    return [g for a in node.attribute for g in ([a.g] if a.type == a.GRAPH else a.graphs)]


def _reads(node: NodeProto) -> list[str]:
    """Names the node reads, its subgraphs' reads of enclosing values included."""
    names = list(node.input)
    for sub in _subgraphs(node):
        names += [o.name for o in sub.output]
        for n in sub.node:
            names += _reads(n)
    return names


def _native(node: NodeProto) -> bool:
    """Run on half tensors by onnxruntime unless isolated (control flow: always)."""
    return node.op_type in NATIVE_OPS or bool(_subgraphs(node))


@dataclass
class Plan:
    """Per node (keyed by its output names): what onnxruntime does with its half values."""

    in_float32: set[tuple[str, ...]] = field(default_factory=set)  # native ops run in float32
    outer_reads: dict[tuple[str, ...], set[str]] = field(default_factory=dict)  # in subgraphs


def plan(
    graph: GraphProto, outer: Mapping[str, int] | None = None, into: Plan | None = None
) -> Plan:
    """The native ops onnxruntime runs in float32: each half input comes from a float32-run
    op or from outside, each half output only feeds float32-run ops. Subgraphs (If branches)
    are planned too; the enclosing values they read reach them as half tensors (rounded)."""
    result = into if into is not None else Plan()
    kind = dict(outer or {})
    declared = {v.name: v.type.tensor_type.elem_type for v in graph.input}
    declared.update({t.name: t.data_type for t in graph.initializer})
    kind.update({n: k for n, k in declared.items() if k in HALF_TYPES})
    producer: dict[str, NodeProto] = {}
    consumers: dict[str, list[NodeProto]] = {}
    outputs = {o.name for o in graph.output}
    alias: dict[str, str] = {}  # Identity outputs onnxruntime eliminates -> their input
    isolated = result.in_float32
    for node in graph.node:
        k = output_kind(node, kind)
        for name in node.output:
            if k is not None and name:
                kind[name] = k
        if node.op_type == "Identity" and not outputs.intersection(node.output):
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
            isolated.add(tuple(node.output))  # gone: neither rounds nor separates
            continue
        for name in node.output:
            producer[name] = node
        for name in _reads(node):
            consumers.setdefault(alias.get(name, name), []).append(node)
    for node in graph.node:
        if node.op_type not in NATIVE_OPS or tuple(node.output) in isolated:
            continue
        ins = [alias.get(n, n) for n in node.input]
        ins = [n for n in ins if n in kind and n in producer]
        outs = [n for n in node.output if n in kind]
        if any(_native(producer[n]) for n in ins) or outputs.intersection(outs):
            continue
        if any(_native(c) for n in outs for c in consumers.get(n, [])):
            continue
        isolated.add(tuple(node.output))
    if outer is not None:
        local = set(declared) | set(producer) | set(alias)
        for node in graph.node:
            reads = {n for n in node.input if n in kind and n not in local}
            if reads:
                result.outer_reads[tuple(node.output)] = reads
    for node in graph.node:
        for sub in _subgraphs(node):
            plan(sub, kind, result)
    return result


def _emit_cast(ctx: ConversionContext, x: SSAValue, dtype: np.dtype) -> SSAValue:
    from xtvm.frontend.onnx.converters.math import emit  # folds constant operands

    if relay.numpy_dtype_of(relay.elt_of(x)) == dtype:
        return x
    return emit(ctx, relay.CastOp(x, dtype))


class HalfValues:
    """Tracks which ONNX values are half precision, and which of those are already rounded."""

    def __init__(self, graph: GraphProto) -> None:
        self.kind: dict[str, int] = {}  # ONNX name -> TensorProto.FLOAT16 / BFLOAT16
        self.rounded: set[str] = set()
        self.plan = plan(graph)

    def _rounds(self, node: NodeProto) -> bool:
        """Whether onnxruntime runs the node on half tensors (control flow: its results)."""
        return _native(node) and tuple(node.output) not in self.plan.in_float32

    def source(self, name: str, elem_type: int) -> None:
        """A graph input or initializer: exactly representable in its half type."""
        if elem_type in HALF_TYPES:
            self.kind[name] = elem_type
            self.rounded.add(name)

    def round(self, ctx: ConversionContext, x: SSAValue, elem_type: int) -> SSAValue:
        """``x`` rounded to the half type (round to nearest even), held as float32."""
        return _emit_cast(ctx, _emit_cast(ctx, x, HALF_TYPES[elem_type]), np.dtype("float32"))

    def inputs(
        self, ctx: ConversionContext, node: NodeProto, values: Sequence[SSAValue | None]
    ) -> list[SSAValue | None]:
        """The node's operands, rounded where onnxruntime hands it a half tensor."""
        rounds = self._rounds(node)
        outer = self.plan.outer_reads.get(tuple(node.output), set())
        if not rounds and not outer:
            return list(values)
        out: list[SSAValue | None] = []
        for name, v in zip(node.input, values):
            if not rounds and name not in outer:
                pass
            elif v is not None and name in self.kind and name not in self.rounded:
                v = self.round(ctx, v, self.kind[name])
            out.append(v)
        return out

    def cast(
        self, ctx: ConversionContext, node: NodeProto, values: Sequence[SSAValue | None]
    ) -> SSAValue | None:
        """Cast/CastLike to a half type (None for any other node: the converter handles it)."""
        if node.op_type == "Cast":
            to = next((a.i for a in node.attribute if a.name == "to"), 0)
        elif node.op_type == "CastLike" and len(node.input) > 1:
            to = self.kind.get(node.input[1], 0)
        else:
            return None
        if to not in HALF_TYPES or not values or values[0] is None:
            return None
        x = values[0]
        if self.kind.get(node.input[0]) == to:  # a no-op cast: onnxruntime drops it
            return x
        if not isinstance(relay.elt_of(x), AnyFloat):
            x = _emit_cast(ctx, x, np.dtype("float64"))  # ints: exact in f64, rounded once
        return self.round(ctx, x, to)

    def outputs(
        self, ctx: ConversionContext, node: NodeProto, results: list[SSAValue]
    ) -> list[SSAValue]:
        """Record the half kind of the node's float outputs; round those of native ops."""
        kinds = self._output_kinds(node)
        out = list(results)
        rounds = self._rounds(node)
        cast = node.op_type in ("Cast", "CastLike")  # to half: ``cast`` rounded it
        for j, name in enumerate(node.output[: len(results)]):
            kind = kinds[j] if j < len(kinds) else None
            if kind is None or not name or relay.elt_of(results[j]) != f32:
                continue
            self.kind[name] = kind
            if rounds:
                out[j] = self.round(ctx, results[j], kind)
            if rounds or cast:
                self.rounded.add(name)
        return out

    def _output_kinds(self, node: NodeProto) -> list[int | None]:
        """Per output: its half type, or None (float32 statistics, non-float outputs)."""
        branch = next((a.g for a in node.attribute if a.name in ("then_branch", "body")), None)
        if branch is not None:  # If, Loop, Scan: the subgraph declares the output types
            types = [o.type.tensor_type.elem_type for o in branch.output]
            if node.op_type == "Loop":
                types = types[1:]  # the body's condition is no output of the node
            return [t if t in HALF_TYPES else None for t in types]
        kind = output_kind(node, self.kind)
        if node.op_type == "LayerNormalization":  # Mean, InvStdDev are stash_type float32
            return [kind]
        return [kind] * len(node.output)

    def result(self, ctx: ConversionContext, out: ValueInfoProto, value: SSAValue) -> SSAValue:
        """A graph output: half values leave in their half type (the declared one wins)."""
        declared = out.type.tensor_type.elem_type
        kind = declared if declared else self.kind.get(out.name)
        if kind not in HALF_TYPES or relay.elt_of(value) != f32:
            return value
        name, dtype = out.name, HALF_TYPES[kind]
        if ctx.is_constant(value):  # folding the cast would normalize it back to float32
            arr = ctx.const_value(value, f"output '{name}'").astype(dtype)
            return ctx.emit(relay.ConstantOp.from_numpy(arr))
        return _emit_cast(ctx, value, dtype)

    def graph_input(self, ctx: ConversionContext, arg: SSAValue) -> SSAValue:
        """A half graph input, widened to the float32 compute type."""
        if relay.numpy_dtype_of(relay.elt_of(arg)) in HALF_TYPES.values():
            return _emit_cast(ctx, arg, np.dtype("float32"))
        return arg


def widen_initializer(arr: np.ndarray) -> np.ndarray:
    """bfloat16 initializers arrive as ml_dtypes arrays; float32 holds them exactly."""
    if BFLOAT16 is not None and arr.dtype == BFLOAT16:
        return arr.astype(np.float32)
    return arr
