"""Where the C runtime's sources are, for building C programs that run xtvm models.

The C runtime (``xtvm/runtime/c``) ships as package data: a C application compiles its
``.c`` files with the header ``xtvm_runtime.h``, and ``xtvm compile --bundle`` compiles them
into a bundle's archive. Standard library only, like the rest of ``xtvm.runtime``.
"""

from __future__ import annotations

import os

HEADER = "xtvm_runtime.h"
SOURCES = ("xtvm_runtime.c", "xtvm_metadata.c", "xtvm_json.c", "xtvm_cpu.c")


def c_runtime_dir() -> str:
    """The folder holding ``xtvm_runtime.h`` and the C runtime's sources."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "c")


def c_runtime_sources() -> list[str]:
    """Paths of the C runtime's ``.c`` files (compile them all, with ``-I c_runtime_dir()``)."""
    return [os.path.join(c_runtime_dir(), name) for name in SOURCES]
