"""``CompiledModule``: what ``xtvm.build`` returns — a runnable model that remembers how it
was made (IR at each level, pass timings, the LLVM module) so it can be exported or inspected.

Builds keep only the final (llvm dialect) IR, and a module loaded from the whole-build cache
has no IR at hand: both keep a ``rebuild`` function and compile again (up to the level asked
for, never generating code) the first time another level's IR is needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xtvm.errors import XTVMError
from xtvm.runtime import Module, ProfileReport

if TYPE_CHECKING:
    from xtvm.backends.llvm.bundle import Bundle

SOURCE_LEVELS = ("relay", "te", "tir", "llvm", "ll", "asm")


class CompiledModule:
    """A JIT-compiled model. Call it like a function or ``run`` it on a dict or list.

    Built for a foreign target (cross-compiled), it only exports: running it raises
    ``ForeignTargetError``."""

    def __init__(
        self,
        module: Module,
        *,
        ir_module: Any,
        target: Any,
        metadata: dict[str, Any],
        sources: Mapping[str, Any] | None = None,
        pass_times: Sequence[tuple[str, float]] = (),
        rebuild: Callable[[str | None], tuple[dict[str, Any], Any]] | None = None,
        cache_status: str = "off",
        build_key: str | None = None,
        object_code: bytes | None = None,
    ):
        self.module = module
        # one line on the tuning records a build applied (None: built without records)
        self.tuning_summary: str | None = None
        self._ir_module = ir_module  # llvmlite ir.Module, before LLVM's optimizations
        self.target = target
        self.metadata = dict(metadata)
        self._sources: dict[str, Any] = dict(sources or {})  # level -> ModuleOp or text
        self.time_passes: list[tuple[str, float]] = list(pass_times)
        # Compiles the IR again (up to a level) for levels not kept and cache hits.
        self._rebuild = rebuild
        self.cache_status = cache_status
        """The whole-build cache: "off", "hit <key> (<folder>)" or "miss <key>, ..."."""
        self.build_key = build_key
        """The build's key in the whole-build cache (None: the cache was off)."""
        # The PIC object the JIT runs; export_library links these same bytes.
        self._object_code = object_code

    @property
    def ir_module(self) -> Any:
        """The llvmlite module before LLVM's optimizations (rebuilt on first use after a
        cache hit)."""
        self._ensure_ir()
        return self._ir_module

    def _ensure_ir(self, level: str | None = None) -> None:
        """Rebuild what is missing: the LLVM module, or the IR of ``level`` if given."""
        missing = self._ir_module is None if level is None else level not in self._sources
        if not missing or self._rebuild is None:
            return
        sources, ir_module = self._rebuild(level)
        self._sources = {**sources, **self._sources}
        if self._ir_module is None and ir_module is not None:
            self._ir_module = ir_module

    # -- running -------------------------------------------------------------------------
    @property
    def input_info(self) -> list[dict[str, Any]]:
        """``[{"name", "shape", "dtype"}]`` of the inputs, in positional order."""
        return self.module.input_info

    @property
    def output_info(self) -> list[dict[str, Any]]:
        """``[{"name", "shape", "dtype"}]`` of the outputs, in return order."""
        return self.module.output_info

    @property
    def workspace_bytes(self) -> int:
        """Bytes of scratch memory the model's intermediates need (allocated once)."""
        return self.module.workspace_bytes

    @property
    def num_threads(self) -> int:
        """Threads each parallel loop uses; 0 = the OpenMP default (all cores)."""
        return self.module.num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self.module.num_threads = value

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """``lib(x)`` or ``lib(x=...)``: one array for one output, else a tuple."""
        return self.module(*args, **kwargs)

    def run(self, inputs: Mapping[str, Any] | Sequence[Any]) -> list[np.ndarray]:
        """Run once on a dict name->array or a list in input order; returns every output."""
        return self.module.run(inputs)

    def benchmark(
        self,
        inputs: Mapping[str, Any] | Sequence[Any],
        repeat: int = 10,
        number: int = 1,
        warmup: int = 1,
    ) -> dict[str, float]:
        """Milliseconds per call over ``repeat`` rounds: median/mean/min/max/std."""
        return self.module.benchmark(inputs, repeat=repeat, number=number, warmup=warmup)

    @property
    def profiling(self) -> bool:
        """Whether the module was built with ``profile=True``."""
        return self.module.profiling

    def profile(
        self, inputs: Mapping[str, Any] | Sequence[Any], repeat: int = 10, warmup: int = 1
    ) -> ProfileReport:
        """Per-kernel times over ``repeat`` runs (needs ``build(..., profile=True)``);
        ``print(report)`` shows the table, ``report.rows`` holds the numbers."""
        return self.module.profile(inputs, repeat=repeat, warmup=warmup)

    # -- exporting and inspecting --------------------------------------------------------
    def export_library(self, path: str | os.PathLike[str]) -> str:
        """Write a shared library that ``xtvm.runtime.load`` opens; returns its path.
        A ``.tar`` path writes a package instead: the library, ``metadata.json`` and the
        relay source (:mod:`xtvm.driver.package`).

        Links the object the JIT loaded: no code is generated again."""
        from xtvm.backends.llvm import export_library

        if os.fspath(path).lower().endswith(".tar"):
            from xtvm.driver.package import export_package

            return export_package(self, path)

        code = self._object_code if self._object_code is not None else self.ir_module
        return export_library(code, self.target, self.metadata, path)

    def export_bundle(self, folder: str | os.PathLike[str], name: str = "model") -> Bundle:
        """Write a static bundle into ``folder`` for linking into a C program with no
        dynamic loading: ``lib<name>.a``, ``<name>.h`` and ``xtvm_runtime.h``
        (:mod:`xtvm.backends.llvm.bundle`). Returns a ``Bundle`` whose ``link_line`` says
        how to link it."""
        from xtvm.backends.llvm.bundle import export_bundle
        from xtvm.backends.llvm.jit import compile_object

        obj = self._object_code
        if obj is None:
            obj = compile_object(self.ir_module, self.target, self.metadata)[0]
        return export_bundle(obj, self.target, self.metadata, os.fspath(folder), name)

    def get_source(self, level: str = "llvm") -> str:
        """The program at ``level``: "relay", "te", "tir", "llvm" (xDSL IR as each stage left
        it), "ll" (LLVM IR before optimization) or "asm" (optimized native assembly)."""
        if level == "ll":
            return str(self.ir_module)
        if level == "asm":
            from xtvm.backends.llvm import emit_assembly

            return emit_assembly(str(self.ir_module), self.target)
        if level not in SOURCE_LEVELS:
            raise XTVMError(f"unknown source level {level!r}; expected one of {SOURCE_LEVELS}")
        if level not in self._sources:
            self._ensure_ir(level)
        if level not in self._sources:
            raise XTVMError(f"no {level} IR was kept for this module (its pipeline skips it)")
        source = self._sources[level]
        if not isinstance(source, str):
            source = self._sources[level] = str(source)  # print once, on demand
        return source

    def pass_timing_report(self) -> str:
        """The build cache's verdict, one line per stage with its wall time, then the total
        (for ``--time-passes``)."""
        width = max((len(n) for n, _ in self.time_passes), default=5)
        lines = [f"build cache: {self.cache_status}"]
        lines += [f"{name:<{width}}  {sec * 1000:10.2f} ms" for name, sec in self.time_passes]
        total = sum(sec for _, sec in self.time_passes)
        lines.append(f"{'total':<{width}}  {total * 1000:10.2f} ms")
        return "\n".join(lines)

    def __repr__(self) -> str:
        ins = ", ".join(f"{i['name']}: {i['dtype']}{list(i['shape'])}" for i in self.input_info)
        outs = ", ".join(f"{o['dtype']}{list(o['shape'])}" for o in self.output_info)
        cpu = getattr(self.target, "cpu", None)
        foreign = not getattr(self.target, "is_host", True)  # cross-compiled: name the triple
        where = f"llvm -mcpu={cpu}" if cpu and not foreign else str(self.target)
        return f"<xtvm.CompiledModule ({ins}) -> ({outs}) for '{where}'>"
