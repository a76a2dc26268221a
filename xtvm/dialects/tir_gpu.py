"""GPU rules of ``tir``: thread axes, their launch configuration, and where barriers may sit.

A kernel is a GPU kernel when it holds ``tir.for ... kind(thread "<tag>")`` loops. Such a
loop runs its iterations on different GPU threads: ``blockIdx.*`` loops are the grid
(outermost, perfectly nested around everything else), ``threadIdx.*`` loops the threads
of one block. Several sibling loops may carry the same ``threadIdx`` tag (phases of one
block separated by ``tir.barrier``); the block dimension of a tag is the largest of their
extents, and a loop of smaller extent only runs on the threads below its extent. A tag
never nests inside a loop with the same tag.

This module checks those rules on generic ops (no import of ``tir``), so ``tir.py`` can
call it from its verifiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, MemRefType
from xdsl.ir import Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

BLOCK_TAGS = ("blockIdx.x", "blockIdx.y", "blockIdx.z")
THREAD_TAGS = ("threadIdx.x", "threadIdx.y", "threadIdx.z")
MAX_EXTENT = {
    "blockIdx.x": 2**31 - 1,
    "blockIdx.y": 65535,
    "blockIdx.z": 65535,
    "threadIdx.x": 1024,
    "threadIdx.y": 1024,
    "threadIdx.z": 64,
}
"""CUDA's grid and block dimension limits (every compute capability since 3.0)."""
MAX_THREADS_PER_BLOCK = 1024
MAX_STATIC_SHARED_BYTES = 48 * 1024
"""Static ``__shared__`` memory a kernel may declare without opting in to more."""


def const_index(v: SSAValue) -> int | None:
    """The value of an ``arith.constant`` index, else None."""
    op = v.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return op.value.value.data
    return None


def thread_tag(op: Operation) -> str | None:
    """The tag of a ``tir.for kind(thread ...)``, else None."""
    if op.name != "tir.for":
        return None
    t = op.properties.get("thread")
    return t.data if t is not None else None  # type: ignore[attr-defined]


def loop_extent(op: Operation) -> int | None:
    return const_index(op.operands[1])


def _ancestors(op: Operation):
    cur = op.parent_op()
    while cur is not None and cur.name != "tir.prim_func":
        yield cur
        cur = cur.parent_op()


def verify_thread_loop(loop: Operation) -> None:
    """Local rules of one thread loop: a known tag, ``0 to N step 1`` with a constant N within
    CUDA's limit, no loop of the same tag around it, no grid axis inside a thread axis."""
    tag = thread_tag(loop)
    assert tag is not None
    if tag not in MAX_EXTENT:
        raise VerifyException(f"tir.for: unknown thread tag {tag!r}")
    lb, ub, step = (const_index(v) for v in loop.operands)
    if lb != 0 or step != 1 or ub is None:
        raise VerifyException(f"tir.for: a {tag} loop must run from 0 to a constant by step 1")
    if not 1 <= ub <= MAX_EXTENT[tag]:
        raise VerifyException(f"tir.for: {tag} extent {ub} is outside [1, {MAX_EXTENT[tag]}]")
    for a in _ancestors(loop):
        t = thread_tag(a)
        if t == tag:
            raise VerifyException(f"tir.for: {tag} is already bound by an enclosing loop")
        if t in THREAD_TAGS and tag in BLOCK_TAGS:
            raise VerifyException(f"tir.for: {tag} loop inside a threadIdx loop")


def verify_barrier(op: Operation) -> None:
    """Every thread of the block must reach a barrier: not under a branch, a while loop, a
    CPU-parallel loop, or a loop inside a thread axis whose bounds are not uniform."""
    in_thread_loop = False
    for a in reversed(list(_ancestors(op))):  # outermost first
        tag = thread_tag(a)
        if tag in THREAD_TAGS:
            in_thread_loop = True
        elif a.name == "tir.for" and tag is None:
            kind = a.properties["kind"].data  # type: ignore[attr-defined]
            if kind in ("parallel", "vectorized"):
                raise VerifyException(f"tir.barrier: inside a {kind} loop")
            if in_thread_loop and any(const_index(v) is None for v in a.operands):
                raise VerifyException("tir.barrier: inside a loop whose bounds vary per thread")
        elif tag is None:
            raise VerifyException(f"tir.barrier: inside {a.name} (divergent control flow)")


