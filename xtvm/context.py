"""The one place that builds an xDSL ``Context`` with xtvm's dialects and the xDSL ones we use."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.cf import Cf
from xdsl.dialects.func import Func
from xdsl.dialects.llvm import LLVM
from xdsl.dialects.math import Math
from xdsl.dialects.memref import MemRef
from xdsl.dialects.scf import Scf
from xdsl.dialects.tensor import Tensor
from xdsl.dialects.vector import Vector


def xtvm_dialects() -> list:
    """All dialects xtvm defines (imported lazily to keep import order simple)."""
    from xtvm.dialects.llvmx import LLVMX
    from xtvm.dialects.relay import Relay
    from xtvm.dialects.te import TE
    from xtvm.dialects.tir import TIR

    return [Relay, TE, TIR, LLVMX]


def make_context(allow_unregistered: bool = False) -> Context:
    ctx = Context(allow_unregistered=allow_unregistered)
    for d in [Builtin, Func, Arith, Cf, Math, MemRef, Scf, Tensor, Vector, LLVM, *xtvm_dialects()]:
        ctx.load_dialect(d)
    return ctx
