"""Tuning curves: best latency against trials, one line per task (``xtvm tune --plot``).

Uses matplotlib's Agg canvas directly instead of ``pyplot``, so plotting from a script or a
notebook neither needs a display nor switches the caller's backend.
"""

from __future__ import annotations

import os
from typing import Any

from xtvm.errors import XTVMError

MATPLOTLIB_HINT = "pip install 'xtvm[tune]'"
LOG_SPREAD = 20.0  # a log y axis once the slowest curve point is this many times the fastest


def have_matplotlib() -> bool:
    """Whether plotting can work (checked before a long tuning run, not after it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


MAX_LINES = 8


def plot_history(result: Any, path: str | os.PathLike[str]) -> str:
    """Draw each task's best latency (us) against its trials from ``result`` (a
    :class:`xtvm.autotune.tune.TuneResult`) into the image ``path``; returns the path.

    Trial 0 is the default schedule, so a flat line means tuning found nothing better.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise XTVMError(f"plotting needs matplotlib: {MATPLOTLIB_HINT}") from None

    fig = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values: list[float] = []
    # the tasks that take most of the model's time; a legend of 30 tasks hides the plot
    ranked = sorted(
        result.tasks,
        key=lambda p: -p.task.weight * (p.untuned if p.untuned != float("inf") else 0.0),
    )
    shown = ranked[:MAX_LINES]
    for p in shown:
        points = [(t, c * 1e6) for t, c in p.history if c != float("inf")]
        if not points:
            continue  # the default schedule failed: nothing was measured
        xs, ys = zip(*points)
        values.extend(ys)
        label = f"{p.task.name} ({p.speedup:.2f}x)"
        ax.plot(xs, ys, marker="." if len(xs) < 40 else None, drawstyle="steps-post", label=label)
    if values and max(values) > LOG_SPREAD * min(values):
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trials")
    ax.set_ylabel("best latency per call (us)")
    title = f"xtvm tune: {result.trials} trials in {result.seconds:.0f} s"
    if len(ranked) > len(shown):
        title += f"; the {len(shown)} costliest of {len(ranked)} tasks"
    ax.set_title(title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    if values:
        ax.legend(fontsize="small")
    fig.tight_layout()
    out = os.fspath(path)
    try:
        fig.savefig(out)
    except OSError as exc:
        raise XTVMError(f"cannot write '{out}': {exc.strerror or exc}") from None
    except ValueError as exc:  # an extension matplotlib has no format for
        raise XTVMError(f"cannot write '{out}': {exc}") from None
    return out
