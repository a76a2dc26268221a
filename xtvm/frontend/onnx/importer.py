"""ONNX ModelProto -> relay: one ``func.func @main`` over static tensors.

Order of checks, so that a user sees the most useful error first: the file parses, the
default-domain opset is supported, every node input is defined, every op has a converter
(all missing ones reported at once), the ONNX checker accepts the model, input shapes resolve.
Only then are nodes converted, in graph order; failures inside a converter name the node.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import onnx
from onnx import GraphProto, ModelProto, TensorProto, helper, numpy_helper
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Region, SSAValue
from xdsl.rewriter import InsertPoint
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects.relay import element_type_of, shape_of, tensor_type
from xtvm.errors import ModelError, UnsupportedOperatorError
from xtvm.frontend.onnx.context import ConversionContext, node_label, normalize_array
from xtvm.frontend.onnx.dynamic import DynamicValues
from xtvm.frontend.onnx.half import HalfValues, widen_initializer
from xtvm.frontend.onnx.registry import DEFAULT_DOMAINS, check_opset, lookup
from xtvm.frontend.onnx.shapes import (
    check_declared_outputs,
    declared_dtype,
    resolve_input_shapes,
    shapes_for_checker,
)

ModelSource = ModelProto | str | bytes | bytearray | os.PathLike


def from_onnx(
    model: ModelSource, shape_dict: Mapping[str, Sequence[int]] | None = None
) -> ModuleOp:
    """Import an ONNX model (proto, file path or serialized bytes) as a relay module.

    ``shape_dict`` binds input dims the model leaves symbolic (or overrides a whole input's
    shape); every input must end up fully static. Raises ``ModelError`` (and its subclasses
    ``ShapeError`` / ``UnsupportedOperatorError``) or ``InputError`` with one-line messages.
    """
    proto, path = _load(model)
    opset = default_opset(proto)
    check_opset(opset)
    graph = proto.graph
    _check_references(graph)
    _check_supported(graph, opset)
    _check_model(proto, path)
    return _GraphImporter(graph, opset, shape_dict).run()


# ----------------------------------------------------------------------------------------------
# loading and model-level checks
# ----------------------------------------------------------------------------------------------


def one_line(text: object) -> str:
    """Collapse a possibly multi-line message to a single line."""
    return re.sub(r"\s+", " ", str(text)).strip()


def _load(model: ModelSource) -> tuple[ModelProto, str | None]:
    if isinstance(model, ModelProto):
        return model, None
    if isinstance(model, bytes | bytearray | memoryview):
        return _parse(bytes(model), "from bytes"), None
    if isinstance(model, str | os.PathLike):
        path = os.fspath(model)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ModelError(f"could not read ONNX model '{path}': {e.strerror or e}") from None
        proto = _parse(data, f"'{path}'")
        try:  # tensors stored next to the model file
            onnx.load_external_data_for_model(proto, os.path.dirname(os.path.abspath(path)))
        except Exception as e:
            raise ModelError(
                f"could not load external data of ONNX model '{path}': {one_line(e)}"
            ) from None
        return proto, path
    raise TypeError(f"from_onnx expects a ModelProto, a path or bytes, got {type(model).__name__}")


def _parse(data: bytes, where: str) -> ModelProto:
    proto = ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as e:  # protobuf's DecodeError and friends
        raise ModelError(f"could not parse ONNX model {where}: {one_line(e)}") from None
    # protobuf accepts many byte strings as a message made only of unknown fields
    if not proto.HasField("graph") or not proto.opset_import:
        raise ModelError(
            f"could not parse ONNX model {where}: no graph or opset found (not an ONNX file?)"
        )
    return proto


def default_opset(proto: ModelProto) -> int:
    """The model's opset version for the default ONNX domain."""
    for imp in proto.opset_import:
        if imp.domain in DEFAULT_DOMAINS:
            return int(imp.version)
    raise ModelError("model imports no opset for the default ONNX domain")


def _check_references(graph: GraphProto, outer: set[str] | None = None, where: str = "") -> None:
    """Every node input and graph output is defined before use; a subgraph may also read the
    names ``outer`` (its enclosing scopes), and its messages start with ``where``."""
    defined = {vi.name for vi in graph.input} | {t.name for t in graph.initializer}
    defined |= outer or set()
    for i, node in enumerate(graph.node):
        for name in node.input:
            if name and name not in defined:
                raise ModelError(
                    f"{where}{node_label(node, i)}: input '{name}' is not a graph input, an "
                    "initializer or an output of an earlier node"
                )
        defined.update(n for n in node.output if n)
    for out in graph.output:
        if out.name not in defined:
            raise ModelError(
                f"{where}graph output '{out.name}' is not produced by any node or input"
            )


