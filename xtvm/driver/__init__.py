"""The compile driver: relay module -> pass pipeline -> LLVM -> a runnable module."""

from xtvm.driver.compile import build, run_pipeline
from xtvm.driver.compiled import CompiledModule

__all__ = ["CompiledModule", "build", "run_pipeline"]
