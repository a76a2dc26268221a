"""Parse ``--input-shapes "x:[1,3,224,224] y:[1,8]"`` (tvmc's syntax) into a shape dict.

Entries are separated by spaces or commas; a name may itself contain ``:`` (``input:0``),
since the shape is whatever follows the last ``:`` before ``[``. ``x:[]`` is a scalar.
"""

from __future__ import annotations

import re

from xtvm.errors import InputError

_ENTRY = re.compile(r"[\s,]*(?P<name>[^\s\[\],]+?)\s*:\s*\[(?P<dims>[^\[\]]*)\]")
_EXAMPLE = 'expected e.g. "x:[1,3,224,224] y:[1,8]"'


def parse_input_shapes(text: str) -> dict[str, tuple[int, ...]]:
    """``"x:[1,3] y:[2]"`` -> ``{"x": (1, 3), "y": (2,)}``; a bad spec raises InputError."""
    shapes: dict[str, tuple[int, ...]] = {}
    pos, end = 0, len(text.rstrip(" \t\n,"))
    if not text.strip():
        raise InputError(f"bad --input-shapes {text!r}: it is empty; {_EXAMPLE}")
    while pos < end:
        m = _ENTRY.match(text, pos)
        if m is None:
            rest = text[pos:end].strip(" ,")
            raise InputError(f"bad --input-shapes {text!r}: cannot parse {rest!r}; {_EXAMPLE}")
        name, dims_text = m.group("name"), m.group("dims").strip()
        dims: list[int] = []
        for word in dims_text.split(",") if dims_text else []:
            word = word.strip()
            if not re.fullmatch(r"\d+", word):  # 0 is fine: a zero-size input
                raise InputError(
                    f"bad --input-shapes {text!r}: dimension {word!r} of '{name}' "
                    "is not a non-negative integer"
                )
            dims.append(int(word))
        if name in shapes:
            raise InputError(f"bad --input-shapes {text!r}: '{name}' is given twice")
        shapes[name] = tuple(dims)
        pos = m.end()
    return shapes
