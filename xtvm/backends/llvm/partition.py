"""Split one llvmlite module into IR texts that LLVM can optimize and compile separately.

LLVM's optimization and code generation take most of a cold build, and llvmlite holds one
lock around every LLVM call, so one process uses one core however many threads call it.
Parallel code generation therefore compiles parts of the module in other processes
(:mod:`xtvm.backends.llvm.codegen_pool`); this module decides the parts.

A part is a set of whole functions. Functions that reference each other stay together (a
kernel with its outlined parallel bodies), except the entry (``xtvm_main``), which calls
every kernel and lives in part 0 with every global that has state or weights; a group that
touches such a global also stays in part 0. So the only references across parts are the
entry's calls to kernels (those kernels become ``hidden`` instead of ``internal``, visible
inside the linked object only) and reads of non-internal globals such as
``xtvm_num_threads`` (declared ``external`` in the other parts). Small internal constants
are copied into every part; each part's optimizer drops the copies it does not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import llvmlite.ir as ir

from xtvm.backends.llvm.weights import Blob, global_text, header_lines

_REFERENCE = re.compile(r'@"((?:[^"\\]|\\.)*)"|@([-A-Za-z$._][-A-Za-z$._0-9]*)')
_LOCAL_LINKAGE = ("internal", "private")


@dataclass
class Parts:
    """The IR text of each part (part 0 holds the entry and every weight) and the blobs of
    large constants that part 0 only declares (see :mod:`xtvm.backends.llvm.weights`)."""

    texts: list[str]
    blobs: list[Blob]


def _references(text: str) -> set[str]:
    return {quoted or plain for quoted, plain in _REFERENCE.findall(text)}


class _Groups:
    """Union-find over function names."""

    def __init__(self, names: list[str]) -> None:
        self.parent = {n: n for n in names}

    def find(self, name: str) -> str:
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _declaration(name: str, text: str) -> str:
    """A ``declare`` for the function whose definition is ``text`` (its first line, with
    linkage ``hidden``: the definition is in another part of the same object)."""
    head = text.split("\n", 1)[0].rstrip().removesuffix("{").rstrip()
    marker = f'@"{name}"('
    at = head.find(marker)
    if not head.startswith("define") or at < 0:
        return ""
    words = head[len("define") : at].split()
    kept = [w for w in words if w not in _LOCAL_LINKAGE and w not in ("dso_local", "hidden")]
    return " ".join(["declare", "hidden", *kept, head[at:]]) + "\n"


def partition(
    ir_module: ir.Module, parts: int, entry: str, min_chars: int, blobs: bool = True
) -> Parts | None:
    """Split ``ir_module`` into at most ``parts`` IR texts of similar size; None when it is
    smaller than ``min_chars`` of function text or has fewer than two groups to share out
    (one compile is cheaper then). ``blobs=False`` keeps large weights in the text (a
    foreign target: llvmlite has no assembler parser for its ``.incbin``)."""
    functions = {
        v.name: v for v in ir_module.globals.values() if isinstance(v, ir.Function) and v.blocks
    }
    if parts < 2 or entry not in functions or len(functions) < 3:
        return None
    text = {name: str(fn) for name, fn in functions.items()}
    total = sum(len(t) for t in text.values())
    if total < min_chars:
        return None
    refs = {name: _references(t) - {name} for name, t in text.items()}
    variables = {v.name: v for v in ir_module.globals.values() if isinstance(v, ir.GlobalVariable)}
    global_lines = {
        name: global_text(v) if blobs else (str(v), None) for name, v in variables.items()
    }

    def pinned(var: ir.GlobalVariable) -> bool:
        """Globals only part 0 may touch: weights (blobs) and internal state."""
        if global_lines[var.name][1] is not None:
            return True
        return var.linkage in _LOCAL_LINKAGE and not var.global_constant

    groups = _Groups([n for n in functions if n != entry])
    for name, used in refs.items():
        if name == entry:
            continue
        for other in used:
            if other in functions and other != entry:
                groups.union(name, other)
    members: dict[str, list[str]] = {}
    for name in functions:
        if name != entry:
            members.setdefault(groups.find(name), []).append(name)
    if len(members) < 2:
        return None
    owner: dict[str, int] = {entry: 0}
    load = [0] * parts
    load[0] = len(text[entry])
    free: list[tuple[int, list[str]]] = []
    for names in members.values():
        cost = sum(len(text[n]) for n in names)
        touches = set().union(*(refs[n] for n in names))
        if any(n in variables and pinned(variables[n]) for n in touches):
            for n in names:
                owner[n] = 0
            load[0] += cost
        else:
            free.append((cost, names))
    for cost, names in sorted(free, key=lambda item: -item[0]):
        best = min(range(parts), key=lambda p: load[p])
        load[best] += cost
        for n in names:
            owner[n] = best
    used_parts = sorted(set(owner.values()))
    if len(used_parts) < 2:
        return None
    renumber = {p: i for i, p in enumerate(used_parts)}
    owner = {n: renumber[p] for n, p in owner.items()}
    exported = {
        other
        for name, used in refs.items()
        for other in used
        if other in owner and owner[other] != owner[name]
    }
    return _render(ir_module, len(used_parts), owner, exported, text, refs, global_lines)


def _render(
    ir_module: ir.Module,
    count: int,
    owner: dict[str, int],
    exported: set[str],
    text: dict[str, str],
    refs: dict[str, set[str]],
    global_lines: dict[str, tuple[str, Blob | None]],
) -> Parts:
    used: list[set[str]] = [set() for _ in range(count)]
    for name, part in owner.items():
        used[part] |= refs[name]
    header = header_lines(ir_module)
    metadata = ir_module._get_metadata_lines()
    out: list[list[str]] = [list(header) for _ in range(count)]
    blobs: list[Blob] = []
    for value in ir_module.globals.values():
        name = value.name
        if isinstance(value, ir.Function):
            if not value.blocks:
                for lines in out:
                    lines.append(str(value))
                continue
            body = text[name]
            if name in exported:
                body = body.replace("define internal ", "define hidden ", 1)
                body = body.replace("define private ", "define hidden ", 1)
            for part, lines in enumerate(out):
                if owner[name] == part:
                    lines.append(body)
                elif name in used[part]:
                    lines.append(_declaration(name, body))
            continue
        line, blob = global_lines[name]
        if blob is not None:
            blobs.append(blob)
        out[0].append(line)
        for part in range(1, count):
            if name not in used[part]:
                continue
            if value.linkage in _LOCAL_LINKAGE:
                out[part].append(line)  # a small constant: each part keeps a copy
            else:
                kind = "constant" if value.global_constant else "global"
                out[part].append(f"{value.get_reference()} = external {kind} {value.value_type}\n")
    return Parts(["\n".join(lines + metadata) for lines in out], blobs)
