"""Pass registry: every xtvm pass registers itself by name; named pipelines live here too.

Passes are discovered by importing every module under ``xtvm.passes`` and ``xtvm.lowering``
(each pass class is decorated with :func:`register_pass`), so adding a pass never means
editing a central list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from xdsl.passes import ModulePass, PassPipeline

from xtvm.errors import PipelineError

_PASSES: dict[str, type[ModulePass]] = {}
_DISCOVERED = False

# Named pipelines, by opt level. Each is a pipeline string over registered passes.
# The relay part runs graph passes; the rest lowers step by step to the llvm dialect.
# O0 skips constant folding and puts every op in its own kernel (no fusion).
_LOWER = "convert-relay-to-te,te-dedup-kernels,convert-te-to-tir,tir-simplify,tir-loop-partition,tir-vectorize,tir-expand-math,tir-unroll,tir-storage-rewrite,convert-tir-to-llvm"
# Constants first (so BN parameters and neutral operands computed from constants are real
# constants), then BN folding, then clean-up; fusion last.
_GRAPH = "relay-fold-constant,relay-simplify-inference,relay-simplify,relay-cse,relay-dce"
# Transposed convolutions become regular ones (so they get blocked too); blocked conv layouts
# and packed dense weights; the folding after it re-lays-out the weights once, at compile time.
_LAYOUT = "relay-decompose-conv-transpose,relay-alter-layout,relay-fold-constant"
# Relay as a language (let, relay.fn/relay.call, tuples) becomes dataflow first: the graph
# passes and the lowering see dataflow of tensor ops (no-ops on a dataflow module).
_LANG = "relay-to-graph-normal-form,relay-inline-functions"
PIPELINES: dict[str, str] = {
    "O0": f"{_LANG},relay-fuse-ops{{max-depth=1}},{_LOWER}",
    "O1": f"{_LANG},relay-fold-constant,relay-fuse-ops,relay-half-storage,{_LOWER}",
    "O2": f"{_LANG},{_GRAPH},{_LAYOUT},relay-fuse-ops,relay-half-storage,{_LOWER}",
    "O3": f"{_LANG},{_GRAPH},{_LAYOUT},relay-fuse-ops,relay-half-storage,{_LOWER}",
}


def register_pass(cls: type[ModulePass]) -> type[ModulePass]:
    """Class decorator: make ``cls`` available to pipelines and ``xtvm-opt`` by its ``name``."""
    if cls.name in _PASSES and _PASSES[cls.name] is not cls:
        raise ValueError(f"pass name {cls.name!r} registered twice")
    _PASSES[cls.name] = cls
    return cls


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    # an import error propagates, and discovery is retried next time: a broken pass module
    # must never silently shrink the set of available passes
    for pkg_name in ("xtvm.passes", "xtvm.lowering"):
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg_name + "."):
            importlib.import_module(info.name)
    _DISCOVERED = True


def all_passes() -> dict[str, type[ModulePass]]:
    """Every registered pass, by name (sorted)."""
    _discover()
    return dict(sorted(_PASSES.items()))


def available_pass_factories() -> dict[str, Callable[[], type[ModulePass]]]:
    """xDSL's own passes (canonicalize, cse, ...) plus ours, in the form xDSL's parser wants."""
    from xdsl.transforms import get_all_passes

    available = dict(get_all_passes())
    available.update({name: (lambda c=cls: c) for name, cls in all_passes().items()})
    return available


def pipeline_for_opt_level(opt_level: int) -> str:
    if opt_level not in (0, 1, 2, 3):
        raise PipelineError(f"opt_level must be 0, 1, 2 or 3, got {opt_level!r}")
    return PIPELINES[f"O{opt_level}"]


def parse_pipeline(spec: str) -> list[ModulePass]:
    """Parse ``'a,b{opt=1}'`` into pass instances; bad names/options raise ``PipelineError``."""
    available = available_pass_factories()
    try:
        return list(PassPipeline.parse_spec(available, spec).passes)
    except PipelineError:
        raise
    except Exception as e:  # xDSL raises ValueError / parse errors with multi-line text
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PipelineError(f"bad pass pipeline {spec!r}: {first}") from None
