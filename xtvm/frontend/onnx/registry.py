"""Converter registry: ONNX op type + opset version -> function that emits relay ops.

A converter is registered for the first opset whose semantics it implements
(``@converter("Softmax", since=13)``); a model at opset N uses the newest registration with
``since <= N``. Only the default ONNX domain (``""`` / ``"ai.onnx"``) has converters: ops of
any other domain are reported as unsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xtvm.errors import ModelError

if TYPE_CHECKING:
    from onnx import NodeProto
    from xdsl.ir import SSAValue

    from xtvm.frontend.onnx.context import ConversionContext

    ConverterResult = SSAValue | list[SSAValue] | tuple[SSAValue, ...]
    Converter = Callable[
        [ConversionContext, NodeProto, list[SSAValue | None], dict[str, Any]], ConverterResult
    ]

# Every converter is registered for the first opset whose semantics it implements, so any
# opset can be accepted: an op whose converters all start later is reported unsupported.
MIN_OPSET = 1
# Opsets after 21 only widened the element types the converted ops accept (bfloat16, float8,
# int4, ...); their inputs, outputs and attributes are those of opset 21 (a unit test checks
# this for every registered op against the installed onnx). So newer models convert as long as
# the installed onnx knows the opset; exotic element types are rejected where they appear.
SEMANTICS_CHECKED_UP_TO = 21


def _newest_known_opset() -> int:
    try:
        import onnx.defs

        return max(SEMANTICS_CHECKED_UP_TO, int(onnx.defs.onnx_opset_version()))
    except Exception:  # pragma: no cover - onnx is a hard dependency
        return SEMANTICS_CHECKED_UP_TO


MAX_OPSET = _newest_known_opset()
DEFAULT_DOMAINS = ("", "ai.onnx")

_REGISTRY: dict[str, list[tuple[int, Converter]]] = {}


def converter(op_type: str, since: int = 1) -> Callable[[Converter], Converter]:
    """Register ``fn`` as the converter of ``op_type`` for opsets ``>= since``."""

    def register(fn: Converter) -> Converter:
        versions = _REGISTRY.setdefault(op_type, [])
        if any(v == since for v, _ in versions):
            raise ValueError(f"converter for {op_type} since opset {since} registered twice")
        versions.append((since, fn))
        versions.sort(key=lambda vf: vf[0])
        return fn

    return register


def lookup(op_type: str, domain: str, opset: int) -> Converter | None:
    """The converter for ``op_type`` at ``opset``, or None if there is none."""
    _load_converters()
    if domain not in DEFAULT_DOMAINS:
        return None
    found = None
    for since, fn in _REGISTRY.get(op_type, []):
        if since <= opset:
            found = fn
    return found


def converter_versions(op_type: str) -> list[int]:
    """The opsets ``op_type`` has converters registered for (each reviewed for that version)."""
    _load_converters()
    return [since for since, _ in _REGISTRY.get(op_type, [])]


def supported_ops(opset: int = MAX_OPSET) -> list[str]:
    """Names of the default-domain op types convertible at ``opset``, sorted."""
    _load_converters()
    return sorted(op for op in _REGISTRY if lookup(op, "", opset) is not None)


def check_opset(opset: int) -> None:
    """Reject models whose default-domain opset is outside the supported range."""
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ModelError(
            f"model uses ONNX opset {opset} (default domain); supported opsets are "
            f"{MIN_OPSET} to {MAX_OPSET}"
        )


def _load_converters() -> None:
    # importing the package runs every @converter decorator exactly once
    import xtvm.frontend.onnx.converters  # noqa: F401
