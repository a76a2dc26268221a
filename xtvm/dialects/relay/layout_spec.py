"""Data layout strings in TVM's notation: ``NCHW``, ``NCHW8c``, ``OIHW8i16o``.

An upper-case letter is a *primal* axis; ``{n}x`` (a positive factor and a lower-case
letter) is a sub-axis of primal axis ``X`` of that many elements, so ``NCHW8c`` holds
``[N, C/8, H, W, 8]`` and element ``c`` of the primal tensor sits at ``[.., c // 8, .., c % 8]``.
A layout transform keeps the primal axes and regroups them; it is defined between two
layouts with the same primal letters whose factors divide the primal sizes. The same rules
serve the op verifier, the numpy evaluator and the compute, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"(\d*)([A-Za-z])")


@dataclass(frozen=True)
class Layout:
    """A parsed layout: one ``(letter, factor)`` per axis, factor 0 for a primal axis."""

    text: str
    axes: tuple[tuple[str, int], ...]

    @staticmethod
    def parse(text: str) -> Layout:
        """Raises ``ValueError`` on a malformed layout (one-line message)."""
        pos, axes = 0, []
        for m in _TOKEN.finditer(text):
            if m.start() != pos:
                break
            pos = m.end()
            digits, letter = m.groups()
            if letter.isupper():
                if digits:
                    raise ValueError(f"layout {text!r}: primal axis {letter} takes no factor")
                axes.append((letter, 0))
            else:
                if not digits or int(digits) <= 0:
                    raise ValueError(f"layout {text!r}: sub-axis {letter} needs a positive factor")
                axes.append((letter, int(digits)))
        if pos != len(text) or not axes:
            raise ValueError(f"layout {text!r} is not of the form NCHW / NCHW8c")
        letters = [a for a, _ in axes]
        if len(set(letters)) != len(letters):
            raise ValueError(f"layout {text!r} repeats an axis")
        for a, f in axes:
            if f and a.upper() not in letters:
                raise ValueError(f"layout {text!r}: sub-axis {a} has no primal axis {a.upper()}")
        return Layout(text, tuple(axes))

    @property
    def rank(self) -> int:
        return len(self.axes)

    @property
    def primal(self) -> str:
        """The primal letters in the order they appear."""
        return "".join(a for a, f in self.axes if not f)

    def factor(self, primal: str) -> int:
        """The sub-axis factor of ``primal`` (0 when it is not split)."""
        return next((f for a, f in self.axes if a == primal.lower() and f), 0)

    def index(self, letter: str) -> int:
        return next(k for k, (a, _) in enumerate(self.axes) if a == letter)

    def primal_sizes(self, shape: Sequence[int]) -> dict[str, int]:
        """Primal axis sizes of a tensor of ``shape`` in this layout (checks the sub-axes)."""
        if len(shape) != self.rank:
            raise ValueError(f"layout {self.text} has rank {self.rank}, tensor rank {len(shape)}")
        sizes: dict[str, int] = {}
        for (a, f), n in zip(self.axes, shape):
            if f and n != f:
                raise ValueError(
                    f"layout {self.text}: sub-axis {a} must have {f} elements, got {n}"
                )
        for a in self.primal:
            f = self.factor(a)
            sizes[a] = shape[self.index(a)] * (f or 1)
        return sizes

    def shape_of(self, sizes: dict[str, int]) -> tuple[int, ...]:
        """The shape of a tensor with primal ``sizes`` in this layout (factors must divide)."""
        out = []
        for a, f in self.axes:
            if f:
                out.append(f)
                continue
            g = self.factor(a) or 1
            if sizes[a] % g:
                raise ValueError(f"layout {self.text}: {a}={sizes[a]} is not divisible by {g}")
            out.append(sizes[a] // g)
        return tuple(out)


def transformed_shape(shape: Sequence[int], src: str, dst: str) -> tuple[int, ...]:
    """The shape after ``src -> dst``; ``ValueError`` when the transform is not defined."""
    s, d = Layout.parse(src), Layout.parse(dst)
    if sorted(s.primal) != sorted(d.primal):
        raise ValueError(f"layouts {src} and {dst} have different primal axes")
    return d.shape_of(s.primal_sizes(shape))


def transform_array(x: np.ndarray, src: str, dst: str) -> np.ndarray:
    """numpy ``src -> dst``: merge each split axis back into its primal axis, then split and
    order the axes as ``dst`` says."""
    s, d = Layout.parse(src), Layout.parse(dst)
    out_shape = transformed_shape(x.shape, src, dst)
    sizes = s.primal_sizes(x.shape)
    order = s.primal
    # to primal (axes in src's primal order)
    perm = []
    for a in order:
        perm.append(s.index(a))
        if s.factor(a):
            perm.append(s.index(a.lower()))
    prim = np.transpose(x, perm).reshape([sizes[a] for a in order])
    # split by dst's factors, labelling every axis, then order as dst
    split_shape, labels = [], []
    for a in order:
        f = d.factor(a)
        if f:
            split_shape += [sizes[a] // f, f]
            labels += [a, a.lower()]
        else:
            split_shape.append(sizes[a])
            labels.append(a)
    split = prim.reshape(split_shape)
    out = np.transpose(split, [labels.index(a) for a, _ in d.axes])
    assert out.shape == out_shape
    return np.ascontiguousarray(out)
