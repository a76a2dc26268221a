"""Task extraction: the distinct tunable kernels of a model, how often each runs, and its
share of the model's untuned time.

A task is one fused kernel whose compute has an operator schedule with knobs (a dense, a
batched matmul, a blocked convolution...), identified by its workload key: a hash of the
unscheduled kernel (computes, shapes, dtypes, layouts). The same kernel in another model,
or twice in one model, is the same task. A task carries the kernel's text, so a worker
process (or another machine) can build candidates from it alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from xtvm.autotune.space import ConfigSpace


@dataclass
class Task:
    """One tunable kernel of a model."""

    workload: str
    name: str  # the kernel's name in the model (for tables)
    templates: list[str]
    text: str  # the unscheduled te.kernel (neutral name), see dispatch.kernel_text
    space: ConfigSpace
    weight: int = 1  # calls per model run
    flops: float = 0.0  # floating-point operations per call (2 per multiply-add)
    description: str = ""
    untuned_seconds: float | None = None  # per call, from a profiled untuned run
    share: float | None = None  # of the model's untuned kernel time
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "name": self.name,
            "templates": list(self.templates),
            "text": self.text,
            "space": self.space.to_json(),
            "weight": self.weight,
            "flops": self.flops,
            "description": self.description,
            "untuned_seconds": self.untuned_seconds,
            "share": self.share,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        return cls(
            workload=str(data["workload"]),
            name=str(data["name"]),
            templates=[str(t) for t in data["templates"]],
            text=str(data["text"]),
            space=ConfigSpace.from_json(data["space"]),
            weight=int(data["weight"]),
            flops=float(data["flops"]),
            description=str(data["description"]),
            untuned_seconds=data.get("untuned_seconds"),
            share=data.get("share"),
        )

    def __repr__(self) -> str:
        return f"Task({self.name}: {self.description}, x{self.weight}, {len(self.space)} configs)"


def split_at_te(opt_level: int = 3) -> tuple[str, str]:
    """The pipeline of ``O<opt_level>`` cut after ``convert-relay-to-te``: the part that
    builds the kernels (task extraction), and the part that lowers them (candidate builds)."""
    from xtvm.passes.registry import pipeline_for_opt_level

    names = pipeline_for_opt_level(opt_level).split(",")
    cut = next(i for i, p in enumerate(names) if p.startswith("convert-relay-to-te"))
    return ",".join(names[: cut + 1]), ",".join(names[cut + 1 :])


def kernel_flops(kernel: Any) -> float:
    """Operations per call: 2 per multiply-add of each reduction, 1 per other output."""
    total = 0.0
    for c in kernel.computes:
        n = math.prod(c.shape)
        red = c.reduce
        total += 2.0 * n * math.prod(red.axis_extents) if red is not None else 0.0
    return total


def describe_kernel(kernel: Any, templates: list[str]) -> str:
    """``dense_pack [32,1024]x[1024,8210] f32 -> [32,8210]``-like one-liner."""
    ins = [op.result.type for op in kernel.block.ops if op.name == "te.placeholder"]
    outs = [v.type for v in kernel.return_op.values]

    def shape(t: Any) -> str:
        return "[" + ",".join(str(d) for d in t.get_shape()) + "]"

    elt = str(outs[0].element_type) if outs else ""
    tmpl = "+".join(dict.fromkeys(templates)) or next(
        (c.tag.data for c in kernel.computes if c.reduce is not None and c.tag is not None),
        "kernel",
    )
    return f"{tmpl} {'x'.join(shape(t) for t in ins)} {elt} -> {','.join(shape(t) for t in outs)}"


def extract_tasks(
    mod: Any,
    target: Any = "llvm",
    opt_level: int = 3,
    profile: bool = True,
    num_threads: int | None = None,
    profile_runs: int = 5,
    template_free: bool = False,
) -> list[Task]:
    """The tunable kernels of relay module ``mod`` for ``target``, most costly first.

    With ``template_free`` (the template-free search) every kernel with a reduction is a
    task too, with an empty template space (see ``dispatch.template_free_candidate``).

    With ``profile`` the model is built untuned with per-kernel timers and run on random
    inputs, which gives each task's untuned time per call and share of the model (CPU
    targets only: a cuda target's tasks come from the cuda pipeline, unprofiled, see
    ``cuda_tasks``).
    """
    from xtvm.autotune.dispatch import SpaceCollector
    from xtvm.backends.llvm import Target
    from xtvm.dialects.te import CallOp, KernelOp
    from xtvm.driver.compile import _with_option, run_pipeline, specialize_for_target
    from xtvm.passes.registry import parse_pipeline

    tgt = target if isinstance(target, Target) else Target.from_string(str(target))
    if tgt.device == "cuda":
        from xtvm.autotune.cuda_tasks import extraction_passes
        from xtvm.errors import CompileError

        if template_free:
            raise CompileError("the template-free search is CPU-only; tune cuda with templates")
        collector = SpaceCollector(device="cuda")
        passes = extraction_passes(tgt, opt_level, collector)
        profile = False  # per-kernel timers are CPU-only: tasks keep their flops order
    else:
        collector = SpaceCollector(template_free=template_free)
        passes = specialize_for_target(parse_pipeline(split_at_te(opt_level)[0]), tgt)
        passes = _with_option(passes, "tuning", collector)
    module = mod.clone()
    run_pipeline(module, passes, keep_ir=False)
    calls: dict[str, int] = {}
    kernels: dict[str, Any] = {}
    for op in module.walk():
        if isinstance(op, CallOp):
            calls[op.callee.root_reference.data] = calls.get(op.callee.root_reference.data, 0) + 1
        elif isinstance(op, KernelOp):
            kernels[op.sym_name.data] = op
    tasks: dict[str, Task] = {}
    for name, key in collector.names.items():
        found = collector.kernels[key]
        if key not in tasks:
            kernel = kernels[name]
            tasks[key] = Task(
                workload=key,
                name=found.name,
                templates=found.templates,
                text=found.text,
                space=found.space,
                weight=0,
                flops=kernel_flops(kernel),
                description=describe_kernel(kernel, found.templates),
            )
        tasks[key].weight += calls.get(name, 0)
    result = [t for t in tasks.values() if t.weight > 0]
    if profile and result:
        _profile_untuned(mod, tgt, opt_level, num_threads, result, collector, profile_runs)
    result.sort(key=lambda t: (-(t.share or 0.0), -t.flops * t.weight, t.name))
    return result


def _profile_untuned(
    mod: Any,
    target: Any,
    opt_level: int,
    num_threads: int | None,
    tasks: list[Task],
    collector: Any,
    runs: int,
) -> None:
    """Fill ``untuned_seconds`` and ``share`` from a profiled untuned build."""
    from xtvm.autotune.measure import random_inputs
    from xtvm.driver import build

    lib = build(mod, target=target, opt_level=opt_level, num_threads=num_threads, profile=True)
    report = lib.profile(random_inputs(lib.input_info, 0), repeat=runs, warmup=1)
    by_key = {t.workload: t for t in tasks}
    spent: dict[str, float] = {}
    for row in report.kernel_rows:
        key = collector.names.get(row.name)
        if key in by_key and row.calls:
            spent[key] = spent.get(key, 0.0) + row.total_ms / 1e3
            by_key[key].untuned_seconds = row.mean_us / 1e6
    total = report.total_ms / 1e3 if report.total_ms else 0.0
    for key, t in by_key.items():
        t.share = spent.get(key, 0.0) / total if total else None
    tasks_total = sum(spent.values())
    for t in tasks:
        t.extra["model_seconds_per_run"] = total / max(report.runs, 1)
        t.extra["tasks_share"] = tasks_total / total if total else None


def tasks_to_json(tasks: list[Task]) -> str:
    return json.dumps([t.to_json() for t in tasks])
