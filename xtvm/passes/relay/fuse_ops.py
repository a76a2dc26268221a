"""``relay-fuse-ops``: partition each relay function into ``relay.fused`` groups (TVM FuseOps).

Expects: relay ``func.func`` bodies (constants folded or not); existing ``relay.fused`` ops are
kept as they are.
Guarantees: every relay op at the top level of a function body, except ``relay.constant``, is
in exactly one single-output ``relay.fused`` group (a lone op gets a group of its own), so a
relay function then holds only ``relay.constant``, ``relay.fused``, ``relay.if`` (whose
regions hold the same, ending in ``relay.yield``) and ``func.return``.
Groups are isolated from above: constants and values from other groups come in as arguments,
in first-use order. Kernel names are ``fused_<op names>`` (``fused_conv2d_batch_norm_relu``),
unique in the module (``_1``, ``_2``, ... on repeats).

Rules (op patterns in :mod:`xtvm.passes.relay.op_pattern`), applied in program order:
an elementwise/broadcast/injective op joins the group of an operand's producer when that
operand has no other user, the group is open to it and the merged group has at most
``max_depth`` ops. A group anchored on an out-elementwise-fusable op (conv2d, dense,
batch_matmul) is open to elementwise/broadcast ops (its epilogue); a group of only
elementwise/broadcast/injective ops is open to all three; reduction and opaque ops form
closed singletons. When several operands qualify, their groups merge (at most one anchor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xtvm.dialects import relay
from xtvm.errors import PipelineError
from xtvm.passes.registry import register_pass
from xtvm.passes.relay.op_pattern import OpPattern, op_pattern
from xtvm.passes.relay.rewrite_utils import function_blocks


@dataclass(eq=False)
class _Group:
    ops: list[Operation]
    anchored: bool  # holds a conv2d / dense / batch_matmul
    closed: bool  # a reduction or opaque op: nothing joins it

    def accepts(self, pattern: OpPattern) -> bool:
        if self.closed:
            return False
        limit = OpPattern.BROADCAST if self.anchored else OpPattern.INJECTIVE
        return pattern <= limit


@dataclass
class _Partitioner:
    max_depth: int
    position: dict[Operation, int]
    group_of: dict[Operation, _Group] = field(default_factory=dict)

    def _only_user(self, value: SSAValue, user: Operation) -> bool:
        return all(use.operation is user for use in value.uses)

    def _candidates(self, op: Operation, pattern: OpPattern) -> list[_Group]:
        found: list[_Group] = []
        for v in op.operands:
            g = self.group_of.get(v.owner)  # type: ignore[arg-type]
            if g is None or g in found or not g.accepts(pattern) or not self._only_user(v, op):
                continue
            found.append(g)
        return found

    def add(self, op: Operation) -> None:
        pattern = op_pattern(op)
        merged: list[_Group] = []
        if pattern <= OpPattern.INJECTIVE:
            size, anchored = 1, False
            for g in self._candidates(op, pattern):
                if (anchored and g.anchored) or size + len(g.ops) > self.max_depth:
                    continue
                merged.append(g)
                size += len(g.ops)
                anchored = anchored or g.anchored
        if merged:
            ops = sorted((o for g in merged for o in g.ops), key=self.position.__getitem__)
            group = _Group(ops + [op], any(g.anchored for g in merged), False)
        else:
            anchored = pattern == OpPattern.OUT_ELEMWISE_FUSABLE
            closed = pattern in (OpPattern.COMM_REDUCE, OpPattern.OPAQUE)
            group = _Group([op], anchored, closed)
        for o in group.ops:
            self.group_of[o] = group

    def groups(self) -> list[_Group]:
        unique = {id(g): g for g in self.group_of.values()}
        return sorted(unique.values(), key=lambda g: self.position[g.ops[-1]])


def _unique_name(base: str, taken: set[str]) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def _outline(group: list[Operation], taken: set[str]) -> relay.FusedOp:
    """Move ``group`` (in program order, last op = output) into a new ``relay.fused``."""
    members = set(group)
    inputs: list[SSAValue] = []
    for op in group:
        for v in op.operands:
            if v.owner not in members and v not in inputs:
                inputs.append(v)
    block = Block(arg_types=[v.type for v in inputs])
    mapping: dict[SSAValue, SSAValue] = {}
    for v, arg in zip(inputs, block.args):
        arg.name_hint = v.name_hint
        mapping[v] = arg
    for op in group:
        block.add_op(op.clone(mapping))
    out = group[-1]
    block.add_op(relay.YieldOp(mapping[out.results[0]]))
    base = "fused_" + "_".join(o.name.removeprefix("relay.") for o in group)
    fused = relay.FusedOp(_unique_name(base, taken), inputs, [out.results[0].type], Region(block))
    fused.results[0].name_hint = out.results[0].name_hint
    Rewriter.insert_op(fused, InsertPoint.before(out))
    out.results[0].replace_all_uses_with(fused.results[0])
    for op in reversed(group):
        Rewriter.erase_op(op)
    return fused


def _fuse_block(block: Block, max_depth: int, taken: set[str]) -> None:
    part = _Partitioner(max_depth, {op: k for k, op in enumerate(block.ops)})
    for op in block.ops:
        if isinstance(op, relay.RelayOp):
            part.add(op)
    for g in part.groups():
        _outline(g.ops, taken)


@register_pass
@dataclass(frozen=True)
class RelayFuseOpsPass(ModulePass):
    """Group relay ops into ``relay.fused`` kernels (see the module docstring).

    ``max_depth`` (``max-depth`` in a pipeline) caps the ops in one group; 1 gives one kernel
    per op (what ``-O0`` uses).
    """

    name = "relay-fuse-ops"
    max_depth: int = 8

    def __post_init__(self) -> None:
        if self.max_depth < 1:
            raise PipelineError(f"relay-fuse-ops: max-depth must be >= 1, got {self.max_depth}")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        taken = {f.kernel_name.data for f in op.walk() if isinstance(f, relay.FusedOp)}
        # relay.if regions are partitioned like function bodies: each branch's ops become
        # groups inside it (a group never spans a region boundary)
        for block in list(function_blocks(op)):
            _fuse_block(block, self.max_depth, taken)
