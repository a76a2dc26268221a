"""A code generation worker: ``python -m xtvm.backends.llvm.codegen_worker``.

Reads requests from stdin (a JSON header frame ``{"target": "llvm ..."}`` and an IR text
frame, see :mod:`xtvm.backends.llvm.codegen_pool`), optimizes and compiles each to a PIC
object, and answers on stdout with a status byte (0: object, 1: error line) and a frame.
It exits at the end of its input, that is when the process that started it exits.
"""

from __future__ import annotations

import json
import os
import sys

from xtvm.backends.llvm.codegen_pool import read_frame, write_frame


def _answer(out, status: int, payload: bytes) -> None:  # noqa: ANN001 (a binary stream)
    out.write(bytes([status]))
    write_frame(out, payload)
    out.flush()


def serve(inp, out) -> None:  # noqa: ANN001 (binary streams)
    """Answer requests until ``inp`` ends."""
    from xtvm.backends.llvm.jit import emit_pic_object
    from xtvm.backends.llvm.target import Target
    from xtvm.errors import XTVMError

    while True:
        header = read_frame(inp)
        if header is None:
            return
        text = read_frame(inp)
        if text is None:
            return
        try:
            target = Target.from_string(str(json.loads(header)["target"]))
            data = emit_pic_object(text.decode(), target)
        except (XTVMError, ValueError, KeyError, TypeError) as exc:
            _answer(out, 1, str(exc).encode())
            continue
        _answer(out, 0, data)


if __name__ == "__main__":
    # Answers go to a private copy of stdout; anything printed (by LLVM or Python) goes
    # to stderr instead of corrupting the frames.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, answers)
