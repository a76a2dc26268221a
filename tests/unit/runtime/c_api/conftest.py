"""The C runtime built as a shared library, driven through ctypes: the API's checks and the
metadata parser are tested in-process, with Python functions standing in for xtvm_main."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import pytest
from c_api_types import declare

from xtvm.backends.llvm.toolchain import c_compiler
from xtvm.runtime import c_runtime_dir, c_runtime_sources


@pytest.fixture(scope="session")
def c_runtime(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """The C runtime compiled into a shared library with the system C compiler."""
    cc = c_compiler()
    if cc is None:
        pytest.skip("no C compiler: install gcc (Debian: apt-get install gcc) or set $CC")
    out = Path(tmp_path_factory.mktemp("c_runtime")) / "libxtvm_runtime.so"
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g", "-fPIC"]
    cmd += ["-shared", f"-I{c_runtime_dir()}", *c_runtime_sources(), "-o", str(out), "-ldl"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return declare(ctypes.CDLL(str(out)))