@dataclass
class LaunchConfig:
    """What a GPU kernel needs at launch: grid and block dimensions, static shared bytes."""

    grid: dict[str, int] = field(default_factory=dict)
    block: dict[str, int] = field(default_factory=dict)
    shared_bytes: int = 0

    @property
    def threads_per_block(self) -> int:
        n = 1
        for v in self.block.values():
            n *= v
        return n


def _bytes(t: MemRefType) -> int:
    n = max(1, getattr(t.element_type, "bitwidth", 8) // 8)
    for d in t.get_shape():
        n *= d
    return n


def launch_config(func: Operation) -> LaunchConfig | None:
    """The launch configuration of a GPU kernel (None for a CPU kernel), checked against the
    device limits; raises ``VerifyException`` for one that breaks them."""
    name = func.properties["sym_name"].data  # type: ignore[attr-defined]
    return _config(name, [func])


def verify_gpu_kernel(func: Operation) -> None:
    """The checks of :func:`launch_config`, per launch: a kernel whose top level holds
    several thread nests over the grid (root stages bound on their own) is split into one
    launch per nest by the code generator, so each nest is checked alone, with the shared
    buffers of the kernel."""
    name = func.properties["sym_name"].data  # type: ignore[attr-defined]
    body = func.regions[0].block.ops
    nests = [op for op in body if any(thread_tag(o) is not None for o in op.walk())]
    gridded = any(thread_tag(o) in BLOCK_TAGS for n in nests for o in n.walk())
    if len(nests) < 2 or not gridded:
        _config(name, [func])
        return
    shared = [op for op in body if op.name == "tir.alloc"]
    for n in nests:
        _config(name, [*shared, n])


def _config(name: str, roots: list[Operation]) -> LaunchConfig | None:
    cfg = LaunchConfig()
    barriers: list[Operation] = []
    loops: list[Operation] = []
    walked = [op for r in roots for op in r.walk()]
    for op in walked:
        tag = thread_tag(op)
        if tag is not None:
            loops.append(op)
            ext = loop_extent(op) or 1
            if tag in BLOCK_TAGS:
                if cfg.grid.setdefault(tag, ext) != ext:
                    raise VerifyException(
                        f"@{name}: {tag} bound with extents {cfg.grid[tag]} and {ext}"
                    )
            else:
                cfg.block[tag] = max(cfg.block.get(tag, 0), ext)
        elif op.name == "tir.barrier":
            barriers.append(op)
        elif op.name == "tir.alloc" and op.properties["scope"].data == "shared":  # type: ignore[attr-defined]
            cfg.shared_bytes += _bytes(op.results[0].type)  # type: ignore[arg-type]
    if not loops:
        if barriers:
            raise VerifyException(f"@{name}: tir.barrier outside a GPU kernel")
        return None
    for op in walked:
        if op.name == "tir.alloc" and op.properties["scope"].data == "shared":  # type: ignore[attr-defined]
            if any(thread_tag(a) in THREAD_TAGS for a in _ancestors(op)):
                raise VerifyException(f"@{name}: a shared buffer allocated inside a threadIdx loop")
    if cfg.threads_per_block > MAX_THREADS_PER_BLOCK:
        raise VerifyException(
            f"@{name}: {cfg.threads_per_block} threads per block, at most {MAX_THREADS_PER_BLOCK}"
        )
    if cfg.shared_bytes > MAX_STATIC_SHARED_BYTES:
        raise VerifyException(
            f"@{name}: {cfg.shared_bytes} bytes of shared memory, at most {MAX_STATIC_SHARED_BYTES}"
        )
    for b in barriers:
        for a in _ancestors(b):
            tag = thread_tag(a)
            if tag in THREAD_TAGS and loop_extent(a) != cfg.block[tag]:
                raise VerifyException(
                    f"@{name}: tir.barrier inside a {tag} loop of extent {loop_extent(a)} "
                    f"below the block's {cfg.block[tag]} (only some threads reach it)"
                )
    return cfg
