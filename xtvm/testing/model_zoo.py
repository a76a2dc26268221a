"""A zoo of realistic model families, built in memory with onnx.helper (fixed seeds).

Each generator returns an ``onnx.ModelProto`` (opset 17) shaped like an exporter's output:
symbolic batch (and where natural spatial / sequence) dims, BatchNormalization not folded,
shape chains computed from ``Shape`` of activations. ``size="tiny"`` compiles in seconds for
tests; ``size="real"`` has realistic widths and resolutions for benchmarks.

    python -m xtvm.testing.model_zoo OUT_DIR [--size real] [--family resnet18_like ...]

writes ``<family>_<size>.onnx`` files plus the ``shape_dict`` to compile each with.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import onnx

from xtvm.testing.zoo.bert import BERT_SIZES, bert_like
from xtvm.testing.zoo.classifiers import mobilenetv2_like, resnet18_like
from xtvm.testing.zoo.detectors import dbnet_like, yolo_like
from xtvm.testing.zoo.ocr import crnn_like, svtr_like

Shapes = dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class Family:
    """A generator with the concrete input shapes to bind its symbolic dims, per size."""

    make: Callable[[str], onnx.ModelProto]
    shapes: Mapping[str, Shapes]
    symbolic: tuple[tuple[str, int, str], ...]  # (input, dim index, dim_param) left symbolic

    def shape_dict(self, size: str) -> Shapes:
        return dict(self.shapes[size])


FAMILIES: dict[str, Family] = {
    "resnet18_like": Family(
        resnet18_like,
        {"tiny": {"x": (2, 3, 32, 32)}, "real": {"x": (1, 3, 224, 224)}},
        (("x", 0, "batch"), ("x", 2, "height"), ("x", 3, "width")),
    ),
    "mobilenetv2_like": Family(
        mobilenetv2_like,
        {"tiny": {"x": (2, 3, 32, 32)}, "real": {"x": (1, 3, 224, 224)}},
        (("x", 0, "batch"), ("x", 2, "height"), ("x", 3, "width")),
    ),
    "yolo_like": Family(
        yolo_like,
        {"tiny": {"images": (2, 3, 64, 64)}, "real": {"images": (1, 3, 416, 416)}},
        (("images", 0, "batch"),),
    ),
    "dbnet_like": Family(
        dbnet_like,
        {"tiny": {"x": (1, 3, 64, 96)}, "real": {"x": (1, 3, 320, 320)}},
        (("x", 0, "batch"), ("x", 2, "height"), ("x", 3, "width")),
    ),
    "crnn_like": Family(
        crnn_like,
        {"tiny": {"x": (2, 3, 32, 16)}, "real": {"x": (1, 3, 32, 320)}},
        (("x", 0, "batch"), ("x", 3, "width")),
    ),
    "svtr_like": Family(
        svtr_like,
        {"tiny": {"x": (2, 3, 32, 64)}, "real": {"x": (1, 3, 32, 320)}},
        (("x", 0, "batch"),),
    ),
    "bert_like": Family(
        bert_like,
        {
            "tiny": {"input_ids": (2, 8), "attention_mask": (2, 8)},
            "real": {"input_ids": (1, 128), "attention_mask": (1, 128)},
        },
        (
            ("input_ids", 0, "batch"),
            ("input_ids", 1, "sequence"),
            ("attention_mask", 0, "batch"),
            ("attention_mask", 1, "sequence"),
        ),
    ),
}


def make_model(family: str, size: str = "tiny") -> onnx.ModelProto:
    """Build one zoo model (``family`` is a key of ``FAMILIES``, ``size`` "tiny" or "real")."""
    if family not in FAMILIES:
        raise KeyError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    if size not in ("tiny", "real"):
        raise ValueError(f"size must be 'tiny' or 'real', got {size!r}")
    return FAMILIES[family].make(size)


def random_inputs(family: str, size: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Random feeds for ``FAMILIES[family].shape_dict(size)``: images ~ N(0, 1); for BERT,
    token ids within the vocabulary and an attention mask that pads the tail of later rows."""
    rng = np.random.default_rng(seed)
    shapes = FAMILIES[family].shape_dict(size)
    if family == "bert_like":
        batch, seq = shapes["input_ids"]
        ids = rng.integers(0, BERT_SIZES[size][0], size=(batch, seq), dtype=np.int64)
        lengths = [seq - (i * seq) // (2 * batch) for i in range(batch)]
        mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
        return {"input_ids": ids, "attention_mask": mask}
    return {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m xtvm.testing.model_zoo", description=__doc__)
    p.add_argument("out_dir")
    p.add_argument("--size", choices=("tiny", "real"), default="tiny")
    p.add_argument("--family", action="append", choices=sorted(FAMILIES))
    args = p.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    index = {}
    for name in args.family or list(FAMILIES):
        path = os.path.join(args.out_dir, f"{name}_{args.size}.onnx")
        onnx.save(make_model(name, args.size), path)
        index[os.path.basename(path)] = FAMILIES[name].shape_dict(args.size)
        print(path)
    with open(os.path.join(args.out_dir, f"shapes_{args.size}.json"), "w") as f:
        json.dump(index, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
