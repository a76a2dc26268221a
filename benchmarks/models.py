"""Model benchmarks: the model families of ``xtvm.testing.model_zoo`` at realistic sizes
(224 px classifiers, 416 px YOLO, 320 px DBNet, 32x320 OCR, BERT-base at sequence 128)."""

from __future__ import annotations

from collections.abc import Iterator

from xtvm.testing import model_zoo


def model_cases(quick: bool = False) -> Iterator[tuple[str, tuple]]:
    """(name, (model, inputs, flops, numpy_fn, shape_dict)) per family; FLOPs are not counted
    for whole models (0), so their rows report latency and ratios only."""
    size = "tiny" if quick else "real"
    for name, fam in model_zoo.FAMILIES.items():
        model = model_zoo.make_model(name, size)
        inputs = model_zoo.random_inputs(name, size)
        yield name, (model, inputs, 0.0, None, fam.shape_dict(size))
