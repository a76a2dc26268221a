"""Tuning records: one JSON object per line, one line per measured candidate.

A tuner appends records as it measures (so an interrupted run loses nothing and
``--resume`` reads them back); a build applies the best compatible record per workload.

Loading is strict and safe: lines are parsed with :func:`json.loads` only (nothing in a
records file can execute code), every field is checked for its type and range, and the
first malformed line is a :class:`~xtvm.errors.RecordsError` naming the file and line
(``r.json line 7: costs[1] is negative``). Empty lines are skipped. Keys a record does not
know are ignored, so that a newer xtvm of the same major.minor version may add fields
without making older readers fail.

Compatibility (:func:`best_records`): a record applies to a target with the same triple,
CPU and feature set (features compared as sets, so their order does not matter), written
by an xtvm of the same major.minor version (``0.1.0`` and ``0.1.5`` share records,
``0.2.0`` does not: schedule templates and their knobs may change between minor
versions, and a record's config is only meaningful for the template that produced it).
Versions that do not start with ``major.minor`` match only themselves.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtvm.errors import RecordsError

MAX_LINE_BYTES = 1 << 20  # a longer line is malformed (a records line is a few hundred bytes)

_TARGET_KEYS = ("triple", "cpu", "features")


def _reject_constant(name: str) -> float:
    """``json.loads`` hook: NaN and Infinity are not JSON, and never a valid cost."""
    raise ValueError(f"{name} is not a valid JSON number")


class _Invalid(Exception):
    """A field check failed; becomes a RecordsError with the file and line."""


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_knob_value(value: Any, where: str) -> None:
    """Knob values are JSON scalars or (nested) lists of them, like the space's candidates."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid(f"{where} is not a finite number")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_knob_value(v, f"{where}[{i}]")
        return
    raise _Invalid(f"{where} must be a JSON scalar or a list of them, got {type(value).__name__}")


