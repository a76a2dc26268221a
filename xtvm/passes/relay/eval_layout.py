"""numpy evaluators of the blocked-layout ops (layout transforms, NCHWc conv and pooling,
packed dense).

Blocked ops are evaluated by unblocking their operands, evaluating the plain NCHW op with the
same attributes (so both layouts share one reference), and blocking the result again.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Block

from xtvm.dialects import relay
from xtvm.dialects.relay.layout_spec import transform_array
from xtvm.passes.relay.evaluate import evaluate_op, register_evaluator


def _unblock(x: np.ndarray) -> np.ndarray:
    return transform_array(x, f"NCHW{x.shape[4]}c", "NCHW")


def _block(x: np.ndarray, cb: int) -> np.ndarray:
    return transform_array(x, "NCHW", f"NCHW{cb}c")


def _args(*arrays: np.ndarray) -> list:
    """Block arguments typed like ``arrays``: operands for a throw-away NCHW op."""
    types = [relay.tensor_type(a.shape, relay.element_type_of(a.dtype)) for a in arrays]
    return list(Block(arg_types=types).args)


@register_evaluator(relay.LayoutTransformOp)
def _layout_transform(op: relay.LayoutTransformOp, x: np.ndarray) -> np.ndarray:
    src, dst = op.layouts
    return transform_array(x, src, dst)


@register_evaluator(relay.Conv2dNchwcOp)
def _conv2d_nchwc(op: relay.Conv2dNchwcOp, x: np.ndarray, k: np.ndarray) -> np.ndarray:
    strides, padding, dilation, depthwise = op.attrs
    data = _unblock(x)
    ib, ob = k.shape[4], k.shape[5]
    weight = transform_array(k, f"OIHW{ib}i{ob}o", "OIHW")
    groups = data.shape[1] if depthwise else op.group_count
    d, w = _args(data, weight)
    plain = relay.Conv2dOp(d, w, strides, padding, dilation, groups)
    return _block(evaluate_op(plain, [data, weight]), ob)


@register_evaluator(relay.DensePackOp)
def _dense_pack(op: relay.DensePackOp, x: np.ndarray, wp: np.ndarray) -> np.ndarray:
    nb, k, bn = wp.shape
    w = wp.transpose(0, 2, 1).reshape(nb * bn, k)
    return np.matmul(x.astype(np.float64), w.astype(np.float64).T)


@register_evaluator(relay.MaxPool2dNchwcOp, relay.AvgPool2dNchwcOp)
def _pool2d_nchwc(op: relay.Pool2dOp, x: np.ndarray) -> np.ndarray:
    data = _unblock(x)
    ks, strides, padding, dilation, ceil_mode = op.attrs
    (d,) = _args(data)
    kw = {"strides": strides, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    if isinstance(op, relay.AvgPool2dNchwcOp):
        plain: relay.Pool2dOp = relay.AvgPool2dOp(d, ks, op.include_pad, **kw)
    else:
        plain = relay.MaxPool2dOp(d, ks, **kw)
    return _block(evaluate_op(plain, [data]), x.shape[4])


@register_evaluator(relay.GlobalAvgPool2dNchwcOp)
def _global_avg_pool2d_nchwc(op: relay.GlobalAvgPool2dNchwcOp, x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64).mean(axis=(2, 3), keepdims=True)
