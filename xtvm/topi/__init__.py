"""Operator library: a tensor-expression builder, computes (``nn``) and CPU schedules (``x86``).

Computes say what each output element is; schedules (kept apart, as in TVM) say how to loop.
"""

from xtvm.topi.builder import KernelBuilder, Tensor
from xtvm.topi.expr import Expr, const
from xtvm.topi.intrin import (
    abs_,
    cast,
    clamp,
    exp,
    log,
    max_,
    min_,
    prod_,
    select,
    sigmoid,
    sqrt,
    sum_,
    tanh,
    te_sum,
)
from xtvm.topi.schedule import Axis, Schedule, Stage

__all__ = [
    "Axis",
    "Expr",
    "KernelBuilder",
    "Schedule",
    "Stage",
    "Tensor",
    "abs_",
    "cast",
    "clamp",
    "const",
    "exp",
    "log",
    "max_",
    "min_",
    "prod_",
    "select",
    "sigmoid",
    "sqrt",
    "sum_",
    "tanh",
    "te_sum",
]
