"""Run every ``tests/filecheck/**/*.mlir`` through lit, one pytest test per file.

This keeps a single test runner (pytest) while the .mlir files stay plain lit tests
(``lit -v tests/filecheck/<path>`` runs one by hand).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent / "filecheck"
FILES = sorted(p for p in ROOT.rglob("*.mlir") if "Inputs" not in p.relative_to(ROOT).parts)
LIT = "import sys; from lit.main import main; sys.argv[0] = 'lit'; main()"


def _env() -> dict[str, str]:
    # xtvm-opt and filecheck must be the ones installed next to this interpreter
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_filecheck(path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LIT, "-v", "-j1", str(path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert proc.returncode == 0, f"lit failed on {path}:\n{proc.stdout}\n{proc.stderr}"
