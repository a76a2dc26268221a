"""The launch plan of a CUDA module, checked before anything touches a GPU.

The metadata of a ``"device": "cuda"`` module says which PTX kernels run in which order,
with which grid, block and dynamic shared memory, and which device pointers each kernel
gets (an input or output buffer, the workspace or a constant, at a byte offset). A wrong
index or offset would make a kernel read or write outside its buffer, which on a GPU is a
silent corruption or a sticky context error, so every field is checked here, without a
GPU, and a malformed plan is a one-line ModelError naming the first problem. Limits that
depend on the device (its shared memory) are checked again when the module first runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xtvm.errors import ModelError
from xtvm.runtime.dtypes import storage_dtype

ARG_KINDS = ("input", "output", "workspace", "constant")
# limits of every CUDA device from sm_70 on (CUDA programming guide, table of compute
# capabilities): grid x < 2^31, y and z <= 65535; block x, y <= 1024, z <= 64, <= 1024
# threads; dynamic shared memory up to 227 KiB (sm_90's opt-in maximum)
MAX_GRID = (2**31 - 1, 65535, 65535)
MAX_BLOCK = (1024, 1024, 64)
MAX_THREADS_PER_BLOCK = 1024
MAX_SHARED_BYTES = 227 * 1024
MAX_LAUNCHES = 1 << 16
MAX_ARGS = 1024

_ENTRY = re.compile(r"^\s*(?:\.visible\s+|\.weak\s+)?\.entry\s+([A-Za-z_$%][\w$%]*)", re.M)
_PARAMS = re.compile(r"\s*\(([^)]*)\)")
_PARAM = re.compile(r"\.param\s+(?:\.align\s+\d+\s+)?\.(\w+)")
POINTER_TYPES = ("u64", "b64", "s64")


def ptx_entries(ptx: str) -> list[str]:
    """Names of the kernels (``.entry``) a PTX text defines."""
    return _ENTRY.findall(ptx)


def ptx_signatures(ptx: str) -> dict[str, list[str]]:
    """Each kernel's parameter types (``u64``, ...), in order, from its ``.entry`` line."""
    signatures = {}
    for match in _ENTRY.finditer(ptx):
        body = ptx.find("{", match.end())
        head = re.sub(r"//[^\n]*", "", ptx[match.end() : body if body >= 0 else len(ptx)])
        params = _PARAMS.match(head)
        signatures[match.group(1)] = _PARAM.findall(params.group(1)) if params else []
    return signatures


@dataclass(frozen=True)
class Arg:
    """One kernel parameter: the device pointer of buffer ``kind``/``index`` + ``offset``."""

    kind: str
    index: int
    offset: int


@dataclass(frozen=True)
class Launch:
    """One kernel launch of the plan, in the order the model runs them."""

    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_bytes: int
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Constant:
    """A weight: ``nbytes`` bytes at ``offset`` in the constants blob."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Plan:
    """The checked launches and constants of a module."""

    launches: tuple[Launch, ...]
    constants: tuple[Constant, ...]
    workspace_bytes: int


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _nbytes(info: Mapping[str, Any]) -> int:
    size = storage_dtype(info["dtype"]).itemsize
    for d in info["shape"]:
        size *= int(d)
    return size


def _dims(value: Any, limits: tuple[int, ...], where: str) -> tuple[int, int, int]:
    if not isinstance(value, list) or len(value) != 3 or not all(_is_count(v) for v in value):
        raise ValueError(f"{where} is not a list of 3 non-negative integers: {value!r}")
    for axis, (v, limit) in enumerate(zip(value, limits)):
        if v < 1 or v > limit:
            raise ValueError(f"{where}[{axis}] = {v} is outside 1..{limit}")
    return (value[0], value[1], value[2])


def _constant(raw: Any, k: int, blob_bytes: int) -> Constant:
    where = f"constants[{k}]"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} is not an object")
    name, dtype, shape = raw.get("name"), raw.get("dtype"), raw.get("shape")
    if not isinstance(name, str):
        raise ValueError(f"{where} has no string 'name'")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise ValueError(f"{where} has no 'shape' of non-negative integers")
    try:
        itemsize = storage_dtype(dtype).itemsize if isinstance(dtype, str) else 0
    except (TypeError, ValueError):
        itemsize = 0
    if itemsize == 0:
        raise ValueError(f"{where} has an unknown dtype {dtype!r}")
    offset, nbytes = raw.get("offset"), raw.get("nbytes")
    if not _is_count(offset) or not _is_count(nbytes):
        raise ValueError(f"{where} has no non-negative integer 'offset' and 'nbytes'")
    expected = itemsize
    for d in shape:
        expected *= d
    if nbytes != expected:
        raise ValueError(f"{where} '{name}': nbytes {nbytes} != {expected} ({dtype}{shape})")
    if offset + nbytes > blob_bytes:
        raise ValueError(
            f"{where} '{name}': bytes {offset}..{offset + nbytes} past the end of the "
            f"constants ({blob_bytes} bytes)"
        )
    if offset % itemsize:
        raise ValueError(f"{where} '{name}': offset {offset} is not {itemsize}-byte aligned")
    return Constant(name, dtype, tuple(shape), offset, nbytes)


def _arg(raw: Any, where: str, sizes: Mapping[str, list[tuple[int, int]]]) -> Arg:
    """``sizes[kind]``: (bytes, alignment) of each buffer of that kind."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} is not an object")
    kind, index, offset = raw.get("kind"), raw.get("index", 0), raw.get("offset", 0)
    if kind not in ARG_KINDS:
        raise ValueError(f"{where} has kind {kind!r}, not one of {', '.join(ARG_KINDS)}")
    if not _is_count(index) or not _is_count(offset):
        raise ValueError(f"{where} has no non-negative integer 'index' and 'offset'")
    buffers = sizes[kind]
    if index >= len(buffers):
        raise ValueError(f"{where}: {kind} index {index} out of range ({len(buffers)} {kind}s)")
    nbytes, align = buffers[index]
    if offset > 0 and offset >= nbytes:
        raise ValueError(f"{where}: offset {offset} past the end of {kind} {index} ({nbytes} B)")
    if offset % align:
        raise ValueError(f"{where}: offset {offset} is not {align}-byte aligned")
    return Arg(kind, index, offset)


