"""Which C compiler links a foreign target's objects, and the errors when there is none."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from xtvm.backends.llvm import Target
from xtvm.backends.llvm.toolchain import (
    cross_gcc_names,
    find_toolchain,
    require_toolchain,
)
from xtvm.errors import CompileError

ARM = Target.from_string("llvm -mtriple=aarch64-unknown-linux-gnu")
RISCV = Target.from_string("llvm -mtriple=riscv64-linux-gnu")


def _fake_tools(folder: Path, *names: str) -> Path:
    """Executables named ``names`` in ``folder`` (never run: only found on PATH)."""
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def test_gcc_spellings():
    assert cross_gcc_names("aarch64-unknown-linux-gnu") == [
        "aarch64-unknown-linux-gnu-gcc",
        "aarch64-linux-gnu-gcc",
    ]
    assert cross_gcc_names("riscv64-linux-gnu") == [
        "riscv64-linux-gnu-gcc",
        "riscv64-unknown-linux-gnu-gcc",
    ]


def test_debian_spelling_found_for_unknown_vendor(tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(_fake_tools(tmp_path, "aarch64-linux-gnu-gcc", "clang")))
    found = find_toolchain(ARM)
    assert found is not None and found.cc == str(tmp_path / "aarch64-linux-gnu-gcc")
    assert found.flags == ()


def test_clang_with_target_flag(tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(_fake_tools(tmp_path, "clang", "cc")))
    found = find_toolchain(RISCV)
    assert found is not None and found.cc == str(tmp_path / "clang")
    assert found.command("-shared") == [
        str(tmp_path / "clang"),
        "--target=riscv64-linux-gnu",
        "-shared",
    ]


def test_cc_is_trusted(tmp_path, monkeypatch):
    _fake_tools(tmp_path, "my-cross-cc", "aarch64-linux-gnu-gcc")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CC", "my-cross-cc")
    assert find_toolchain(ARM).cc == str(tmp_path / "my-cross-cc")
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(CompileError, match=r"\$CC='no-such-cc' is not found"):
        require_toolchain(ARM)


@pytest.mark.parametrize(
    ("target", "package"), [(ARM, "gcc-aarch64-linux-gnu"), (RISCV, "gcc-riscv64-linux-gnu")]
)
def test_missing_toolchain_names_the_package(tmp_path, monkeypatch, target, package):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(_fake_tools(tmp_path, "cc", "gcc")))  # host tools only
    with pytest.raises(CompileError) as err:
        require_toolchain(target)
    msg = str(err.value)
    assert package in msg and "$CC" in msg and target.triple in msg and "\n" not in msg


def test_host_keeps_the_system_compiler(tmp_path, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(_fake_tools(tmp_path, "cc", "aarch64-linux-gnu-gcc")))
    assert find_toolchain(Target.host()).cc == str(tmp_path / "cc")
    assert find_toolchain(None).cc == str(tmp_path / "cc")
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(CompileError, match="no C compiler found"):
        require_toolchain(None)


def test_gomp_without_dev_link_falls_back_to_the_runtime(tmp_path, monkeypatch):
    """A sysroot with libgomp.so.1 but no libgomp.so: -lgomp fails, -l:libgomp.so.1 links."""
    from xtvm.backends.llvm.export import link_shared

    log = tmp_path / "calls.txt"
    fake = tmp_path / "aarch64-linux-gnu-gcc"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        'for a in "$@"; do [ "$a" = -lgomp ] && { echo "ld: cannot find -lgomp" >&2; exit 1; }; done\n'
        'while [ "$1" != -o ]; do shift; done; : > "$2"\n'
    )
    fake.chmod(0o755)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    out = tmp_path / "m.so"
    link_shared(b"\x7fELF ... GOMP_parallel ...", str(out), ARM)
    calls = log.read_text().splitlines()
    assert out.exists() and len(calls) == 2
    assert calls[0].endswith("-lm -lgomp") and calls[1].endswith("-lm -l:libgomp.so.1")
