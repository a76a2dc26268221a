"""GPU thread loops in the reference interpreter.

A ``threadIdx`` loop with no barrier inside runs its iterations one after another (the
threads do not communicate within it; barriers between sibling loops are then no-ops). One
with barriers inside (a thread's register tile living across shared-memory phases) runs
every thread of its block as a Python thread with its own interpreter scope: the nested
thread loops of the same block read the thread's index instead of looping, and
``tir.barrier`` waits for all of them, as ``__syncthreads`` does.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading

from xdsl.interpreter import Interpreter
from xdsl.utils.scoped_dict import ScopedDict

from xtvm.dialects import tir
from xtvm.dialects.tir_gpu import THREAD_TAGS, loop_extent
from xtvm.errors import CompileError

BARRIER_TIMEOUT_S = 60.0


@dataclasses.dataclass
class ThreadState:
    index: dict[str, int]
    barrier: threading.Barrier


class GpuThreads:
    """Per interpreter: which simulated GPU thread the current Python thread is."""

    def __init__(self) -> None:
        self._tls = threading.local()

    def current(self) -> ThreadState | None:
        return getattr(self._tls, "state", None)

    def run_for(self, interp: Interpreter, op: tir.ForOp, ub: int) -> bool:
        """Run a thread loop if it needs the GPU semantics; False leaves it to the caller."""
        tag = op.thread_tag
        state = self.current()
        if state is not None and tag in state.index:
            if state.index[tag] < ub:
                interp.run_ssacfg_region(op.body, (state.index[tag],), "tir.for")
            return True
        if tag not in THREAD_TAGS or not any(isinstance(o, tir.BarrierOp) for o in op.walk()):
            return False
        self._run_block(interp, op)
        return True

    def barrier(self) -> None:
        state = self.current()
        if state is not None:
            state.barrier.wait(BARRIER_TIMEOUT_S)

    def _run_block(self, interp: Interpreter, op: tir.ForOp) -> None:
        dims: dict[str, int] = {}
        for o in op.walk():
            if isinstance(o, tir.ForOp) and o.thread_tag in THREAD_TAGS:
                dims[o.thread_tag] = max(dims.get(o.thread_tag, 0), loop_extent(o) or 1)
        tags = sorted(dims)
        points = list(itertools.product(*(range(dims[t]) for t in tags)))
        barrier = threading.Barrier(len(points))
        errors: list[BaseException] = []

        def work(point: tuple[int, ...]) -> None:
            self._tls.state = ThreadState(dict(zip(tags, point)), barrier)
            sub = dataclasses.replace(interp, _ctx=ScopedDict(parent=interp._ctx, name="thread"))
            try:
                self.run_for(sub, op, loop_extent(op) or 1)
            except threading.BrokenBarrierError:
                pass
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=work, args=(p,)) for p in points]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        if barrier.broken:
            raise CompileError("GPU threads of a block did not meet at a barrier")
