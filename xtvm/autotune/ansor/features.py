"""Loop-nest features of a scheduled kernel for the template-free cost model.

A candidate is lowered with ``convert-te-to-tir``'s kernel lowering alone (no tir passes,
no LLVM: a few tens of milliseconds), then every innermost statement group (the ops of one
loop body) is described as Ansor's features describe a statement: how often it runs, its
float and integer ops, loads and stores, the loop structure around it (depth, innermost
extent, vector length, unrolled iterations, parallel extent, guards) and, per buffer
access, the stride along the innermost loop (contiguous, invariant or strided) and the
bytes it touches and its reuse when the innermost 1, 2, 3 or all loops run. Strides come
from evaluating the index arithmetic at unit steps of each loop variable.

Groups are aggregated to a fixed length: sums over all groups, plus the whole vector of
the group that does the most float ops (the hot loop), all as ``log2(1 + x)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects import arith, memref, scf, vector
from xdsl.ir import Block, SSAValue

from xtvm.dialects import tir

LEVELS = (1, 2, 3, 0)  # innermost loops counted for footprints; 0: all
_FLOAT_OPS = {
    "arith.addf",
    "arith.subf",
    "arith.mulf",
    "arith.divf",
    "arith.maximumf",
    "arith.minimumf",
    "arith.negf",
    "math.fma",
    "arith.cmpf",
    "arith.select",
}


@dataclass
class _Loop:
    extent: int
    kind: str
    iv: SSAValue


@dataclass
class _Group:
    loops: list[_Loop]
    guards: int
    float_ops: int = 0
    math_ops: int = 0
    int_ops: int = 0
    accesses: list[tuple[SSAValue, list[SSAValue], bool]] = field(default_factory=list)


def _const(v: SSAValue) -> int | None:
    op = v.owner
    if isinstance(op, arith.ConstantOp):
        val = getattr(op.value, "value", None)
        data = getattr(val, "data", None)
        return data if isinstance(data, int) else None
    return None


def _extent(loop: tir.ForOp) -> int:
    lb, ub = _const(loop.lb), _const(loop.ub)
    if ub is None and isinstance(loop.ub.owner, arith.MinSIOp | arith.MinUIOp):
        cands = [_const(x) for x in loop.ub.owner.operands]
        ub = min((c for c in cands if c is not None), default=None)
    if ub is None:
        return 1
    return max(1, ub - (lb or 0))


def _form(v: SSAValue, memo: dict[SSAValue, dict[Any, float]]) -> dict[Any, float]:
    """Index arithmetic as ``{loop variable: coefficient, 1: constant}`` (memoized per
    function). Nonlinear ops are approximated: ``x // c`` scales by ``1/c``, ``x % c``,
    ``min``, ``max`` and ``select`` follow their first non-constant operand."""
    got = memo.get(v)
    if got is not None:
        return got
    c = _const(v)
    op = v.owner
    if c is not None:
        out: dict[Any, float] = {1: float(c)}
    elif not hasattr(op, "operands") or not op.operands:  # type: ignore[union-attr]
        out = {v: 1.0}  # a loop variable (or an argument: treated as one)
    else:
        name = op.name  # type: ignore[union-attr]
        xs = [_form(o, memo) for o in op.operands]  # type: ignore[union-attr]
        if name in ("arith.addi", "arith.subi"):
            sign = 1.0 if name == "arith.addi" else -1.0
            out = dict(xs[0])
            for k, x in xs[1].items():
                out[k] = out.get(k, 0.0) + sign * x
        elif name == "arith.muli":
            k0, k1 = xs[0].keys() == {1}, xs[1].keys() == {1}
            if k0 or k1:
                scale, other = (xs[0][1], xs[1]) if k0 else (xs[1][1], xs[0])
                out = {k: x * scale for k, x in other.items()}
            else:
                out = {**xs[0], **xs[1]}
        elif name in ("arith.divsi", "arith.divui", "arith.floordivsi") and xs[1].keys() == {1}:
            d = xs[1][1] or 1.0
            out = {k: x / d for k, x in xs[0].items()}
        elif name == "arith.select":
            out = xs[1]
        else:
            out = next((x for x in xs if x.keys() != {1}), xs[0])
    memo[v] = out
    return out


def _walk(block: Block, loops: list[_Loop], guards: int, out: list[_Group]) -> None:
    group = _Group(list(loops), guards)
    for op in block.ops:
        if isinstance(op, tir.ForOp):
            _walk(
                op.block, [*loops, _Loop(_extent(op), op.kind.data, op.induction_var)], guards, out
            )
        elif isinstance(op, scf.IfOp):
            for region in op.regions:
                for b in region.blocks:
                    _walk(b, loops, guards + 1, out)
        elif isinstance(op, memref.LoadOp | vector.LoadOp):
            group.accesses.append((op.memref, list(op.indices), False))  # type: ignore[union-attr]
        elif isinstance(op, memref.StoreOp | vector.StoreOp):
            group.accesses.append((op.memref, list(op.indices), True))  # type: ignore[union-attr]
        elif op.name in _FLOAT_OPS:
            group.float_ops += 1
        elif op.name.startswith("math."):
            group.math_ops += 1
        elif op.name.startswith("arith.") and op.name != "arith.constant":
            group.int_ops += 1
    if group.accesses or group.float_ops or group.math_ops:
        out.append(group)


ACCESS_WIDTH = 3 + 2 * len(LEVELS)
GROUP_WIDTH = 12 + 2 * ACCESS_WIDTH


def _access_features(
    buf: SSAValue, idx: list[SSAValue], loops: list[_Loop], memo: dict[SSAValue, Any]
) -> list[float]:
    shape = list(buf.type.get_shape())  # type: ignore[attr-defined]
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    flat: dict[Any, float] = {}
    for i, s in zip(idx, strides):
        for k, x in _form(i, memo).items():
            flat[k] = flat.get(k, 0.0) + x * s
    steps = [abs(flat.get(lp.iv, 0.0)) if lp.extent > 1 else 0.0 for lp in loops]
    inner = steps[-1] if steps else 0
    size = max(1, math.prod(shape))
    feats = [float(inner), float(abs(inner - 1) < 1e-9), float(inner == 0)]
    for lv in LEVELS:
        sub = loops[-lv:] if lv else loops
        st = steps[-lv:] if lv else steps
        runs = math.prod(lp.extent for lp in sub) if sub else 1
        unique = min(size, math.prod(lp.extent for lp, s in zip(sub, st) if s) if sub else 1)
        feats += [4.0 * unique, runs / max(1, unique)]
    return feats


def _group_features(g: _Group, memo: dict[SSAValue, Any]) -> list[float]:
    iters = math.prod(lp.extent for lp in g.loops) if g.loops else 1
    vec = next((lp.extent for lp in reversed(g.loops) if lp.kind == "vectorized"), 0)
    unrolled = math.prod(lp.extent for lp in g.loops if lp.kind == "unrolled")
    par = next((lp.extent for lp in g.loops if lp.kind == "parallel"), 0)
    loads = [a for a in g.accesses if not a[2]]
    stores = [a for a in g.accesses if a[2]]
    head = [
        float(iters),
        float(iters * g.float_ops),
        float(iters * g.math_ops),
        float(iters * g.int_ops),
        float(iters * len(loads)),
        float(iters * len(stores)),
        float(len(g.loops)),
        float(g.loops[-1].extent if g.loops else 1),
        float(vec),
        float(unrolled),
        float(par),
        float(g.guards),
    ]
    per = [_access_features(b, i, g.loops, memo) for b, i, _ in g.accesses]
    agg_sum = np.sum(per, axis=0) if per else np.zeros(ACCESS_WIDTH)
    agg_max = np.max(per, axis=0) if per else np.zeros(ACCESS_WIDTH)
    return head + list(agg_sum) + list(agg_max)


FEATURE_WIDTH = 2 * GROUP_WIDTH + 3


def loop_features(func: tir.PrimFuncOp) -> np.ndarray:
    """The fixed-length feature vector of a lowered kernel."""
    groups: list[_Group] = []
    _walk(func.block, [], 0, groups)
    memo: dict[SSAValue, Any] = {}
    rows = np.asarray([_group_features(g, memo) for g in groups]) if groups else None
    if rows is None:
        return np.zeros(FEATURE_WIDTH)
    hot = rows[int(np.argmax(rows[:, 1] + rows[:, 2]))]
    allocs = sum(
        math.prod(op.buffer.type.get_shape())  # type: ignore[attr-defined]
        for op in func.walk()
        if isinstance(op, tir.AllocOp)
    )
    extra = [float(len(groups)), 4.0 * allocs, float(np.max(rows[:, 10]))]
    return np.log2(1.0 + np.concatenate([rows.sum(axis=0), hot, extra]))


def state_features(kernel: Any, state: Any, cfg: Any) -> np.ndarray | None:
    """Features of ``state`` on a fresh clone of the unscheduled ``kernel``; None when the
    state does not apply (it would fail to build)."""
    from xtvm.autotune.ansor.state import apply_state
    from xtvm.autotune.space import InvalidConfigError
    from xtvm.errors import CompileError
    from xtvm.lowering.te_to_tir.kernel import lower_kernel
    from xtvm.lowering.te_to_tir.schedule import interpret_schedule

    k = kernel.clone()
    try:
        apply_state(k, state, cfg)
        func = lower_kernel(k, interpret_schedule(k))
    except (InvalidConfigError, CompileError):
        return None
    return loop_features(func)
