"""Small kernels for the template-free search's tests: an unpacked dense with a bias and
relu epilogue, a plain dense, a padded NCHW conv2d + relu, a softmax and a row sum; and
a helper that builds one with a config and runs it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.dialects.builtin import f32

import xtvm
from xtvm.autotune.dispatch import kernel_text
from xtvm.autotune.measure import candidate_module
from xtvm.autotune.task import split_at_te
from xtvm.backends.llvm import Target
from xtvm.dialects.te import KernelOp
from xtvm.topi import nn
from xtvm.topi.builder import KernelBuilder
from xtvm.topi.nn.reduce import reduce
from xtvm.topi.x86 import DefaultScheduleConfig

TARGET = Target.host()
CFG = DefaultScheduleConfig(vector_bits=TARGET.vector_width_bits, min_parallel_work=1)


def make(shapes: list[tuple[int, ...]], body: Callable) -> KernelOp:
    kb = KernelBuilder("k")
    args = [kb.placeholder(s, f32, f"p{n}") for n, s in enumerate(shapes)]
    kb.output(body(*args))
    return kb.finish()


KERNELS: dict[str, Callable[[], KernelOp]] = {
    "dense_relu": lambda: make(
        [(16, 32), (24, 32), (24,)], lambda x, w, b: nn.relu(nn.add(nn.dense(x, w), b))
    ),
    "dense": lambda: make([(16, 32), (24, 32)], nn.dense),
    "conv": lambda: make(
        [(1, 4, 10, 10), (8, 4, 3, 3)],
        lambda x, w: nn.relu(nn.conv2d_nchw(x, w, padding=(1, 1, 1, 1))),
    ),
    "softmax": lambda: make([(6, 40)], nn.softmax),
    "rowsum": lambda: make([(6, 40)], lambda x: reduce(x, "sum", [1], False)),
}


def inputs(kernel: KernelOp, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.uniform(-1, 1, tuple(p.result.type.get_shape())).astype(np.float32)  # type: ignore[attr-defined]
        for p in kernel.placeholders
    ]


def run(text: str, values: dict | None, arrays: list[np.ndarray]) -> np.ndarray:
    """Build the kernel ``text`` scheduled with ``values`` (None: the defaults) and run it."""
    module = candidate_module(text, values, TARGET)
    lib = xtvm.build(module, target=TARGET, pipeline=split_at_te()[1], cache=False)
    return lib(*arrays)


def reference(name: str) -> tuple[KernelOp, str, list[np.ndarray], np.ndarray]:
    """(kernel, its text, inputs, outputs of its default schedule)."""
    kernel = KERNELS[name]()
    text = kernel_text(kernel)
    arrays = inputs(kernel)
    return kernel, text, arrays, run(text, None, arrays)
