"""Applying tuning configs during a build: the object ``convert-relay-to-te`` asks per kernel.

``convert-relay-to-te`` builds each kernel's compute, then asks its ``tuning`` object (if
any) for the knobs to schedule it with: ``knobs_for_kernel(kernel) -> Knobs | None``. Two
implementations live here:

* :class:`ApplyBestConfigs`: the best record per workload (a tuned build);
* :class:`SpaceCollector`: hands every kernel a fresh :class:`ConfigSpace`, which the
  template fills while it schedules (task extraction).

Both are explicit objects handed to the pass, never module state, so two builds in one
process with different records do not see each other's configs.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from xtvm.autotune.space import ConfigEntity, ConfigSpace, Knobs

_KERNEL_NAME = re.compile(r"^(\s*te\.kernel\s+)@[^\s{]+")


def kernel_text(kernel: Any) -> str:
    """The kernel printed with a neutral name (``@kernel``), so the same compute in two
    models (or under two names) prints the same."""
    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf).print_op(kernel)
    return _KERNEL_NAME.sub(r"\1@kernel", buf.getvalue(), count=1)


def workload_key(text: str, device: str = "cpu") -> str:
    """Stable key of an unscheduled kernel's compute (its text with a neutral name): equal
    across processes, runs and models that contain the same kernel. A GPU kernel's key
    also names the device (CPU keys are the text's hash alone, as always), so a cuda
    record never schedules a CPU kernel with the same compute, nor the other way."""
    if device != "cpu":
        text = f"device={device}\n{text}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def kernel_anchors(kernel: Any, device: str = "cpu") -> list[str]:
    """Tags of the kernel's computes that have an operator schedule for ``device`` (the
    x86 registry for "cpu", ``xtvm.topi.cuda``'s for "cuda"): its templates."""
    if device == "cuda":
        import xtvm.topi.cuda.conv2d  # noqa: F401 - registers the anchor schedules
        import xtvm.topi.cuda.dense  # noqa: F401
        from xtvm.topi.cuda.registry import cuda_schedule_for as schedule_for
    else:
        from xtvm.topi.x86.registry import schedule_for

    tags = []
    for c in kernel.computes:
        tag = c.tag.data if c.tag is not None else None
        if tag and schedule_for(tag) is not None:
            tags.append(tag)
    return tags


@dataclass
class ApplyBestConfigs:
    """Schedules each kernel whose workload has a config with that config.

    ``configs``: workload key -> knob values. After the build, ``tuned`` and ``untuned``
    say which tunable kernels had a config (for one summary line, not one per kernel).
    """

    configs: dict[str, dict[str, Any]]
    tuned: set[str] = field(default_factory=set)
    untuned: dict[str, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    device: str = "cpu"  # "cuda": the cuda schedules' templates and keys
    _has_states: bool | None = field(default=None, repr=False, compare=False)

    def knobs_for_kernel(self, kernel: Any) -> Knobs | None:
        if not kernel_anchors(kernel, self.device):
            # a kernel without a template is tuned only by a template-free record
            if not self._template_free() or not template_free_candidate(kernel):
                return None
            values = self.configs.get(workload_key(kernel_text(kernel), self.device))
            if values is None or TEMPLATE_FREE_KEY not in values:
                return None
            self.tuned.add(workload_key(kernel_text(kernel), self.device))
            return ConfigEntity(None, values)
        key = workload_key(kernel_text(kernel), self.device)
        values = self.configs.get(key)
        if values is None:
            self.untuned[key] = kernel.sym_name.data
            return None
        self.tuned.add(key)
        return ConfigEntity(None, values)

    def _template_free(self) -> bool:
        """Whether any config is a template-free state (else kernels without a template
        need not even be printed)."""
        if self._has_states is None:
            self._has_states = any(TEMPLATE_FREE_KEY in v for v in self.configs.values())
        return self._has_states

    def stale_config(self, kernel: Any) -> None:
        """The config did not fit the template (it changed since the record was written):
        the kernel was scheduled with the defaults instead."""
        key = workload_key(kernel_text(kernel), self.device)
        self.tuned.discard(key)
        self.stale.add(key)

    def fingerprint(self) -> str:
        """Identity of the configs, for the build cache key."""
        text = json.dumps(sorted(self.configs.items()), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def summary(self) -> str:
        parts = [f"{len(self.tuned)} tuned kernel(s)"]
        if self.untuned:
            names = sorted(self.untuned.values())
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            parts.append(f"{len(self.untuned)} without a record ({shown})")
        if self.stale:
            parts.append(f"{len(self.stale)} with a record that no longer fits (defaults used)")
        return "tuning records: " + ", ".join(parts)


@dataclass
class CollectedKernel:
    """One kernel seen during task extraction."""

    name: str
    workload: str
    text: str  # unscheduled te.kernel, neutral name
    space: ConfigSpace
    templates: list[str]


def template_free_candidate(kernel: Any) -> bool:
    """Whether a kernel without a template is worth a template-free search: it has a
    reduction (an unpacked dense or matmul, pooling, softmax, norm statistics...).
    Elementwise and copy kernels are memory-bound; the default rules already stream them."""
    return any(c.reduce is not None for c in kernel.computes)


@dataclass
class SpaceCollector:
    """Task extraction's hook: records every tunable kernel and collects its space. With
    ``template_free`` it also records kernels without a template that have a reduction
    (with an empty space: the template-free search needs only the kernel's text)."""

    kernels: dict[str, CollectedKernel] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # kernel name -> workload
    template_free: bool = False
    device: str = "cpu"  # "cuda": the cuda schedules' templates and keys

    def knobs_for_kernel(self, kernel: Any) -> Knobs | None:
        templates = kernel_anchors(kernel, self.device)
        if not templates and not (self.template_free and template_free_candidate(kernel)):
            return None
        text = kernel_text(kernel)
        key = workload_key(text, self.device)
        name = kernel.sym_name.data
        self.names[name] = key
        found = self.kernels.get(key)
        if found is None:
            found = self.kernels[key] = CollectedKernel(name, key, text, ConfigSpace(), templates)
        return found.space

    def stale_config(self, kernel: Any) -> None:  # a fresh space never is
        raise AssertionError("a collected space cannot be stale")


TEMPLATE_FREE_KEY = "ansor"
"""A config whose values hold this key is a template-free schedule (a serialized search
state of :mod:`xtvm.autotune.ansor`), not knob values of an operator template."""


def schedule_kernel(kernel: Any, cfg: Any, knobs: Knobs | None) -> None:
    """Schedule ``kernel`` (unscheduled) with ``knobs``: the defaults when None, a
    template-free state when the config holds one, else the operator templates with
    these knob values. Raises ``InvalidConfigError`` for a config that does not fit."""
    import dataclasses

    from xtvm.topi.x86 import apply_default_schedule

    if knobs is None:
        apply_default_schedule(kernel, cfg)
        return
    if isinstance(knobs, ConfigEntity) and TEMPLATE_FREE_KEY in knobs.values:
        from xtvm.autotune.ansor import apply_state

        apply_state(kernel, knobs.values[TEMPLATE_FREE_KEY], cfg)
        return
    apply_default_schedule(kernel, dataclasses.replace(cfg, knobs=knobs))
