"""From a records file to the dispatch object a build applies (``build(tuning_records=)``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

from xtvm.autotune.dispatch import ApplyBestConfigs
from xtvm.errors import CompileError, TuningWarning


def xtvm_version() -> str:
    import xtvm

    return str(xtvm.__version__)


def dispatch_from_records(tuning_records: Any, target: Any) -> ApplyBestConfigs:
    """The best compatible record per workload of ``tuning_records`` (a path to a JSON-lines
    file, or records), for ``target``. Records for another target or an incompatible
    xtvm version are skipped with one summary warning."""
    from xtvm.autotune.records import MeasureRecord, best_records, load_records, target_dict

    if isinstance(tuning_records, str | os.PathLike):
        records = load_records(tuning_records)
    elif isinstance(tuning_records, Iterable):
        records = list(tuning_records)
        if not all(isinstance(r, MeasureRecord) for r in records):
            raise CompileError("tuning_records must be a records file path or MeasureRecords")
    else:
        raise CompileError(
            f"tuning_records must be a records file path, got {type(tuning_records).__name__}"
        )
    best = best_records(records, target_dict(target), xtvm_version())
    if best.skipped_target or best.skipped_version:
        warnings.warn(best.summary(), TuningWarning, stacklevel=3)
    device = getattr(target, "device", "cpu")
    return ApplyBestConfigs({w: dict(r.config) for w, r in best.best.items()}, device=device)
