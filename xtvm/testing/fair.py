"""The "fair subset": node tests an inference compiler for CPUs can reasonably be judged on.

Each rule has a name and a reason; a case is excluded by the first rule that matches it,
and reports carry the rule name so every exclusion can be audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import onnx
from onnx import AttributeProto, TensorProto

from xtvm.testing.cases import Case

# optimizers and gradients only: the loss functions (NegativeLogLikelihoodLoss,
# SoftmaxCrossEntropyLoss) are ordinary functions of their inputs and count as inference ops
TRAINING_OPS = {"Adagrad", "Adam", "Momentum", "Gradient"}
RANDOM_OPS = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Bernoulli",
    "Multinomial",
}
SEQUENCE_OPS = {
    "SequenceConstruct",
    "SequenceEmpty",
    "SequenceInsert",
    "SequenceErase",
    "SequenceAt",
    "SequenceLength",
    "SequenceMap",
    "SplitToSequence",
    "ConcatFromSequence",
    "Optional",
    "OptionalGetElement",
    "OptionalHasElement",
}
CODEC_OPS = {"ImageDecoder"}
# Exotic element types. float16 and bfloat16 are not here: real exported models ship in half
# precision, so those cases count (computed in float32 and rounded as onnxruntime does).
EXOTIC_DTYPES = {
    "FLOAT8E4M3FN",
    "FLOAT8E4M3FNUZ",
    "FLOAT8E5M2",
    "FLOAT8E5M2FNUZ",
    "FLOAT8E8M0",
    "FLOAT4E2M1",
    "INT4",
    "UINT4",
    "INT2",
    "UINT2",
    "COMPLEX64",
    "COMPLEX128",
}
_DTYPE_ATTRS = {"to", "dtype", "output_dtype"}


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """``graph`` and every subgraph (If/Loop/Scan bodies), depth first."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            elif attr.type == AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graphs(g)


def _nodes(model: onnx.ModelProto) -> Iterator[onnx.NodeProto]:
    for g in _graphs(model.graph):
        yield from g.node


def _dtype_name(code: int) -> str:
    try:
        return TensorProto.DataType.Name(code)
    except ValueError:
        return f"dtype{code}"


def _value_kinds(model: onnx.ModelProto) -> Iterator[str]:
    """Element-type names (or 'sequence_type' etc. for non-tensors) of every typed value."""
    for g in _graphs(model.graph):
        for v in [*g.input, *g.output, *g.value_info]:
            kind = v.type.WhichOneof("value")
            if kind == "tensor_type":
                yield _dtype_name(v.type.tensor_type.elem_type)
            elif kind is not None:
                yield kind
        for t in g.initializer:
            yield _dtype_name(t.data_type)
        for node in g.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.TENSOR:
                    yield _dtype_name(attr.t.data_type)
                elif attr.type == AttributeProto.INT and attr.name in _DTYPE_ATTRS:
                    yield _dtype_name(attr.i)


def _domains(model: onnx.ModelProto) -> set[str]:
    found = {o.domain for o in model.opset_import}
    found |= {n.domain for n in _nodes(model)}
    return {d for d in found if d not in ("", "ai.onnx")}


def _training(case: Case) -> str | None:
    ops = {n.op_type for n in _nodes(case.model)}
    if "training" in case.name or ops & TRAINING_OPS:
        return "training op or training mode"
    return None


def _domain(case: Case) -> str | None:
    odd = sorted(
        d for d in _domains(case.model) if d == "ai.onnx.ml" or d.startswith("ai.onnx.preview")
    )
    return f"domain {odd[0]}" if odd else None


def _strings(case: Case) -> str | None:
    return "string tensors" if "STRING" in set(_value_kinds(case.model)) else None


def _non_tensor(case: Case) -> str | None:
    kinds = set(_value_kinds(case.model)) & {
        "sequence_type",
        "optional_type",
        "map_type",
        "sparse_tensor_type",
    }
    if kinds:
        return sorted(kinds)[0].replace("_type", "") + " values"
    ops = {n.op_type for n in _nodes(case.model)} & SEQUENCE_OPS
    return f"sequence/optional op {sorted(ops)[0]}" if ops else None


def _exotic(case: Case) -> str | None:
    odd = sorted(set(_value_kinds(case.model)) & EXOTIC_DTYPES)
    return f"dtype {odd[0].lower()}" if odd else None


def _random(case: Case) -> str | None:
    ops = sorted({n.op_type for n in _nodes(case.model)} & RANDOM_OPS)
    return f"random op {ops[0]}" if ops else None


def _codec(case: Case) -> str | None:
    ops = sorted({n.op_type for n in _nodes(case.model)} & CODEC_OPS)
    return f"codec op {ops[0]}" if ops else None


@dataclass(frozen=True)
class Rule:
    """One exclusion rule: ``check`` returns a short detail when the case is excluded."""

    name: str
    reason: str
    check: Callable[[Case], str | None]


RULES: tuple[Rule, ...] = (
    Rule(
        "training",
        "training-only ops (the optimizers Adagrad, Adam, Momentum and Gradient) and tests "
        "whose name contains 'training' (training_mode Dropout/BatchNormalization): not "
        "inference; the loss functions NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss "
        "are ordinary functions and count",
        _training,
    ),
    Rule(
        "domain",
        "ops from ai.onnx.ml (classical ML: trees, encoders) or ai.onnx.preview.* "
        "(experimental): outside the ai.onnx operator set xtvm targets",
        _domain,
    ),
    Rule("strings", "string tensors: no numeric code to generate", _strings),
    Rule(
        "non-tensor",
        "sequence, optional, map or sparse values (and the ops that build them): xtvm "
        "compiles graphs of dense tensors",
        _non_tensor,
    ),
    Rule(
        "dtype",
        "exotic element types: float8/float4 variants, int4/uint4/int2/uint2, complex "
        "(float16 and bfloat16 count: real models ship in half precision)",
        _exotic,
    ),
    Rule(
        "random",
        "random ops (RandomNormal/Uniform[Like], Bernoulli, Multinomial): reference numbers "
        "come from numpy's generator, which no compiler reproduces",
        _random,
    ),
    Rule(
        "codec",
        "ImageDecoder: decodes JPEG/PNG bytes, an I/O library task rather than tensor code",
        _codec,
    ),
)


def exclusion(case: Case) -> tuple[str, str] | None:
    """``(rule name, detail)`` of the first rule that excludes ``case``, or None if fair."""
    for rule in RULES:
        detail = rule.check(case)
        if detail is not None:
            return rule.name, detail
    return None
