"""The anchor pass of a default schedule, shared by the x86 and CUDA rules.

Each kept compute with a registered operator schedule (looked up by tag) gets it, with its
elementwise epilogue when the kernel ends in one; a second anchor in one kernel gets its
own knob names. Returns the computes the operator schedules took care of.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from xtvm.dialects.te import ComputeOp, KernelOp
from xtvm.topi.schedule import Schedule


def schedule_anchors(
    kernel: KernelOp,
    s: Schedule,
    kept: list[ComputeOp],
    cfg: Any,
    lookup: Callable[[ComputeOp], Callable[..., Any] | None],
    keeps: Callable[[ComputeOp], bool],
    epilogue_of: Callable[[KernelOp, ComputeOp, list[ComputeOp]], ComputeOp | None],
) -> set[ComputeOp]:
    """Run ``lookup(c)``'s schedule on every kept anchor ``c``: an output, one with an
    epilogue, or one the registry ``keeps`` on its own."""
    outputs = set(kernel.return_op.values)
    done: set[ComputeOp] = set()
    anchors = 0
    for c in kept:
        fn = lookup(c)
        if fn is None or c in done:
            continue
        epi = None if c.result in outputs else epilogue_of(kernel, c, kept)
        if c.result not in outputs and epi is None and not keeps(c):
            continue  # an anchor feeding a reduction or several outputs: default rules
        acfg = cfg
        if anchors and cfg.knobs is not None:
            acfg = dataclasses.replace(cfg, knobs=cfg.knobs.scoped(f"a{anchors}."))
        anchors += 1
        more = fn(s, s.stage(c), s.stage(epi) if epi is not None else None, acfg)
        done.add(c)
        done.update(st.compute for st in more or () if st.compute is not None)
        if epi is not None:
            done.add(epi)
    return done
