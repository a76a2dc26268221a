"""Model benchmarks: the model families of ``xtvm.testing.model_zoo`` at realistic sizes."""

from __future__ import annotations

from collections.abc import Iterator


def model_cases(quick: bool = False) -> Iterator[tuple[str, tuple]]:
    try:
        from xtvm.testing import model_zoo
    except ImportError:  # the zoo is optional for kernel-only runs
        return
    size = "tiny" if quick else "real"
    yield from model_zoo.benchmark_cases(size)
