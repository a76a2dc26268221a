"""Operator computes (what to compute; no schedules, no target knowledge)."""

from xtvm.topi.nn.conv2d import conv2d_nchw
from xtvm.topi.nn.conv2d_nchwc import conv2d_nchwc
from xtvm.topi.nn.dense import batch_matmul, dense, dense_pack
from xtvm.topi.nn.elementwise import (
    add,
    batch_norm,
    binary,
    broadcast_index,
    clip,
    divide,
    exp_,
    maximum,
    minimum,
    multiply,
    relu,
    sigmoid_,
    subtract,
    tanh_,
    unary,
)
from xtvm.topi.nn.pad import pad
from xtvm.topi.nn.pool import avg_pool2d, global_avg_pool2d, max_pool2d
from xtvm.topi.nn.softmax import softmax
from xtvm.topi.nn.transform import concatenate, flatten, reshape, strided_slice, transpose

__all__ = [
    "add",
    "avg_pool2d",
    "batch_matmul",
    "batch_norm",
    "binary",
    "broadcast_index",
    "clip",
    "concatenate",
    "conv2d_nchw",
    "conv2d_nchwc",
    "dense",
    "dense_pack",
    "divide",
    "exp_",
    "flatten",
    "global_avg_pool2d",
    "max_pool2d",
    "maximum",
    "minimum",
    "multiply",
    "pad",
    "relu",
    "reshape",
    "sigmoid_",
    "softmax",
    "strided_slice",
    "subtract",
    "tanh_",
    "transpose",
    "unary",
]
