"""A numpy evaluator for relay: folds constants at compile time and is the tests' reference.

Every op's value is computed from its operands and attributes with numpy (heavier ops in
float64, then rounded), and cast to the op's declared result element type, so a float32 graph
evaluates to float32 arrays. ``relay.fused`` groups are evaluated through their region.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, SSAValue

from xtvm.dialects import relay
from xtvm.errors import InputError

Evaluator = Callable[[Operation, list[np.ndarray]], np.ndarray]


def _result_dtype(op: Operation) -> np.dtype:
    return relay.numpy_dtype_of(relay.elt_of(op.results[0]))


def _is_float(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.floating)


# ----------------------------------------------------------------------------------------------
# elementwise
# ----------------------------------------------------------------------------------------------


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if _is_float(a):
        return np.divide(a, b)
    # integer division truncates toward zero (C, ONNX and TVM semantics), unlike numpy's //;
    # ONNX leaves x / 0 undefined: xtvm defines it as 0 (compiled code must not trap)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.floor_divide(a, b)
        r = a - q * b
        q = q + ((r != 0) & ((a < 0) != (b < 0))).astype(q.dtype)
    return np.where(b == 0, np.zeros_like(q), q)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    e = np.exp(-np.abs(x64))  # never overflows
    return np.where(x64 >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_BINARY: dict[type[Operation], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    relay.AddOp: np.add,
    relay.SubtractOp: np.subtract,
    relay.MultiplyOp: np.multiply,
    relay.DivideOp: _divide,
    relay.MaximumOp: np.maximum,
    relay.MinimumOp: np.minimum,
}

_UNARY: dict[type[Operation], Callable[[np.ndarray], np.ndarray]] = {
    relay.ReluOp: lambda x: np.maximum(x, np.zeros((), x.dtype)),
    relay.SigmoidOp: _sigmoid,
    relay.TanhOp: lambda x: np.tanh(x.astype(np.float64)),
    relay.ExpOp: lambda x: np.exp(x.astype(np.float64)),
}


def _clip(op: relay.ClipOp, x: np.ndarray) -> np.ndarray:
    return np.clip(x, op.a_min.value.data, op.a_max.value.data)


# ----------------------------------------------------------------------------------------------
# neural-network ops
# ----------------------------------------------------------------------------------------------


def _conv2d(op: relay.Conv2dOp, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """im2col + one batched matmul per group (no per-element Python loops)."""
    (sh, sw), (pt, pl, pb, pr), (dh, dw), groups = op.attrs
    n, c, _, _ = x.shape
    o, i, kh, kw = w.shape
    _, _, oh, ow = relay.shape_of(op.results[0])
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    cols = np.empty((n, c, kh, kw, oh, ow), np.float64)
    for y in range(kh):
        for z in range(kw):
            h0, w0 = y * dh, z * dw
            cols[:, :, y, z] = xp[
                :, :, h0 : h0 + (oh - 1) * sh + 1 : sh, w0 : w0 + (ow - 1) * sw + 1 : sw
            ]
    cols = cols.reshape(n, groups, i * kh * kw, oh * ow)
    wg = w.astype(np.float64).reshape(groups, o // groups, i * kh * kw)
    out = np.matmul(wg, cols)  # (n, groups, o // groups, oh * ow)
    return out.reshape(n, o, oh, ow)


def _dense(op: Operation, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.matmul(x.astype(np.float64), w.astype(np.float64).T)


def _batch_matmul(op: Operation, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def _window_slices(op: relay.Pool2dOp, padded: np.ndarray) -> list[np.ndarray]:
    """The (oh, ow) strided view of ``padded`` for every position inside the pooling window."""
    (kh, kw), (sh, sw), _, (dh, dw), _ = op.attrs
    _, _, oh, ow = relay.shape_of(op.results[0])
    views = []
    for y in range(kh):
        for z in range(kw):
            h0, w0 = y * dh, z * dw
            views.append(
                padded[..., h0 : h0 + (oh - 1) * sh + 1 : sh, w0 : w0 + (ow - 1) * sw + 1 : sw]
            )
    return views


def _pool_padding(op: relay.Pool2dOp, h: int, w: int) -> tuple[int, int, int, int, int, int]:
    """Declared padding plus the extra bottom/right cells that ceil_mode windows reach."""
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw), _ = op.attrs
    _, _, oh, ow = relay.shape_of(op.results[0])
    extra_h = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + pt + pb))
    extra_w = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + pl + pr))
    return pt, pl, pb, pr, extra_h, extra_w


def _max_pool2d(op: relay.MaxPool2dOp, x: np.ndarray) -> np.ndarray:
    pt, pl, pb, pr, eh, ew = _pool_padding(op, x.shape[2], x.shape[3])
    fill = -np.inf if _is_float(x) else np.iinfo(x.dtype).min
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb + eh), (pl, pr + ew)), constant_values=fill)
    views = _window_slices(op, xp)
    out = views[0].copy()
    for v in views[1:]:
        np.maximum(out, v, out=out)
    return out


def _avg_pool2d(op: relay.AvgPool2dOp, x: np.ndarray) -> np.ndarray:
    h, w = x.shape[2], x.shape[3]
    pt, pl, pb, pr, eh, ew = _pool_padding(op, h, w)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb + eh), (pl, pr + ew)))
    # the divisor counts real cells, plus the declared padding when count_include_pad is set;
    # the cells ceil_mode adds past the padding never count
    mask = np.pad(np.ones((h, w)), ((pt, pb), (pl, pr)), constant_values=float(op.include_pad))
    mask = np.pad(mask, ((0, eh), (0, ew)))
    total = sum(_window_slices(op, xp))
    count = sum(_window_slices(op, mask))
    return total / np.maximum(count, 1.0)


def _global_avg_pool2d(op: Operation, x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64).mean(axis=(2, 3), keepdims=True)


def _batch_norm(
    op: relay.BatchNormOp,
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
) -> np.ndarray:
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)

    def p(a: np.ndarray) -> np.ndarray:
        return a.astype(np.float64).reshape(shape)

    eps = op.epsilon.value.data
    return (x.astype(np.float64) - p(mean)) / np.sqrt(p(var) + eps) * p(gamma) + p(beta)


def _softmax(op: relay.SoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.axis.value.data
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------------------------------------------------
# shape ops
# ----------------------------------------------------------------------------------------------


def _to_result_shape(op: Operation, x: np.ndarray) -> np.ndarray:
    return x.reshape(relay.shape_of(op.results[0]))


def _transpose(op: relay.TransposeOp, x: np.ndarray) -> np.ndarray:
    return np.transpose(x, op.perm)


def _strided_slice(op: relay.StridedSliceOp, x: np.ndarray) -> np.ndarray:
    out = relay.shape_of(op.result)
    index = tuple(np.arange(n, dtype=np.int64) * s + b for n, b, s in zip(out, op.begins, op.steps))
    return x[np.ix_(*index)] if index else x


def _concatenate(op: relay.ConcatenateOp, *xs: np.ndarray) -> np.ndarray:
    return np.concatenate(xs, axis=op.axis.value.data)


_NARY: dict[type[Operation], Callable[..., np.ndarray]] = {
    relay.ClipOp: _clip,
    relay.Conv2dOp: _conv2d,
    relay.DenseOp: _dense,
    relay.BatchMatmulOp: _batch_matmul,
    relay.MaxPool2dOp: _max_pool2d,
    relay.AvgPool2dOp: _avg_pool2d,
    relay.GlobalAvgPool2dOp: _global_avg_pool2d,
    relay.BatchNormOp: _batch_norm,
    relay.SoftmaxOp: _softmax,
    relay.ReshapeOp: _to_result_shape,
    relay.FlattenOp: _to_result_shape,
    relay.TransposeOp: _transpose,
    relay.ConcatenateOp: _concatenate,
    relay.StridedSliceOp: lambda op, x: _strided_slice(op, x),
}


def register_evaluator(
    *op_types: type[Operation],
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Decorator for evaluators of further op families: ``fn(op, *inputs) -> ndarray``.

    Family modules live beside this one as ``eval_<family>.py`` and are imported on first use.
    """

    def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        for t in op_types:
            _NARY[t] = fn
        return fn

    return deco