def _check_supported(graph: GraphProto, opset: int) -> None:
    missing: dict[str, list[str]] = {}
    _collect_missing(graph, opset, missing)
    if missing:
        raise UnsupportedOperatorError(missing, opset=opset)


def _collect_missing(graph: GraphProto, opset: int, missing: dict[str, list[str]]) -> None:
    """Unsupported ops of ``graph`` and of its subgraphs (If branches, loop bodies)."""
    for i, node in enumerate(graph.node):
        if lookup(node.op_type, node.domain, opset) is None:
            key = (
                node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"
            )
            missing.setdefault(key, []).append(node.name or f"#{i}")
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                _collect_missing(sub, opset, missing)


def _check_model(proto: ModelProto, path: str | None) -> None:
    try:
        with shapes_for_checker(proto.graph) as patched:
            # the file on disk lacks the patched shapes: check the loaded proto then
            onnx.checker.check_model(path if path is not None and not patched else proto)
    except Exception as e:
        raise ModelError(f"invalid ONNX model: {one_line(e)}") from None


def _attr_value(attr: onnx.AttributeProto) -> Any:
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in value]
    return value


def _hint(name: str) -> str | None:
    hint = re.sub(r"[^\w$.-]", "_", name)
    if not hint:
        return None
    return hint if re.match(r"[A-Za-z_$.-]", hint) else f"v{hint}"


# ----------------------------------------------------------------------------------------------
# graph conversion
# ----------------------------------------------------------------------------------------------


