"""The host side of a cuda module: the tir entry function as a launch plan.

On the CPU the entry is compiled to ``xtvm_main``. For a GPU, what it does is a fixed
sequence of kernel calls over buffers known at compile time (inputs, outputs, views of
one workspace, weights), so it becomes data the runtime executes (docs/contracts.md,
"tir -> nvvm"): one launch per ``tir.call`` with its grid, block and the buffer each
argument points at, and the weights as one blob of constants. An entry that branches
or loops on data (``scf.if``/``scf.while``/``cf.assert``) or has outputs of data-dependent
length is refused: a plan has no control flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, MemRefType
from xdsl.ir import BlockArgument, Operation, SSAValue

from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import BLOCK_TAGS, THREAD_TAGS, LaunchConfig
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.convert import numpy_dtype
from xtvm.lowering.tir_to_llvm.state import byte_size

CONSTANT_ALIGN = 64
"""Byte alignment of each weight in the constants blob (and so on the device)."""


@dataclass
class Constants:
    """The weights the plan uses, in first-use order, packed into one blob."""

    entries: list[dict[str, Any]]
    values: list[DenseIntOrFPElementsAttr]
    index: dict[str, int]
    size: int = 0

    @staticmethod
    def empty() -> Constants:
        return Constants([], [], {})

    def add(self, glob: tir.GlobalOp) -> int:
        """Index of ``glob``'s entry, appending its bytes on first use."""
        name = glob.sym_name.data
        if name in self.index:
            return self.index[name]
        t = glob.type
        count = 1
        for d in t.get_shape():
            count *= d
        nbytes = count * byte_size(t.element_type)
        offset = self.size + (-self.size % CONSTANT_ALIGN)
        self.size = offset + nbytes
        self.values.append(glob.value)
        self.entries.append(
            {
                "name": name,
                "dtype": numpy_dtype(t.element_type),
                "shape": list(t.get_shape()),
                "offset": offset,
                "nbytes": nbytes,
            }
        )
        self.index[name] = len(self.entries) - 1
        return self.index[name]


def pack_constants(entries: list[dict[str, Any]], values: list[DenseIntOrFPElementsAttr]) -> bytes:
    """The constants blob: each value's bytes at its entry's offset, zeros between."""
    blob = bytearray()
    for entry, value in zip(entries, values, strict=True):
        blob += bytes(entry["offset"] - len(blob))
        data = _dense_bytes(value, entry["nbytes"], entry["name"])
        if entry["dtype"] == "bool":  # xDSL stores true as 0xff; numpy and the kernels, as 1
            data = (np.frombuffer(data, np.uint8) != 0).astype(np.uint8).tobytes()
        blob += data
    return bytes(blob)


def _dense_bytes(value: DenseIntOrFPElementsAttr, nbytes: int, name: str) -> bytes:
    raw = bytes(value.data.data)
    if len(raw) == nbytes:
        return raw
    if raw and nbytes % len(raw) == 0:  # a splat: one element for all
        return raw * (nbytes // len(raw))
    raise CompileError(f"global @{name}: {len(raw)} initializer bytes for a {nbytes}-byte buffer")


def dims(config: LaunchConfig, tags: tuple[str, str, str], kind: str) -> list[int]:
    """``[x, y, z]`` of the grid (``BLOCK_TAGS``) or block (``THREAD_TAGS``); 1 if unbound."""
    source = config.grid if kind == "grid" else config.block
    return [source.get(tag, 1) for tag in tags]


class _ArgResolver:
    """Which device buffer (and byte offset) each memref value of the entry is."""

    def __init__(
        self, entry: tir.PrimFuncOp, globals_: Mapping[str, tir.GlobalOp], consts: Constants
    ):
        self.num_inputs = entry_num_inputs(entry)
        self.globals = globals_
        self.consts = consts

    def resolve(self, v: SSAValue) -> dict[str, Any]:
        if isinstance(v, BlockArgument):
            k = v.index
            if k < self.num_inputs:
                return {"kind": "input", "index": k, "offset": 0}
            return {"kind": "output", "index": k - self.num_inputs, "offset": 0}
        op = v.owner
        if isinstance(op, tir.WorkspaceBufferOp):
            return {"kind": "workspace", "index": 0, "offset": op.offset.value.data}
        if isinstance(op, tir.GlobalRefOp):
            name = op.global_name.root_reference.data
            if name not in self.globals:
                raise CompileError(f"tir.global_ref of an unknown global @{name}")
            return {"kind": "constant", "index": self.consts.add(self.globals[name]), "offset": 0}
        if isinstance(op, tir.ViewOp):
            base = self.resolve(op.base)
            return {**base, "offset": base["offset"] + op.offset.value.data}
        name = op.name if isinstance(op, Operation) else "?"
        raise CompileError(f"cuda launch plan: a kernel argument comes from '{name}'")


def entry_num_inputs(entry: tir.PrimFuncOp) -> int:
    attr = entry.attributes.get("xtvm.num_inputs")
    n = len(entry.function_type.inputs.data)
    return attr.value.data if attr is not None else max(0, n - 1)  # type: ignore[attr-defined]


_CONTROL_FLOW = {
    "scf.if": "a data-dependent branch",
    "scf.while": "a loop",
    "cf.assert": "a branch that cannot be built at the bound shapes",
}
_PLAIN_OPS = (tir.WorkspaceBufferOp, tir.GlobalRefOp, tir.ViewOp, tir.ReturnOp, arith.ConstantOp)


def check_straight_line(entry: tir.PrimFuncOp) -> None:
    """A CompileError naming the control flow of ``entry``, which a plan cannot express."""
    for op in entry.body.block.ops:
        if op.name in _CONTROL_FLOW:
            raise CompileError(
                f"the model cannot be compiled for cuda: its entry has {_CONTROL_FLOW[op.name]}"
                ", and a cuda module is a fixed sequence of kernel launches"
            )


def launch_plan(
    entry: tir.PrimFuncOp,
    globals_: Mapping[str, tir.GlobalOp],
    configs: Mapping[str, LaunchConfig],
) -> tuple[list[dict[str, Any]], Constants]:
    """The launches of ``entry`` (one per ``tir.call``, in order) and its constants.

    ``configs`` maps each GPU kernel's name to its launch configuration."""
    check_straight_line(entry)
    consts = Constants.empty()
    resolver = _ArgResolver(entry, globals_, consts)
    launches = []
    for op in entry.body.block.ops:
        if isinstance(op, tir.CallOp):
            callee = op.callee.root_reference.data
            config = configs.get(callee)
            if config is None:
                raise CompileError(f"cuda launch plan: @{callee} is not a GPU kernel")
            launches.append(
                {
                    "kernel": callee,
                    "grid": dims(config, BLOCK_TAGS, "grid"),
                    "block": dims(config, THREAD_TAGS, "block"),
                    "shared_bytes": 0,  # static __shared__ arrays are declared in the PTX
                    "args": [resolver.resolve(a) for a in op.args],
                }
            )
        elif not isinstance(op, _PLAIN_OPS):
            raise CompileError(f"cuda launch plan: unexpected '{op.name}' in the entry")
    for arg in entry.body.block.args:
        if not isinstance(arg.type, MemRefType):
            raise CompileError(f"cuda launch plan: entry argument of type {arg.type}")
    return launches, consts
