"""The on-disk cache stays under ``XTVM_CACHE_MAX_MB``, evicting least recently used files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import xtvm
from xtvm.backends.llvm.cache import ObjectCache, cache_limit_bytes, trim_cache
from xtvm.errors import InputError


def _file(path: Path, size: int, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = 1_700_000_000 - age
    os.utime(path, (t, t))
    return path


def test_trim_removes_the_least_recently_used_down_to_80_percent(tmp_path: Path) -> None:
    files = [_file(tmp_path / "objects" / f"{k}.o", 100, age=k) for k in range(10)]
    partial = _file(tmp_path / "objects" / "being-written.tmp", 500, age=100)
    assert trim_cache(tmp_path, 1000) == 0  # exactly at the limit: nothing to do
    freed = trim_cache(tmp_path, 900)  # over it: down to 720 bytes, oldest first
    assert freed == 300
    assert [f.exists() for f in files] == [True] * 7 + [False] * 3
    assert partial.exists()
    assert trim_cache(tmp_path, None) == 0


def test_a_hit_makes_an_entry_recent(tmp_path: Path) -> None:
    old = _file(tmp_path / "objects" / "a.o", 100, age=50)
    _file(tmp_path / "objects" / "b.o", 100, age=10)
    assert ObjectCache(tmp_path / "objects", "a").load() == b"x" * 100
    trim_cache(tmp_path, 150)
    assert old.exists() and not (tmp_path / "objects" / "b.o").exists()


def test_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XTVM_CACHE_MAX_MB", raising=False)
    assert cache_limit_bytes() == 2048 << 20
    monkeypatch.setenv("XTVM_CACHE_MAX_MB", "0.5")
    assert cache_limit_bytes() == 1 << 19
    monkeypatch.setenv("XTVM_CACHE_MAX_MB", "0")
    assert cache_limit_bytes() is None
    for bad in ("lots", "-1"):
        monkeypatch.setenv("XTVM_CACHE_MAX_MB", bad)
        with pytest.raises(InputError, match="XTVM_CACHE_MAX_MB"):
            cache_limit_bytes()


def test_builds_keep_the_cache_under_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_dir: Path
) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XTVM_CACHE_DIR", str(folder))
    monkeypatch.delenv("XTVM_CACHE", raising=False)
    relay = xtvm.from_onnx(str(model_dir / "resnet_block.onnx"), {"x": (1, 3, 32, 32)})
    xtvm.build(relay)
    one_build = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    limit = int(one_build * 1.5)  # room for one build, not two
    monkeypatch.setenv("XTVM_CACHE_MAX_MB", str(limit / (1 << 20)))
    xtvm.build(relay, opt_level=2, num_threads=1)  # another key: a second entry
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total <= limit
    again = xtvm.build(relay, opt_level=2, num_threads=1)  # the newest build survived
    assert again.cache_status.startswith("hit")
