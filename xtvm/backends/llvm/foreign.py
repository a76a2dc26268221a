"""Stand-in for loaded code when a build cannot run in this process.

A build for a foreign target (cross-compiling), or for CPU features this machine lacks, is
never loaded into the JIT (MCJIT cannot run aarch64 code on x86; host code for missing
features dies of SIGILL). ``ForeignModule`` keeps its signature, so the build still reports
its inputs and outputs and exports, while running it raises ``ForeignTargetError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xtvm.backends.llvm.target import Target
from xtvm.errors import ForeignTargetError
from xtvm.runtime.module import Module


class ForeignModule(Module):
    """What a build for a foreign target holds in place of loaded code: the signature
    (``input_info``, ``output_info``, ...) without an entry point. Running it raises
    ``ForeignTargetError``: the object is exported and run on the target machine."""

    def __init__(self, target: Target, metadata: dict[str, Any], missing: Sequence[str] = ()):
        super().__init__(None, {**metadata, "workspace_bytes": 0})
        self.metadata = dict(metadata)
        self.target = target
        self.missing = list(missing)  # host-architecture code needing features we lack

    def _refuse(self) -> ForeignTargetError:
        if self.missing:
            return ForeignTargetError(
                f"this module was compiled for CPU features this machine lacks: "
                f"{','.join(self.missing)}; export it (export_library) and run it on a "
                "machine that has them"
            )
        return ForeignTargetError(
            f"this module was compiled for {self.target.triple}, not for this machine: "
            "export it (export_library) and run it there, e.g. over RPC (`xtvm run --rpc`, "
            "`xtvm tune --rpc`) or with the C API"
        )

    def _bind(self, inputs: Any) -> list[Any]:
        raise self._refuse()

    def profile(self, inputs: Any, repeat: int = 10, warmup: int = 1) -> Any:
        raise self._refuse()

    def _invoke(self, arrays: list[Any]) -> list[Any]:
        raise self._refuse()