def _launch(
    raw: Any, k: int, sizes: Mapping[str, list[tuple[int, int]]], entries: dict[str, list[str]]
) -> Launch:
    where = f"launches[{k}]"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} is not an object")
    kernel = raw.get("kernel")
    if not isinstance(kernel, str):
        raise ValueError(f"{where} has no string 'kernel'")
    if kernel not in entries:
        raise ValueError(f"{where}: kernel '{kernel}' is not an .entry of the PTX")
    grid = _dims(raw.get("grid"), MAX_GRID, f"{where}.grid")
    block = _dims(raw.get("block"), MAX_BLOCK, f"{where}.block")
    if block[0] * block[1] * block[2] > MAX_THREADS_PER_BLOCK:
        raise ValueError(f"{where}: block {list(block)} has over {MAX_THREADS_PER_BLOCK} threads")
    shared = raw.get("shared_bytes", 0)
    if not _is_count(shared) or shared > MAX_SHARED_BYTES:
        raise ValueError(
            f"{where}: shared_bytes {shared!r} is not an integer 0..{MAX_SHARED_BYTES}"
        )
    args = raw.get("args")
    if not isinstance(args, list) or len(args) > MAX_ARGS:
        raise ValueError(f"{where} has no 'args' list (of at most {MAX_ARGS})")
    parsed = tuple(_arg(a, f"{where}.args[{j}]", sizes) for j, a in enumerate(args))
    params = entries[kernel]
    if len(params) != len(parsed):
        raise ValueError(
            f"{where}: kernel '{kernel}' takes {len(params)} parameters, the plan passes "
            f"{len(parsed)} pointers"
        )
    wrong = [j for j, t in enumerate(params) if t not in POINTER_TYPES]
    if wrong:
        raise ValueError(
            f"{where}: parameter {wrong[0]} of kernel '{kernel}' is .{params[wrong[0]]}, "
            "not a 64-bit pointer"
        )
    return Launch(kernel, grid, block, shared, parsed)


def build_plan(metadata: Mapping[str, Any], ptx: str, constants_bytes: int) -> Plan:
    """The checked plan of a cuda module whose signature ``check_metadata`` accepted;
    a ValueError naming the first problem otherwise (callers make it a ModelError)."""
    raw_constants = metadata.get("constants", [])
    if not isinstance(raw_constants, list):
        raise ValueError("'constants' is not a list")
    constants = tuple(_constant(c, k, constants_bytes) for k, c in enumerate(raw_constants))
    workspace = metadata.get("workspace_bytes", 0)
    if not _is_count(workspace):
        raise ValueError("'workspace_bytes' is not a non-negative integer")

    def tensors(kind: str) -> list[tuple[int, int]]:
        infos = metadata.get(kind, [])
        return [(_nbytes(i), storage_dtype(i["dtype"]).itemsize) for i in infos]

    sizes = {
        "input": tensors("inputs"),
        "output": tensors("outputs"),
        "workspace": [(workspace, 1)],
        "constant": [(c.nbytes, storage_dtype(c.dtype).itemsize) for c in constants],
    }
    raw_launches = metadata.get("launches")
    if not isinstance(raw_launches, list) or len(raw_launches) > MAX_LAUNCHES:
        raise ValueError(f"'launches' is not a list (of at most {MAX_LAUNCHES})")
    entries = ptx_signatures(ptx)
    launches = tuple(_launch(r, k, sizes, entries) for k, r in enumerate(raw_launches))
    return Plan(launches, constants, workspace)


def check_plan(metadata: Mapping[str, Any], ptx: str, constants_bytes: int, shown: str) -> Plan:
    """``build_plan``, a malformed plan being a ModelError about the module ``shown``."""
    try:
        return build_plan(metadata, ptx, constants_bytes)
    except ValueError as exc:
        raise ModelError(f"cannot load '{shown}': malformed cuda plan: {exc}") from None