class _GraphImporter:
    def __init__(
        self, graph: GraphProto, opset: int, shape_dict: Mapping[str, Sequence[int]] | None
    ):
        self.graph = graph
        self.opset = opset
        self.initializers: dict[str, TensorProto] = {t.name: t for t in graph.initializer}
        self.inputs = [vi for vi in graph.input if vi.name not in self.initializers]
        self.shapes = resolve_input_shapes(self.inputs, shape_dict)
        self.env: dict[str, SSAValue] = {}
        self.block = Block(
            arg_types=[
                tensor_type(self.shapes[vi.name], element_type_of(declared_dtype(vi)))
                for vi in self.inputs
            ]
        )
        self.ctx = ConversionContext(Builder(InsertPoint.at_end(self.block)), opset)
        self.ctx.convert_subgraph = self.convert_subgraph
        self.half = HalfValues(graph)  # float16/bfloat16 values: half.py says how they are computed
        self.dynamic = DynamicValues()  # data-dependent lengths: dynamic.py says how
        self.dynamic.attach(self.ctx)

    def run(self) -> ModuleOp:
        block = self.block
        arg_types = list(block.arg_types)
        for vi, arg in zip(self.inputs, block.args):
            arg.name_hint = _hint(vi.name)
            self.half.source(vi.name, vi.type.tensor_type.elem_type)
            self.env[vi.name] = self.half.graph_input(self.ctx, arg)

        consumed = _consumed(self.graph)
        # keep going after a node fails, so one run reports every node that cannot be
        # converted; nodes downstream of a failed one are skipped (their errors would only be
        # consequences)
        errors: list[ModelError] = []
        poisoned: set[str] = set()
        for i, node in enumerate(self.graph.node):
            if poisoned.intersection(node.input):
                poisoned.update(n for n in node.output if n)
                continue
            try:
                self._convert(node, i, consumed)
            except ModelError as e:
                errors.append(e)
                poisoned.update(n for n in node.output if n)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            shown = "; ".join(str(e) for e in errors[:5])
            more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
            raise ModelError(f"{len(errors)} nodes cannot be converted: {shown}{more}")

        self.ctx.label = "graph"
        results = [self.half.result(self.ctx, o, self._value(o.name)) for o in self.graph.output]
        out_names = [o.name for o in self.graph.output]
        static = [  # a data-dependent length is only known at run time: nothing to compare
            (o, shape_of(v))
            for o, v in zip(self.graph.output, results)
            if self._value(o.name) not in self.dynamic.info
        ]
        check_declared_outputs([o for o, _ in static], [s for _, s in static])
        counts, count_names = self.dynamic.count_outputs(
            [self._value(n) for n in out_names], out_names
        )
        results += counts
        block.add_op(func.ReturnOp(*results))
        _erase_dead_ops(block)

        def names(ns: list[str]) -> ArrayAttr[DictionaryAttr]:
            return ArrayAttr([DictionaryAttr({"xtvm.name": StringAttr(n)}) for n in ns])

        main = func.FuncOp(
            "main",
            (arg_types, [v.type for v in results]),
            Region(block),
            arg_attrs=names([vi.name for vi in self.inputs]),
            res_attrs=names(out_names + count_names),
        )
        return ModuleOp([main])

    def convert_subgraph(
        self, graph: GraphProto, bind: dict[str, SSAValue] | None = None
    ) -> list[SSAValue]:
        """Convert a control-flow body (an If branch, a loop body whose graph inputs are
        ``bind``) at the context's insertion point and return its outputs. Its nodes read the
        enclosing scopes' names; the names it defines (and its initializers) are dropped
        again afterwards."""
        ctx = self.ctx
        saved = (self.env, self.initializers, ctx.node, ctx.label)
        self.env = {
            k: v for k, v in self.env.items() if k not in {t.name for t in graph.initializer}
        }
        self.env.update(bind or {})
        self.initializers = {**self.initializers, **{t.name: t for t in graph.initializer}}
        try:
            _check_references(graph, set(self.env) | set(self.initializers), f"{saved[3]}: ")
            consumed = _consumed(graph)
            for i, node in enumerate(graph.node):
                self._convert(node, i, consumed)
            return [self._value(o.name) for o in graph.output]
        finally:
            self.env, self.initializers, ctx.node, ctx.label = saved

    def _value(self, name: str) -> SSAValue:
        """The SSA value for an ONNX name; initializers are materialized on first use."""
        if name not in self.env:
            t = self.initializers[name]  # _check_references guarantees it exists
            try:
                arr = numpy_helper.to_array(t)
            except Exception as e:
                raise ModelError(f"initializer '{name}' could not be read: {one_line(e)}") from None
            self.half.source(name, t.data_type)
            arr = normalize_array(widen_initializer(arr), f"initializer '{name}'")
            v = self.ctx.constant(arr)
            v.name_hint = _hint(name)
            self.env[name] = v
        return self.env[name]

    def _convert(self, node: onnx.NodeProto, index: int, consumed: set[str]) -> None:
        ctx = self.ctx
        ctx.node = node
        ctx.label = node_label(node, index)
        fn = lookup(node.op_type, node.domain, self.opset)
        assert fn is not None  # _check_supported ran first
        inputs = self.half.inputs(ctx, node, [self._value(n) if n else None for n in node.input])
        attrs = {a.name: _attr_value(a) for a in node.attribute}
        self.dynamic.check_consumer(ctx, node, inputs)
        try:
            out = self.half.cast(ctx, node, inputs)
            if out is None:
                out = fn(ctx, node, inputs, attrs)
        except ModelError:
            raise
        except (VerifyException, ValueError) as e:
            raise ModelError(f"{ctx.label}: {one_line(e)}") from e
        results = self.half.outputs(ctx, node, [out] if isinstance(out, SSAValue) else list(out))
        self.dynamic.propagate(ctx, node, attrs, inputs, results)
        for j, name in enumerate(node.output):
            if not name:
                continue
            if j >= len(results):
                if name in consumed:
                    raise ctx.error(f"output {j} ('{name}') is used, but xtvm does not compute it")
                continue
            v = results[j]
            if v.name_hint is None:
                v.name_hint = _hint(name)
            self.env[name] = v


def _consumed(graph: GraphProto) -> set[str]:
    """Names ``graph`` reads: node inputs, graph outputs, and what its subgraphs (If
    branches) read from enclosing scopes."""
    names = {o.name for o in graph.output}
    for node in graph.node:
        names.update(n for n in node.input if n)
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                names |= _consumed(sub)
    return names


def _erase_dead_ops(block: Block) -> None:
    """Drop pure ops whose results are unused (e.g. shape constants read at import time)."""
    for op in reversed(list(block.ops)):
        if op.has_trait(Pure) and all(not r.uses for r in op.results):
            block.erase_op(op)


__all__ = ["from_onnx", "default_opset"]
