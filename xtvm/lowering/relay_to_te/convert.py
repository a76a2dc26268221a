"""``convert-relay-to-te``: each fused relay group becomes a scheduled ``te.kernel``.

Expects: a module of ``func.func`` graphs over ranked tensors holding ``relay.constant``,
``relay.fused`` groups, ``func.return`` and possibly relay ops outside any group.

Guarantees: each ``relay.fused "k"`` is a ``te.kernel @k`` (placeholders = group inputs in
order, ``te.return`` = group outputs, the default CPU schedule applied), each relay op outside
a group a singleton kernel ``@fused_<op>``; structurally identical groups share one kernel
(built once); the graph function holds only
``arith.constant dense<..>`` (same elements attribute as the ``relay.constant``),
``te.call``, ``func.return`` and, for each ``relay.if``, an ``scf.if`` on the
``tensor.extract``ed condition whose regions hold the same and end in ``scf.yield``, and for
each ``relay.loop`` an ``scf.while`` (relay_to_te/loop.py); it keeps
its ``arg_attrs``/``res_attrs``. Kernel names are
unique in the module. An op without a lowering raises ``CompileError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from xtvm.dialects import relay
from xtvm.dialects.te import CallOp, KernelOp
from xtvm.errors import CompileError
from xtvm.lowering.relay_to_te.control import lower_if
from xtvm.lowering.relay_to_te.loop import lower_loop, separate_swaps
from xtvm.lowering.relay_to_te.ops import LOWERINGS, stage_name
from xtvm.passes.registry import register_pass
from xtvm.topi.builder import KernelBuilder, Tensor
from xtvm.topi.x86 import DefaultScheduleConfig, apply_default_schedule


def _live_ops(ops: Sequence[Operation], outputs: Sequence[SSAValue]) -> list[Operation]:
    """The ops of ``ops`` that some output depends on, in their original order."""
    live: set[Operation] = set()
    work = [v.owner for v in outputs if isinstance(v.owner, Operation)]
    in_group = set(ops)
    while work:
        op = work.pop()
        if op in live or op not in in_group:
            continue
        live.add(op)
        work.extend(o.owner for o in op.operands if isinstance(o.owner, Operation))
    return [op for op in ops if op in live]


def build_kernel(
    name: str,
    inputs: Sequence[SSAValue],
    ops: Sequence[Operation],
    outputs: Sequence[SSAValue],
    config: DefaultScheduleConfig | None = None,
    tuning: Any = None,
) -> KernelOp:
    """A scheduled kernel computing ``outputs`` from ``inputs`` by the relay ``ops``.

    ``tuning`` (see :mod:`xtvm.autotune.dispatch`) gives the knobs the operator schedules
    use for this kernel: a tuned config, or a space to collect; None keeps the defaults."""
    kb = KernelBuilder(name)
    env: dict[SSAValue, Tensor] = {}
    for k, v in enumerate(inputs):
        t = v.type
        assert isinstance(t, TensorType)
        env[v] = kb.placeholder(t.get_shape(), t.element_type, f"p{k}")
    for op in _live_ops(ops, outputs):
        lower = LOWERINGS.get(type(op))
        if lower is None:
            raise CompileError(f"convert-relay-to-te: no lowering for relay op '{op.name}'")
        try:
            args = [env[o] for o in op.operands]
        except KeyError:
            raise CompileError(
                f"convert-relay-to-te: '{op.name}' uses a value defined outside its group"
            ) from None
        out = lower(op, args, stage_name(op))
        if out.type != op.results[0].type:
            raise CompileError(
                f"convert-relay-to-te: '{op.name}' lowered to {out.type}, "
                f"expected {op.results[0].type}"
            )
        env[op.results[0]] = out
    results: list[Tensor] = []
    for v in outputs:
        t = env[v]
        if t in kb.placeholders or t in results:  # te.return names distinct computed stages
            src = t
            t = kb.compute(src.shape, lambda *i, s=src: s[i], "copy", tag="injective")
        results.append(t)
    kb.output(*results)
    kernel = kb.finish()
    knobs = tuning.knobs_for_kernel(kernel) if tuning is not None else None
    if knobs is None:
        apply_default_schedule(kernel, config)
        return kernel
    from xtvm.autotune.dispatch import schedule_kernel
    from xtvm.autotune.space import InvalidConfigError

    try:
        schedule_kernel(kernel, config or DefaultScheduleConfig(), knobs)
    except InvalidConfigError:
        sched = kernel.schedule  # a stale record: drop what it scheduled, use the defaults
        if sched is not None:
            kernel.block.detach_op(sched).erase()
        tuning.stale_config(kernel)
        apply_default_schedule(kernel, config)
    return kernel


def group_key(
    inputs: Sequence[SSAValue], ops: Sequence[Operation], outputs: Sequence[SSAValue]
) -> str:
    """A structural key of a group: equal keys build identical kernels (op names, properties,
    attributes, types and the dataflow between them; not the values of inputs)."""
    index: dict[SSAValue, str] = {v: f"%{k}" for k, v in enumerate(inputs)}
    parts = [",".join(str(v.type) for v in inputs)]
    for n, op in enumerate(ops):
        args = ",".join(index.get(o, "?") for o in op.operands)
        for k, r in enumerate(op.results):
            index[r] = f"%{n}.{k}"
        props = sorted((k, str(v)) for k, v in op.properties.items())
        attrs = sorted((k, str(v)) for k, v in op.attributes.items() if not k.startswith("xtvm."))
        types = ",".join(str(r.type) for r in op.results)
        parts.append(f"{op.name}({args}){props}{attrs}:{types}")
    parts.append("->" + ",".join(index.get(v, "?") for v in outputs))
    return "\n".join(parts)


@dataclass
class _Namer:
    used: set[str]

    def __call__(self, base: str) -> str:
        name, n = base, 0
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name


def _lower_function(
    fn: func.FuncOp,
    module: ModuleOp,
    namer: _Namer,
    cfg: DefaultScheduleConfig | None,
    built: dict[str, str],
    tuning: Any = None,
) -> None:
    """``built``: group key -> kernel name, so a repeated group (an unrolled RNN step, a
    repeated layer) is built once and every copy calls the same kernel."""

    def kernel_for(base: str, inputs, ops, outputs) -> str:
        key = group_key(inputs, ops, outputs)
        name = built.get(key)
        if name is None:
            name = built[key] = namer(base)
            kernel = build_kernel(name, inputs, ops, outputs, cfg, tuning)
            module.body.block.insert_op_before(kernel, fn)
        return name

    _lower_block(fn.body.block, kernel_for)


def _lower_block(block: Block, kernel_for: Callable[..., str]) -> None:
    """Lower the ops of a graph block (the function body or a ``relay.if`` region)."""
    for op in list(block.ops):
        if isinstance(op, relay.IfOp):
            _lower_block(op.then_block, kernel_for)
            _lower_block(op.else_block, kernel_for)
            lower_if(op)
        elif isinstance(op, relay.LoopOp):
            separate_swaps(op)
            _lower_block(op.block, kernel_for)
            lower_loop(op)
        elif isinstance(op, relay.ConstantOp):
            const = arith.ConstantOp(op.value, op.result.type)
            const.result.name_hint = op.result.name_hint
            Rewriter.replace_op(op, const)
        elif isinstance(op, relay.FusedOp):
            block = op.block
            body = list(block.ops)
            term = body[-1]
            assert isinstance(term, relay.YieldOp)
            inputs = list(block.args)
            args = list(op.inputs)
            hoisted = [c for c in body if isinstance(c, relay.ConstantOp)]
            for c in hoisted:  # constants inside a group become extra kernel inputs
                new = arith.ConstantOp(c.value, c.result.type)
                Rewriter.insert_op(new, _before(op))
                inputs.append(c.result)
                args.append(new.result)
            ops = [o for o in body[:-1] if o not in hoisted]
            name = kernel_for(op.kernel_name.data, inputs, ops, term.values)
            Rewriter.replace_op(op, CallOp(name, args, [r.type for r in op.outputs]))
        elif isinstance(op, relay.RelayOp):
            inputs = list(op.operands)
            name = kernel_for(f"fused_{stage_name(op)}", inputs, [op], list(op.results))
            Rewriter.replace_op(op, CallOp(name, inputs, [r.type for r in op.results]))
        elif op.name.startswith("relay.") and not isinstance(op, relay.YieldOp):
            raise CompileError(f"convert-relay-to-te: no lowering for relay op '{op.name}'")


def _before(op: Operation):
    from xdsl.rewriter import InsertPoint

    return InsertPoint.before(op)


@register_pass
@dataclass(frozen=True)
class ConvertRelayToTePass(ModulePass):
    """Lower relay graphs to scheduled tensor-expression kernels (see the module docstring).

    ``vector_bits`` overrides the vector register width the default schedules assume
    (0: the host's); stages with fewer than ``min_parallel_work`` loop iterations stay on one
    thread."""

    name = "convert-relay-to-te"

    vector_bits: int = 0
    vector_registers: int = 0  # 0: derived from vector_bits (x86's 16, or 32 with AVX-512)
    min_parallel_work: int = DefaultScheduleConfig.min_parallel_work
    device: str = "cpu"  # "cuda": GPU schedules (xtvm.topi.cuda)
    # Python-only (not a pipeline-string option): the per-kernel tuning hook of
    # xtvm.autotune.dispatch (tuned configs, or space collection for task extraction)
    tuning: Any = field(default=None, compare=False)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        used = {
            s.data
            for o in op.body.block.ops
            if isinstance(s := o.properties.get("sym_name"), StringAttr)
        }
        namer = _Namer(used)
        cfg = DefaultScheduleConfig(
            vector_bits=self.vector_bits,
            vector_registers=self.vector_registers,
            min_parallel_work=self.min_parallel_work,
            device=self.device,
        )
        if self.device not in ("cpu", "cuda"):
            raise CompileError(f"convert-relay-to-te: unknown device {self.device!r}")
        built: dict[str, str] = {}
        for fn in [o for o in op.body.block.ops if isinstance(o, func.FuncOp)]:
            _lower_function(fn, op, namer, cfg, built, self.tuning)
