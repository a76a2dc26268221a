"""Conformance testing: the ONNX backend node tests run through xtvm.

``python -m xtvm.testing.conformance`` runs them; ``run_conformance`` / ``run_isolated`` are
the library entry points. Names load on first use, so ``-m`` does not import the module twice.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "check_case": "xtvm.testing.conformance",
    "run_conformance": "xtvm.testing.conformance",
    "select_cases": "xtvm.testing.conformance",
    "load_cases": "xtvm.testing.cases",
    "Outcome": "xtvm.testing.isolate",
    "run_isolated": "xtvm.testing.isolate",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'xtvm.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
