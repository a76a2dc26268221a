"""Knobs and configuration spaces of schedule templates (AutoTVM style).

A template (an x86 operator schedule in :mod:`xtvm.topi.x86`) asks its ``knobs`` object for
each tunable choice, beside the schedule code that uses it::

    mb = cfg.knobs.knob("tile_m", candidates=[1, 2, 3, 4, 6], default=4)

One call both declares the knob and returns the value to use. What comes back depends on
the object the schedule was handed:

* :class:`FallbackConfig` (an untuned build): the default, today's hand-picked choice;
* :class:`ConfigSpace` (task extraction): the default, while recording the knob, so that
  running the template once collects its whole space;
* :class:`ConfigEntity` (a tuning candidate, or the best record of a tuned build): the
  entity's value for that knob.

Candidates are JSON scalars (int, float, bool, str) or lists of them, so every config can
be written to and read from a records file without executing anything. The default is
always one of the candidates: the untuned schedule is one point of the space, so tuning
can never end worse than untuned on a measured workload.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from xtvm.errors import XTVMError

KnobValue = Any  # a JSON scalar or a list of JSON scalars


class InvalidConfigError(XTVMError):
    """A config gives a knob a value that is not among its candidates (a stale record)."""


def _canon(value: KnobValue) -> KnobValue:
    """Tuples become lists, so values compare equal to what JSON gives back."""
    if isinstance(value, tuple | list):
        return [_canon(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"knob values must be JSON scalars or lists of them, got {value!r}")


@dataclass(frozen=True)
class Knob:
    """One tunable choice: its name, the candidate values and the default among them."""

    name: str
    candidates: tuple[KnobValue, ...]
    default: KnobValue

    def index_of(self, value: KnobValue) -> int:
        value = _canon(value)
        for i, c in enumerate(self.candidates):
            if c == value:
                return i
        raise InvalidConfigError(
            f"knob {self.name!r}: {value!r} is not one of its {len(self.candidates)} candidates"
        )

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "candidates": list(self.candidates), "default": self.default}


class Knobs(Protocol):
    """What a template sees: one call declares a knob and returns the value to use."""

    def knob(self, name: str, candidates: Sequence[KnobValue], default: KnobValue) -> KnobValue: ...

    def scoped(self, prefix: str) -> Knobs: ...


def _make_knob(name: str, candidates: Sequence[KnobValue], default: KnobValue) -> Knob:
    cands: list[KnobValue] = []
    for c in candidates:
        c = _canon(c)
        if c not in cands:
            cands.append(c)
    default = _canon(default)
    if default not in cands:
        cands.insert(0, default)
    if not name:
        raise ValueError("a knob needs a name")
    return Knob(name, tuple(cands), default)


class _Scoped:
    """A view of ``base`` whose knob names get ``prefix`` (two anchors in one kernel)."""

    def __init__(self, base: Knobs, prefix: str):
        self.base, self.prefix = base, prefix

    def knob(self, name: str, candidates: Sequence[KnobValue], default: KnobValue) -> KnobValue:
        return self.base.knob(self.prefix + name, candidates, default)

    def scoped(self, prefix: str) -> Knobs:
        return _Scoped(self.base, self.prefix + prefix)


class FallbackConfig:
    """The untuned choice: every knob takes its default."""

    def knob(self, name: str, candidates: Sequence[KnobValue], default: KnobValue) -> KnobValue:
        return default

    def scoped(self, prefix: str) -> Knobs:
        return self


FALLBACK = FallbackConfig()


class ConfigSpace:
    """The knobs a template declared (in declaration order) and the product of their
    candidates. Running the template with a fresh space collects it."""

    def __init__(self, knobs: Sequence[Knob] = ()):
        self.knobs: dict[str, Knob] = {}
        for k in knobs:
            self.knobs[k.name] = k

    # -- collecting (the Knobs protocol) ----------------------------------------------------

    def knob(self, name: str, candidates: Sequence[KnobValue], default: KnobValue) -> KnobValue:
        k = _make_knob(name, candidates, default)
        old = self.knobs.get(name)
        if old is not None and old != k:
            raise ValueError(f"knob {name!r} declared twice with different candidates")
        self.knobs[name] = k
        return k.default

    def scoped(self, prefix: str) -> Knobs:
        return _Scoped(self, prefix)

    # -- the space --------------------------------------------------------------------------

    def __len__(self) -> int:
        return math.prod(len(k.candidates) for k in self.knobs.values())

    def __bool__(self) -> bool:
        return bool(self.knobs)

    @property
    def dims(self) -> list[int]:
        return [len(k.candidates) for k in self.knobs.values()]

    def get(self, index: int) -> ConfigEntity:
        """The config at ``index`` (mixed radix over the knobs, the first knob fastest)."""
        if not 0 <= index < len(self):
            raise IndexError(f"config index {index} outside a space of {len(self)}")
        values: dict[str, KnobValue] = {}
        for k in self.knobs.values():
            index, pos = divmod(index, len(k.candidates))
            values[k.name] = k.candidates[pos]
        return ConfigEntity(self, values)

    def index_of(self, values: dict[str, KnobValue]) -> int:
        """Inverse of :meth:`get`; missing knobs take their default, unknown names are an
        error (``InvalidConfigError``), as are values outside the candidates."""
        unknown = set(values) - set(self.knobs)
        if unknown:
            raise InvalidConfigError(f"config names unknown knob(s) {sorted(unknown)}")
        index, scale = 0, 1
        for k in self.knobs.values():
            pos = k.index_of(values.get(k.name, k.default))
            index += pos * scale
            scale *= len(k.candidates)
        return index

    def default_index(self) -> int:
        return self.index_of({})

    def from_values(self, values: dict[str, KnobValue]) -> ConfigEntity:
        return self.get(self.index_of(values))

    def random_index(self, rng: random.Random) -> int:
        return rng.randrange(len(self))

    def __iter__(self) -> Iterator[ConfigEntity]:
        for i in range(len(self)):
            yield self.get(i)

    def positions(self, index: int) -> list[int]:
        """Candidate position of each knob in the config at ``index``."""
        out = []
        for n in self.dims:
            index, pos = divmod(index, n)
            out.append(pos)
        return out

    def index_from_positions(self, positions: Sequence[int]) -> int:
        index, scale = 0, 1
        for pos, n in zip(positions, self.dims):
            index += pos * scale
            scale *= n
        return index

    def to_json(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self.knobs.values()]

    @classmethod
    def from_json(cls, data: Sequence[dict[str, Any]]) -> ConfigSpace:
        return cls([_make_knob(d["name"], d["candidates"], d["default"]) for d in data])

    def __repr__(self) -> str:
        parts = ", ".join(f"{k.name}:{len(k.candidates)}" for k in self.knobs.values())
        return f"ConfigSpace({parts}; {len(self)} configs)"


class ConfigEntity:
    """One point of a space (or a record's config): the value of every knob.

    Asked for a knob it does not name (a template that gained a knob since the record was
    written), it gives the default; a value outside the knob's candidates raises
    :class:`InvalidConfigError`.
    """

    def __init__(self, space: ConfigSpace | None, values: dict[str, KnobValue]):
        self.space = space
        self.values = {k: _canon(v) for k, v in values.items()}

    def knob(self, name: str, candidates: Sequence[KnobValue], default: KnobValue) -> KnobValue:
        if name not in self.values:
            return _canon(default)
        k = _make_knob(name, candidates, default)
        value = self.values[name]
        k.index_of(value)  # raises if stale
        return value

    def scoped(self, prefix: str) -> Knobs:
        return _Scoped(self, prefix)

    @property
    def index(self) -> int | None:
        return self.space.index_of(self.values) if self.space is not None else None

    def to_json(self) -> dict[str, KnobValue]:
        return dict(self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigEntity) and self.values == other.values

    def __hash__(self) -> int:
        return hash(repr(sorted(self.values.items())))

    def __repr__(self) -> str:
        return f"ConfigEntity({self.values})"


# -- candidate helpers for templates -------------------------------------------------------


def divisors(n: int, limit: int | None = None) -> list[int]:
    """Divisors of ``n`` (up to ``limit``), ascending."""
    top = n if limit is None else min(n, limit)
    return [d for d in range(1, top + 1) if n % d == 0]


def split_candidates(extent: int, limit: int | None = None, ragged: bool = False) -> list[int]:
    """Inner factors for splitting an axis of ``extent``: its divisors, plus powers of two
    (ragged tiles: the lowering guards or clamps the last one) when ``ragged``."""
    top = extent if limit is None else min(extent, limit)
    cands = set(divisors(extent, top))
    if ragged:
        p = 1
        while p <= top:
            cands.add(p)
            p *= 2
    return sorted(cands)


def product(*spaces: Sequence[KnobValue]) -> list[list[KnobValue]]:
    """All combinations, as lists (a knob whose candidates are tuples of choices)."""
    return [list(c) for c in itertools.product(*spaces)]
