"""Check a library's metadata (``xtvm_metadata``, a package's ``metadata.json``) before use.

The runtime sizes buffers and binds inputs from this JSON, so a malformed signature (a
negative dim, an unknown dtype, a name that is not a string) must be a one-line ModelError
at load time, not a TypeError or a numpy error at the first run. Field names and meaning:
``docs/contracts.md`` (inputs, outputs, workspace_bytes) and ``docs/deploy.md`` (target,
xtvm_version).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xtvm.errors import ModelError
from xtvm.runtime.dtypes import storage_dtype

MAX_RANK = 64


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _signature_problem(infos: Any, kind: str) -> str | None:
    """What is wrong with the ``kind`` list ("inputs"/"outputs"), or None."""
    if not isinstance(infos, list):
        return f"'{kind}' is not a list"
    for k, info in enumerate(infos):
        where = f"{kind}[{k}]"
        if not isinstance(info, Mapping):
            return f"{where} is not an object"
        if not isinstance(info.get("name"), str):
            return f"{where} has no string 'name'"
        shape = info.get("shape")
        if not isinstance(shape, list) or len(shape) > MAX_RANK:
            return f"{where} has no 'shape' list (of at most {MAX_RANK} dims)"
        if not all(_is_count(d) for d in shape):
            return f"{where} has a shape that is not non-negative integers: {shape}"
        dtype = info.get("dtype")
        try:
            ok = isinstance(dtype, str) and storage_dtype(dtype).kind in "biufcV"
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return f"{where} has an unknown dtype {dtype!r}"
    return None


def _target_problem(metadata: Mapping[str, Any]) -> str | None:
    if "target" not in metadata:
        return None  # built before targets were recorded
    target = metadata["target"]
    if not isinstance(target, Mapping) or not all(
        isinstance(target.get(k, ""), str) for k in ("triple", "cpu", "features")
    ):
        return "'target' is not an object of strings triple, cpu, features"
    return None


def _device_problem(metadata: Mapping[str, Any]) -> str | None:
    """A cuda module's plan fields must at least be lists; their contents are checked
    against the PTX and constants by ``xtvm.runtime.cuda.plan``."""
    device = metadata.get("device", "cpu")
    if device not in ("cpu", "cuda"):
        return f"'device' is {device!r}, not 'cpu' or 'cuda'"
    if device == "cuda":
        if not isinstance(metadata.get("launches"), list):
            return "a cuda module's 'launches' is not a list"
        if not isinstance(metadata.get("constants", []), list):
            return "a cuda module's 'constants' is not a list"
    return None


def check_metadata(metadata: Any, shown: str, where: str) -> dict[str, Any]:
    """``metadata`` if it is a well-formed signature, else a ModelError naming the first
    problem (``shown``: the library's name, ``where``: which copy of the metadata)."""
    if not isinstance(metadata, dict):
        problem: str | None = "it is not a JSON object"
    else:
        problem = (
            _signature_problem(metadata.get("inputs"), "inputs")
            or _signature_problem(metadata.get("outputs"), "outputs")
            or _target_problem(metadata)
            or _device_problem(metadata)
        )
        if problem is None and not _is_count(metadata.get("workspace_bytes", 0)):
            problem = "'workspace_bytes' is not a non-negative integer"
    if problem is not None:
        raise ModelError(f"cannot load '{shown}': malformed {where}: {problem}")
    return metadata
