"""The metadata parser under AddressSanitizer and UBSan: 200,000 mutated metadata strings,
each in a buffer of exactly its size, are parsed without a read out of bounds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from xtvm.backends.llvm.toolchain import c_compiler
from xtvm.runtime import c_runtime_dir, c_runtime_sources

HERE = Path(__file__).resolve().parent


def test_parser_is_memory_safe_on_mutated_metadata(tmp_path: Path) -> None:
    cc = c_compiler()
    if cc is None:
        pytest.skip("no C compiler: install gcc (Debian: apt-get install gcc) or set $CC")
    exe = tmp_path / "metadata_fuzz"
    flags = ["-std=c99", "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    sources = [str(HERE / "metadata_fuzz.c"), *c_runtime_sources()]
    build = subprocess.run(
        [cc, *flags, f"-I{c_runtime_dir()}", *sources, "-o", str(exe), "-ldl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if build.returncode != 0:
        pytest.skip(f"the C compiler cannot build with sanitizers: {build.stderr[:200]}")
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    ok, bad = (int(w) for w in run.stdout.split()[1::2])
    assert ok > 0 and bad > 0 and ok + bad == 200_000
