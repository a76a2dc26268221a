"""Per-kernel timings of a module built with ``profile=True`` (``Module.profile``).

Such a module exports two ``int64`` arrays of ``n + 1`` slots, ``xtvm_prof_ns`` and
``xtvm_prof_calls``: slot ``k < n`` accumulates the kernel named ``metadata["profile"][k]``
(nanoseconds spent in its calls, number of calls), slot ``n`` the whole ``xtvm_main``
(nanoseconds, runs). The module adds to them on every call; this file resets and reads
them through their addresses (ctypes only, like the rest of the runtime).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field

NS_SYMBOL = "xtvm_prof_ns"
CALLS_SYMBOL = "xtvm_prof_calls"
OTHER_ROW = "(outside kernels)"


class ProfileCounters:
    """The module's two counter arrays, viewed in place."""

    def __init__(self, kernels: Sequence[str], ns_address: int, calls_address: int):
        self.kernels = [str(k) for k in kernels]
        array = ctypes.c_int64 * (len(self.kernels) + 1)
        self._ns = array.from_address(ns_address)
        self._calls = array.from_address(calls_address)

    def reset(self) -> None:
        """Zero every slot (the module only ever adds)."""
        ctypes.memset(self._ns, 0, ctypes.sizeof(self._ns))
        ctypes.memset(self._calls, 0, ctypes.sizeof(self._calls))

    def read(self) -> tuple[list[int], list[int]]:
        """(nanoseconds, calls) per slot, the last slot being the whole entry function."""
        return list(self._ns), list(self._calls)


@dataclass(frozen=True)
class ProfileRow:
    """One kernel's share of the profiled runs."""

    name: str
    calls: int
    total_ms: float
    mean_us: float
    percent: float


@dataclass
class ProfileReport:
    """What ``Module.profile`` measured: rows sorted by cost, and the run totals.

    ``total_ms`` is the time inside ``xtvm_main`` summed over ``runs`` runs (kernels plus
    the entry function's own glue and the clock reads, shown as the ``(outside kernels)``
    row); ``wall_ms`` is the same runs timed from Python, call overhead included.
    """

    rows: list[ProfileRow] = field(default_factory=list)
    runs: int = 0
    total_ms: float = 0.0
    wall_ms: float = 0.0

    @property
    def kernel_rows(self) -> list[ProfileRow]:
        """The rows of real kernels (without the ``(outside kernels)`` row)."""
        return [r for r in self.rows if r.name != OTHER_ROW]

    @property
    def per_run_ms(self) -> float:
        return self.total_ms / self.runs if self.runs else 0.0

    def table(self) -> str:
        """A fixed-width table: kernel, calls, total ms, mean us, % of run; then the total."""
        width = max([len(r.name) for r in self.rows] + [len("kernel")])
        head = f"{'kernel':<{width}}  {'calls':>7}  {'total ms':>10}  {'mean us':>10}  {'% run':>6}"
        lines = [
            f"Profile over {self.runs} runs: {self.per_run_ms:.3f} ms per run inside the "
            f"module, {self.wall_ms / max(self.runs, 1):.3f} ms measured from Python",
            head,
            "-" * len(head),
        ]
        for r in self.rows:
            lines.append(
                f"{r.name:<{width}}  {r.calls:>7}  {r.total_ms:>10.3f}  {r.mean_us:>10.2f}  "
                f"{r.percent:>6.1f}"
            )
        lines.append("-" * len(head))
        lines.append(
            f"{'total':<{width}}  {self.runs:>7}  {self.total_ms:>10.3f}  "
            f"{self.per_run_ms * 1000:>10.2f}  {100.0:>6.1f}"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def make_report(
    kernels: Sequence[str], ns: Sequence[int], calls: Sequence[int], wall_s: float
) -> ProfileReport:
    """Turn raw counter values into a report sorted by total time (most costly first)."""
    n = len(kernels)
    total_ns, runs = int(ns[n]), int(calls[n])
    denom = total_ns if total_ns > 0 else 1

    def row(name: str, slot_ns: int, slot_calls: int) -> ProfileRow:
        mean_us = slot_ns / slot_calls / 1e3 if slot_calls else 0.0
        return ProfileRow(name, slot_calls, slot_ns / 1e6, mean_us, 100.0 * slot_ns / denom)

    rows = [row(name, int(ns[k]), int(calls[k])) for k, name in enumerate(kernels)]
    rows.sort(key=lambda r: (-r.total_ms, r.name))
    other_ns = max(0, total_ns - sum(int(ns[k]) for k in range(n)))
    rows.append(row(OTHER_ROW, other_ns, runs))
    return ProfileReport(rows, runs, total_ns / 1e6, wall_s * 1e3)
