"""``convert-tir-to-nvvm``: tir with thread-bound kernels -> ``llvm`` dialect for NVPTX.

Expects tir per docs/contracts.md whose kernels are GPU kernels (``tir.for kind(thread
...)`` loops, ``tir_gpu.launch_config``) and whose entry is a straight sequence of
``tir.call``s. Produces (docs/contracts.md, "tir -> nvvm"):

* each kernel -> ``llvm.func @k(!llvm.ptr {llvm.noalias}, ...)`` tagged ``nvvm.kernel``
  (a PTX ``.entry``; :mod:`.kernel`), shared buffers as address-space-3 globals;
* no entry function: the entry becomes the launch plan in ``xtvm.metadata`` (``"device":
  "cuda"``, ``"launches"``, ``"constants"``; :mod:`.launch_plan`);
* the weights, in the order of ``"constants"``, as the module attribute
  ``xtvm.constants`` (an array of dense elements the backend packs into the blob).

A kernel whose root stages have thread loops of their own is first split into one kernel
per phase (:mod:`.split_kernels`). A kernel without thread loops runs on one thread when
its work is tiny (``SERIAL_MAX_WORK``); otherwise it has no GPU schedule, and the pass fails
naming every such kernel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.ir import Block
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import LaunchConfig, const_index, launch_config
from xtvm.errors import CompileError
from xtvm.lowering.tir_to_llvm.convert import METADATA_ATTR, entry_metadata
from xtvm.lowering.tir_to_nvvm.kernel import NvvmModuleState, lower_kernel
from xtvm.lowering.tir_to_nvvm.launch_plan import check_straight_line, launch_plan
from xtvm.lowering.tir_to_nvvm.split_kernels import split_kernels
from xtvm.passes.registry import register_pass

CONSTANTS_ATTR = "xtvm.constants"
COUNT_PREFIX = "xtvm.count:"


SERIAL_MAX_WORK = 4096
"""A kernel without thread loops whose ops execute at most this many times (counted
statically) runs on one GPU thread: a 0-d result or a handful of elements, where a
launch of one thread costs no more than a wider one. Larger ones have no GPU schedule."""


def static_work(block: Block) -> int:
    """How many ops ``block`` executes, loops multiplied by their constant trip counts (a
    loop with unknown bounds counts as unbounded)."""
    total = 0
    for op in block.ops:
        if isinstance(op, tir.ForOp):
            lb, ub, step = (const_index(v) for v in (op.lb, op.ub, op.step))
            if lb is None or ub is None or not step:
                return SERIAL_MAX_WORK + 1
            total += max(0, -(-(ub - lb) // step)) * static_work(op.block)
        else:
            total += 1 + sum(static_work(b) for r in op.regions for b in r.blocks)
        if total > SERIAL_MAX_WORK:
            break
    return total


def _configs(kernels: list[tir.PrimFuncOp]) -> dict[str, LaunchConfig]:
    configs: dict[str, LaunchConfig] = {}
    unscheduled = []
    for k in kernels:
        name = k.sym_name.data
        try:
            config = launch_config(k)
        except VerifyException as exc:
            reason = str(exc).splitlines()[0].removeprefix(f"@{name}: ")
            raise CompileError(f"cuda kernel @{name}: {reason}") from None
        if config is not None:
            configs[name] = config
        elif static_work(k.block) <= SERIAL_MAX_WORK:
            configs[name] = LaunchConfig()  # one thread: a scalar or a few elements
        else:
            unscheduled.append(name)
    if unscheduled:
        shown = ", ".join(f"@{n}" for n in unscheduled[:8])
        more = f" and {len(unscheduled) - 8} more" if len(unscheduled) > 8 else ""
        raise CompileError(
            f"no GPU schedule for {len(unscheduled)} kernel(s): {shown}{more} "
            "(their loops are not bound to blockIdx/threadIdx)"
        )
    return configs


@register_pass
@dataclass(frozen=True)
class ConvertTirToNvvmPass(ModulePass):
    """Lower GPU kernels to NVPTX llvm functions and the entry to a launch plan."""

    name = "convert-tir-to-nvvm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        globals_ = {g.sym_name.data: g for g in op.ops if isinstance(g, tir.GlobalOp)}
        funcs = [f for f in op.ops if isinstance(f, tir.PrimFuncOp)]
        others = [o for o in op.ops if not isinstance(o, (tir.GlobalOp, tir.PrimFuncOp))]
        if others:
            raise CompileError(f"convert-tir-to-nvvm: unexpected top-level '{others[0].name}'")
        entries = [f for f in funcs if f.is_entry]
        if len(entries) > 1:
            raise CompileError("a module may have only one xtvm.entry function")
        if entries:  # what a launch plan cannot express, before judging the kernels
            counted = [
                o["name"]
                for o in entry_metadata(entries[0])["outputs"]
                if o["name"].startswith(COUNT_PREFIX)
            ]
            if counted:
                raise CompileError(
                    "the model cannot be compiled for cuda: output "
                    f"'{counted[0].split(':', 2)[-1]}' has a data-dependent length"
                )
            check_straight_line(entries[0])
        split_kernels(op.body.block, entries[0] if entries else None)
        kernels = [f for f in op.ops if isinstance(f, tir.PrimFuncOp) and not f.is_entry]
        configs = _configs(kernels)
        ms = NvvmModuleState()
        lowered = [lower_kernel(ms, k, configs[k.sym_name.data]) for k in kernels]
        meta = None
        if entries:
            meta = entry_metadata(entries[0])  # after splitting: the workspace may have grown
            launches, consts = launch_plan(entries[0], globals_, configs)
            meta.update(device="cuda", launches=launches, constants=consts.entries)
            op.attributes[CONSTANTS_ATTR] = ArrayAttr(consts.values)
        block = op.body.block
        for top in list(block.ops):
            top.detach()
            top.erase(safe_erase=False)
        block.add_ops([*ms.shared_globals, *ms.declarations.values(), *lowered])
        if meta is not None:
            op.attributes[METADATA_ATTR] = StringAttr(json.dumps(meta))