_EXTENSIONS_LOADED = False


def _load_extensions() -> None:
    global _EXTENSIONS_LOADED
    if _EXTENSIONS_LOADED:
        return
    _EXTENSIONS_LOADED = True
    import importlib
    import pkgutil

    import xtvm.passes.relay as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("eval_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


# ----------------------------------------------------------------------------------------------
# entry points
# ----------------------------------------------------------------------------------------------


def can_evaluate(op: Operation) -> bool:
    """True for ops :func:`evaluate_op` knows (every relay op, including ``relay.fused``)."""
    _load_extensions()
    return (
        type(op) in _BINARY
        or type(op) in _UNARY
        or type(op) in _NARY
        or isinstance(op, (relay.ConstantOp, relay.FusedOp))
    )


def evaluate_op(op: Operation, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The value of a single-result relay op applied to ``inputs`` (in operand order)."""
    if isinstance(op, relay.ConstantOp):
        return op.to_numpy()
    if isinstance(op, relay.FusedOp):
        outs = evaluate_fused(op, inputs)
        if len(outs) != 1:
            raise ValueError(f"relay.fused {op.kernel_name.data!r} has {len(outs)} results")
        return outs[0]
    if len(inputs) != len(op.operands):
        raise ValueError(f"{op.name}: expected {len(op.operands)} inputs, got {len(inputs)}")
    args = [np.asarray(a) for a in inputs]
    _load_extensions()
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        kind = type(op)
        if kind in _BINARY:
            value = _BINARY[kind](args[0], args[1])
        elif kind in _UNARY:
            value = _UNARY[kind](args[0])
        elif kind in _NARY:
            value = _NARY[kind](op, *args)
        else:
            raise NotImplementedError(f"no evaluator for {op.name}")
    out = np.asarray(value).astype(_result_dtype(op), copy=False)
    expected = relay.shape_of(op.results[0])
    if out.shape != expected:  # an evaluator bug, never a user error
        raise AssertionError(f"{op.name}: evaluated shape {out.shape}, declared {expected}")
    return out if out.flags.c_contiguous else np.ascontiguousarray(out)


def _evaluate_block(block: Block, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    env: dict[SSAValue, np.ndarray] = dict(zip(block.args, args))
    for op in block.ops:
        if isinstance(op, (relay.YieldOp, ReturnOp)):
            return [env[v] for v in op.operands]
        if isinstance(op, relay.FusedOp):
            outs = evaluate_fused(op, [env[v] for v in op.operands])
            env.update(zip(op.results, outs))
            continue
        env[op.results[0]] = evaluate_op(op, [env[v] for v in op.operands])
    raise ValueError("block has no relay.yield / func.return terminator")


def evaluate_fused(op: relay.FusedOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """All outputs of a fused group, evaluating the ops of its region in order."""
    if len(inputs) != len(op.inputs):
        raise ValueError(f"relay.fused: expected {len(op.inputs)} inputs, got {len(inputs)}")
    return _evaluate_block(op.block, inputs)


def evaluate_function(func_op: FuncOp, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run a relay ``func.func`` on numpy ``inputs`` (positional); returns its results."""
    block = func_op.body.block
    if len(inputs) != len(block.args):
        raise InputError(
            f"@{func_op.sym_name.data} takes {len(block.args)} inputs, got {len(inputs)}"
        )
    arrays = []
    for k, (arg, x) in enumerate(zip(block.args, inputs)):
        a = np.asarray(x)
        want_shape, want_dtype = relay.shape_of(arg), relay.numpy_dtype_of(relay.elt_of(arg))
        if a.shape != want_shape or a.dtype != want_dtype:
            raise InputError(
                f"input {k} of @{func_op.sym_name.data}: expected {want_dtype}{list(want_shape)}, "
                f"got {a.dtype}{list(a.shape)}"
            )
        arrays.append(a)
    return _evaluate_block(block, arrays)
