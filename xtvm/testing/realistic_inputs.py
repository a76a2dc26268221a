"""Inputs that look like what real models see: a document page, a text line, speech, a file.

Uniform noise exercises every kernel but keeps activations in a narrow, unnatural range
(a detector sees no text, a VAD no speech), so a numerical difference that only shows on
real content would go unnoticed. These generators are deterministic for a seed and need
nothing but numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def page_pixels(h: int, w: int, rng: np.random.Generator, line_height: int = 24) -> np.ndarray:
    """An ``[h, w, 3]`` uint8 page: light paper, dark lines of glyph-like strokes grouped
    into words, a margin, and a little scanner noise."""
    paper = rng.integers(225, 250)
    img = np.full((h, w), paper, dtype=np.float32)
    margin = max(2, w // 16)
    y = min(max(2, line_height // 2), max(2, h - 2 - line_height))  # a crop: one line
    while y + line_height <= h - 2:
        x = margin
        glyph_h = max(3, int(line_height * rng.uniform(0.45, 0.7)))
        top = y + (line_height - glyph_h) // 2
        while x < w - margin:
            word = int(rng.integers(2, 9))
            for _ in range(word):
                gw = int(rng.integers(max(2, glyph_h // 3), max(3, glyph_h)))
                if x + gw >= w - margin:
                    break
                ink = rng.integers(10, 70)
                stroke = max(1, glyph_h // 7)
                img[top : top + glyph_h, x : x + stroke] = ink  # a vertical stem
                if rng.random() < 0.6:
                    img[top : top + stroke, x : x + gw] = ink  # a bar on top
                if rng.random() < 0.5:
                    row = top + glyph_h - stroke
                    img[row : row + stroke, x : x + gw] = ink  # a bar below
                x += gw + max(1, glyph_h // 6)
            x += glyph_h  # the space between words
        y += int(line_height * rng.uniform(1.3, 2.0))
    img += rng.normal(0.0, 3.0, img.shape)
    rgb = np.stack([img * t for t in rng.uniform(0.97, 1.0, 3)], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def to_nchw(pixels: np.ndarray, norm: str) -> np.ndarray:
    """``[h, w, 3]`` uint8 to a ``[1, 3, h, w]`` float32 batch, normalized the way the
    model's own preprocessing does: ``imagenet`` (mean/std), ``half`` ((x - 0.5) / 0.5,
    PaddleOCR's recognizers and classifiers) or ``unit`` ([0, 1])."""
    x = pixels.astype(np.float32) / 255.0
    if norm == "imagenet":
        x = (x - IMAGENET_MEAN) / IMAGENET_STD
    elif norm == "half":
        x = (x - 0.5) / 0.5
    elif norm != "unit":
        raise ValueError(f"unknown normalization {norm!r}")
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))


def speech(samples: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Speech-like audio in [-1, 1]: voiced syllables (a gliding pitch of 90-250 Hz with
    decaying harmonics under a 3-6 Hz envelope) between pauses, over faint noise."""
    t = np.arange(samples) / rate
    out = rng.normal(0.0, 0.003, samples)
    start = 0
    while start < samples:
        length = int(rate * rng.uniform(0.15, 0.45))
        end = min(samples, start + length)
        seg = t[start:end] - t[start]
        f0 = rng.uniform(90, 250) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 3) * seg))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voice = sum(np.sin(k * phase) / k**1.3 for k in range(1, 9))
        envelope = np.sin(np.pi * seg / max(seg[-1], 1e-3)) ** 2 if len(seg) > 1 else seg
        out[start:end] += rng.uniform(0.1, 0.35) * envelope * voice / 2.5
        start = end + int(rate * rng.uniform(0.05, 0.3))  # a pause
    return np.clip(out, -1, 1).astype(np.float32)


def vad_chunks(audio: np.ndarray, chunk: int, context: int) -> list[np.ndarray]:
    """The ``[1, context + chunk]`` windows Silero VAD's own wrapper feeds: each chunk
    with the last ``context`` samples before it (zeros before the first)."""
    padded = np.concatenate([np.zeros(context, np.float32), audio])
    return [
        padded[i : i + context + chunk][None].copy()
        for i in range(0, len(audio) - chunk + 1, chunk)
    ]


def file_bytes(data: bytes, beg: int = 1024, end: int = 1024, padding: int = 256) -> np.ndarray:
    """magika's features of a file: its first ``beg`` and last ``end`` bytes after stripping
    leading and trailing whitespace, padded with the ``padding`` token, as ``[1, beg+end]``
    int32."""
    content = data.strip()
    head = list(content[:beg]) + [padding] * max(0, beg - len(content))
    tail_bytes = content[-end:] if end else b""
    tail = [padding] * max(0, end - len(tail_bytes)) + list(tail_bytes)
    return np.array([head + tail], dtype=np.int32)


def sample_file() -> bytes:
    """A real text file that every installation has: this module's own source."""
    return Path(__file__).read_bytes()
