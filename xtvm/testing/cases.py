"""The ONNX backend node-test cases, loaded in memory, with the op type each one tests.

onnx 1.2x wheels no longer ship the node tests as files: each case is built when its module
under ``onnx.backend.test.case.node`` is imported (seeded, so deterministically). Loading
every case takes ~15 s; ``load_cases(modules=...)`` imports only the named modules, which
is what the fast unit-test sample uses.
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

_EXPANDED = re.compile(r"_expanded(_ver\d+)?$")


@dataclass
class Case:
    """One node test: its model, data sets ``[(inputs, outputs)]`` and tolerances."""

    name: str
    model: onnx.ModelProto
    data_sets: list[tuple[list[np.ndarray], list[np.ndarray]]]
    rtol: float
    atol: float
    op_type: str = ""
    # the single-node test an ``_expanded`` case inlines, when loaded
    base_model: onnx.ModelProto | None = field(default=None, repr=False)

    @property
    def input_names(self) -> list[str]:
        """Graph inputs that the data sets feed, in order (initializers excluded)."""
        inits = {t.name for t in self.model.graph.initializer}
        return [v.name for v in self.model.graph.input if v.name not in inits]


def _raw_cases(modules: list[str] | None) -> list[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy overflow warnings from the case generators
        if modules is None:
            from onnx.backend.test.loader import load_node_model_tests

            return list(load_node_model_tests())
        for mod in modules:
            importlib.import_module(f"onnx.backend.test.case.node.{mod}")
        from onnx.backend.test.case.node import _NodeTestCases

        return list(_NodeTestCases)


def _normalize(value: Any) -> Any:
    """Arrays as numpy (some cases hold TensorProtos); sequences (lists) and None kept."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def _node_op_key(node: onnx.NodeProto) -> str:
    domain = node.domain or ""
    if domain in ("", "ai.onnx"):
        return node.op_type
    return f"{domain}.{node.op_type}"


def main_op_type(model: onnx.ModelProto, base_model: onnx.ModelProto | None) -> str:
    """The op a case tests.

    Every multi-node node test is the ``_expanded`` form of a single-node test (a function
    op inlined into its body), so it counts under the op of that single-node test;
    otherwise the graph's first node (the only one, in practice) names it.
    """
    source = base_model if base_model is not None else model
    nodes = source.graph.node
    return _node_op_key(nodes[0]) if nodes else "(empty)"


def load_cases(names: list[str] | None = None, modules: list[str] | None = None) -> list[Case]:
    """Node-test cases sorted by name; ``names`` keeps only those, ``modules`` (file stems
    under ``onnx.backend.test.case.node``, e.g. ``"relu"``) imports only those files."""
    raw = _raw_cases(modules)
    by_name = {c.name: c for c in raw}
    wanted = set(names) if names is not None else None
    cases = []
    for rc in sorted(raw, key=lambda c: c.name):
        if wanted is not None and rc.name not in wanted:
            continue
        base_name = _EXPANDED.sub("", rc.name)
        base = by_name.get(base_name) if base_name != rc.name else None
        base_model = base.model if base is not None else None
        data_sets = [
            ([_normalize(x) for x in i], [_normalize(x) for x in o]) for i, o in rc.data_sets or []
        ]
        case = Case(rc.name, rc.model, data_sets, float(rc.rtol), float(rc.atol))
        case.base_model = base_model
        case.op_type = main_op_type(rc.model, base_model)
        cases.append(case)
    if wanted is not None:
        missing = wanted - {c.name for c in cases}
        if missing:
            raise KeyError(f"no such node test(s): {', '.join(sorted(missing))}")
    return cases
