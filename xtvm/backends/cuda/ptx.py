"""PTX from LLVM IR through llvmlite's NVPTX backend, and a ``ptxas`` check of it.

The GPU code never runs here: the driver JIT-compiles the PTX on the machine that has
the GPU. ``ptxas`` (CUDA's assembler, when installed) is the way to know without a GPU
that a module assembles for an architecture, which is what the tests rely on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xtvm.backends.llvm.target import Target
from xtvm.errors import CompileError

PTXAS_ENV = "XTVM_PTXAS"


def emit_ptx(module: ir.Module | str, target: Target) -> str:
    """PTX text of ``module`` (llvmlite IR or LLVM assembly) for the cuda ``target``,
    optimized at the target's level by LLVM's new pass manager."""
    if target.kind != "cuda":
        raise CompileError(f"emit_ptx needs a cuda target, got {target}")
    tm = target.create_target_machine(reloc="default", codemodel="default")
    try:
        parsed = llvm.parse_assembly(str(module))
        parsed.triple = target.triple
        parsed.data_layout = str(tm.target_data)
        parsed.verify()
    except RuntimeError as exc:
        raise CompileError(f"invalid NVPTX module: {_first_line(str(exc))}") from None
    if target.opt_level > 0:
        pto = llvm.create_pipeline_tuning_options(speed_level=target.opt_level)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(parsed, pb)
    return tm.emit_assembly(parsed)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def find_ptxas() -> str | None:
    """Path of ``ptxas``: ``$XTVM_PTXAS``, else the first on PATH, else None."""
    env = os.environ.get(PTXAS_ENV)
    if env:
        return env if os.access(env, os.X_OK) else None
    return shutil.which("ptxas")


def ptxas_check(ptx: str, arch: str, ptxas: str | None = None, timeout: float = 300.0) -> None:
    """Assemble ``ptx`` for ``arch`` (``sm_80``) with ptxas, discarding the output.

    A CompileError with ptxas's first message line if it refuses the code, or if ptxas
    is not installed (callers that can do without test ``find_ptxas()`` first).
    """
    tool = ptxas or find_ptxas()
    if tool is None:
        raise CompileError("ptxas not found: install the CUDA toolkit or set XTVM_PTXAS")
    with tempfile.TemporaryDirectory(prefix="xtvm-ptxas-") as tmp:
        path = os.path.join(tmp, "module.ptx")
        with open(path, "w", encoding="utf-8") as f:
            f.write(ptx)
        try:
            proc = subprocess.run(
                [tool, f"-arch={arch}", "-o", os.devnull, path],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CompileError(f"cannot run ptxas: {_first_line(str(exc))}") from None
    if proc.returncode != 0:
        message = _first_line(proc.stderr or proc.stdout).replace(path, "<ptx>")
        raise CompileError(f"ptxas -arch={arch} rejected the PTX: {message}")