def _check_json_value(value: Any, where: str) -> None:
    """``extra`` holds any JSON, but no out-of-range floats (``1e999`` parses as inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _Invalid(f"{where} is not a finite number")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_json_value(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_json_value(v, f"{where}.{k}")


def _field(obj: dict[str, Any], name: str, types: type | tuple[type, ...], what: str) -> Any:
    if name not in obj:
        raise _Invalid(f"missing field {name!r}")
    value = obj[name]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise _Invalid(f"field {name!r} must be {what}, got {_json_type(value)}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "an object"
    )


@dataclass
class MeasureRecord:
    """One measured candidate: which kernel, on which machine, with which config, how fast."""

    workload: str  # workload key (hex string)
    task: str  # human-readable, e.g. "dense_pack [1,1024]x[1024,1024] f32"
    target: dict[str, str]  # {"triple": ..., "cpu": ..., "features": ...}
    config: dict[str, Any]  # knob name -> JSON value (ConfigEntity.to_json())
    costs: list[float]  # seconds per run, one per repeat; [] on error
    error: str | None  # None: success; else one line ("build: ...", "timeout", ...)
    timestamp: float
    version: str  # the xtvm version that wrote it
    seed: int | None = None
    tuner: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"flops": ..., "trial": n}

    @property
    def cost(self) -> float:
        """Median of the repeats (one interrupted repeat does not move it); inf on error."""
        if self.error is not None or not self.costs:
            return math.inf
        return float(statistics.median(self.costs))

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.costs)

    def to_json(self) -> str:
        """One line, keys in a fixed order; refuses non-finite numbers (not JSON)."""
        obj = {
            "workload": self.workload,
            "task": self.task,
            "target": {k: self.target[k] for k in _TARGET_KEYS if k in self.target},
            "config": self.config,
            "costs": [float(c) for c in self.costs],
            "error": self.error,
            "timestamp": self.timestamp,
            "version": self.version,
            "seed": self.seed,
            "tuner": self.tuner,
            "extra": self.extra,
        }
        return json.dumps(obj, allow_nan=False, separators=(", ", ": "))

    @classmethod
    def from_json(cls, line: str, lineno: int, path: str | os.PathLike[str]) -> MeasureRecord:
        """Parse and validate one line; any problem is a RecordsError naming ``path`` and
        ``lineno``."""
        try:
            return cls._parse(line)
        except _Invalid as exc:
            raise RecordsError(f"{os.fspath(path)} line {lineno}: {exc}") from None

    @classmethod
    def _parse(cls, line: str) -> MeasureRecord:
        if len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
            raise _Invalid(f"line longer than {MAX_LINE_BYTES} bytes")
        try:
            obj = json.loads(line, parse_constant=_reject_constant)
        except RecursionError:
            raise _Invalid("bad JSON: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, NaN/Infinity, over-long integers
            raise _Invalid(f"bad JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise _Invalid(f"a record must be a JSON object, got {_json_type(obj)}")

        workload = _field(obj, "workload", str, "a string")
        if not workload:
            raise _Invalid("field 'workload' is empty")
        task = _field(obj, "task", str, "a string")

        target = _field(obj, "target", dict, "an object")
        for k in _TARGET_KEYS:
            if not isinstance(target.get(k), str):
                raise _Invalid(f"target.{k} must be a string, got {_json_type(target.get(k))}")

        config = _field(obj, "config", dict, "an object")
        for name, value in config.items():
            _check_knob_value(value, f"config[{name!r}]")

        costs = _field(obj, "costs", list, "a list")
        for i, c in enumerate(costs):
            if not _is_number(c):
                raise _Invalid(f"costs[{i}] must be a number, got {_json_type(c)}")
            if not math.isfinite(c):
                raise _Invalid(f"costs[{i}] is not a finite number")
            if c < 0:
                raise _Invalid(f"costs[{i}] is negative ({c})")

        if "error" not in obj:
            raise _Invalid("missing field 'error'")
        error = obj["error"]
        if error is not None and not isinstance(error, str):
            raise _Invalid(f"field 'error' must be a string or null, got {_json_type(error)}")
        if error == "":
            raise _Invalid("field 'error' is empty (null means success)")
        if error is None and not costs:
            raise _Invalid("a successful record needs at least one cost")

        timestamp = _field(obj, "timestamp", (int, float), "a number")
        if not math.isfinite(timestamp):
            raise _Invalid("field 'timestamp' is not a finite number")
        version = _field(obj, "version", str, "a string")

        seed = obj.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise _Invalid(f"field 'seed' must be an integer or null, got {_json_type(seed)}")
        tuner = obj.get("tuner", "")
        if not isinstance(tuner, str):
            raise _Invalid(f"field 'tuner' must be a string, got {_json_type(tuner)}")
        extra = obj.get("extra", {})
        if not isinstance(extra, dict):
            raise _Invalid(f"field 'extra' must be an object, got {_json_type(extra)}")
        _check_json_value(extra, "extra")

        return cls(
            workload=workload,
            task=task,
            target={k: target[k] for k in _TARGET_KEYS},
            config=config,
            costs=[float(c) for c in costs],
            error=error,
            timestamp=float(timestamp),
            version=version,
            seed=seed,
            tuner=tuner,
            extra=extra,
        )


def append_records(path: str | os.PathLike[str], records: Iterable[MeasureRecord]) -> None:
    """Append one line per record and flush it to disk: a tuner calls this after every
    batch, so a crash or Ctrl-C keeps every measurement made so far.

    A last line without its newline is a record torn by a killed writer: it is cut off
    before appending (so the file stays loadable), unless it is a valid record (a file
    edited by hand), which then just gets its newline.
    """
    lines = [r.to_json() + "\n" for r in records]
    if not lines:
        return
    p = Path(path)
    with open(p, "a+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            start = max(0, size - MAX_LINE_BYTES - 2)
            f.seek(start)
            tail = f.read()
            cut = tail.rfind(b"\n")
            if cut == -1 and start > 0:  # a last line over the limit: malformed anyway
                lines.insert(0, "\n")
            elif cut != len(tail) - 1:  # a partial last line
                partial = tail[cut + 1 :]
                try:
                    MeasureRecord._parse(partial.decode("utf-8"))
                    lines.insert(0, "\n")
                except (_Invalid, UnicodeDecodeError):
                    f.truncate(start + cut + 1)
        f.seek(0, os.SEEK_END)
        f.write("".join(lines).encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def load_records(
    path: str | os.PathLike[str], *, drop_torn_tail: bool = False
) -> list[MeasureRecord]:
    """Every record of a JSON-lines file, validated (see the module docstring).

    ``drop_torn_tail``: for ``--resume``, a last line without its newline that does not
    parse (the writer was killed mid-line) is dropped instead of being an error.
    """
    p = Path(path)
    name = os.fspath(path)
    try:
        f = open(p, "rb")
    except FileNotFoundError:
        raise RecordsError(f"tuning records file {name} does not exist") from None
    except OSError as exc:
        raise RecordsError(f"cannot read tuning records file {name}: {exc.strerror}") from None
    records: list[MeasureRecord] = []
    with f:
        lineno = 0
        while True:
            raw = f.readline(MAX_LINE_BYTES + 2)
            if not raw:
                break
            lineno += 1
            complete = raw.endswith(b"\n")
            if not complete and len(raw) > MAX_LINE_BYTES:
                raise RecordsError(f"{name} line {lineno}: line longer than {MAX_LINE_BYTES} bytes")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RecordsError(f"{name} line {lineno}: not UTF-8 ({exc.reason})") from None
            if not line.strip():
                continue
            try:
                records.append(MeasureRecord.from_json(line, lineno, name))
            except RecordsError:
                if drop_torn_tail and not complete:
                    break
                raise
    return records


def target_dict(target: Any) -> dict[str, str]:
    """The record's view of a target: ``{"triple", "cpu", "features"}`` from an
    :class:`xtvm.backends.llvm.Target` (or anything with those attributes, or such a dict)."""
    if isinstance(target, dict):
        return {k: str(target.get(k, "")) for k in _TARGET_KEYS}
    return {k: str(getattr(target, k)) for k in _TARGET_KEYS}


def _feature_set(features: str) -> frozenset[str]:
    return frozenset(f.strip() for f in features.split(",") if f.strip())


def target_compatible(a: dict[str, str], b: dict[str, str]) -> bool:
    """Same triple, CPU and feature set (the order of the features does not matter)."""
    return (
        a.get("triple") == b.get("triple")
        and a.get("cpu") == b.get("cpu")
        and _feature_set(a.get("features", "")) == _feature_set(b.get("features", ""))
    )


_VERSION = re.compile(r"(\d+)\.(\d+)(?!\d)")


def version_compatible(written: str, running: str) -> bool:
    """Same major.minor; a version without one (``0+unknown``) matches only itself."""
    a, b = _VERSION.match(written), _VERSION.match(running)
    if a is None or b is None:
        return written == running
    return (int(a[1]), int(a[2])) == (int(b[1]), int(b[2]))


@dataclass
class BestRecords:
    """The record a build applies per workload, and what was left out (for one summary)."""

    best: dict[str, MeasureRecord]  # workload -> the successful record with the lowest cost
    skipped_target: int
    skipped_version: int
    errors: int  # compatible records of failed measurements
    total: int
    other_versions: list[str] = field(default_factory=list)  # the versions skipped

    @property
    def used(self) -> int:
        return self.total - self.skipped_target - self.skipped_version - self.errors

    def summary(self) -> str:
        """One line: ``tuning records: 120 used for 8 workloads; 30 skipped (another
        target), 4 skipped (xtvm 0.0.9)``."""
        n = len(self.best)
        text = f"tuning records: {self.used} used for {n} workload{'s' if n != 1 else ''}"
        parts = []
        if self.skipped_target:
            parts.append(f"{self.skipped_target} skipped (another target)")
        if self.skipped_version:
            parts.append(f"{self.skipped_version} skipped (xtvm {', '.join(self.other_versions)})")
        if self.errors:
            parts.append(f"{self.errors} failed measurement{'s' if self.errors != 1 else ''}")
        return text + ("; " + ", ".join(parts) if parts else "")


VERIFY_TUNER = "verify"
"""The ``tuner`` of records written by the tuning loop's verification round."""


def best_records(
    records: Iterable[MeasureRecord], target: dict[str, str], version: str
) -> BestRecords:
    """The lowest-cost successful record per workload among those compatible with
    ``target`` and ``version`` (rules in the module docstring). Ties keep the earlier record.

    Where a workload has records of a verification round (``tuner == "verify"``: the
    finalists re-measured side by side), only those compete: the minimum over many noisy
    single measurements favours a lucky one, the verification round does not."""
    best: dict[str, MeasureRecord] = {}
    total = skipped_target = skipped_version = errors = 0
    others: set[str] = set()
    for r in records:
        total += 1
        if not target_compatible(r.target, target):
            skipped_target += 1
        elif not version_compatible(r.version, version):
            skipped_version += 1
            others.add(r.version)
        elif not r.ok:
            errors += 1
        else:
            old = best.get(r.workload)
            verified, old_verified = (
                r.tuner == VERIFY_TUNER,
                (old is not None and old.tuner == VERIFY_TUNER),
            )
            if old is None or (verified, -r.cost) > (old_verified, -old.cost):
                best[r.workload] = r
    return BestRecords(best, skipped_target, skipped_version, errors, total, sorted(others))
