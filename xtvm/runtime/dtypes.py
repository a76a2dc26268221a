"""Element types at the runtime boundary, including the ones numpy lacks.

A model's metadata names each input/output dtype by numpy's name. ``bfloat16`` is not a
numpy type: with ``ml_dtypes`` installed (onnx depends on it) arrays are
``ml_dtypes.bfloat16``; without it they are ``uint16`` arrays of the bfloat16 bit patterns
(the upper half of the float32 bits). Either is accepted as an input when ml_dtypes is there,
and so are ``V2`` arrays (what ``np.load`` returns for a saved bfloat16 array).
"""

from __future__ import annotations

import numpy as np

BFLOAT16 = "bfloat16"


def _bfloat16() -> np.dtype | None:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - onnx installs ml_dtypes
        return None
    return np.dtype(ml_dtypes.bfloat16)


def storage_dtype(name: str) -> np.dtype:
    """The numpy dtype of arrays of metadata dtype ``name``."""
    if name == BFLOAT16:
        return _bfloat16() or np.dtype(np.uint16)
    return np.dtype(name)


def dtype_name(name: str) -> str:
    """The canonical name of a metadata dtype (numpy's, or ``bfloat16``)."""
    return BFLOAT16 if name == BFLOAT16 else np.dtype(name).name


def same_bits(arr: np.ndarray, name: str, want: np.dtype) -> np.ndarray | None:
    """``arr`` viewed as ``want`` when it holds bfloat16 bit patterns, else None: ``uint16``
    arrays, or the raw ``V2`` arrays that ``np.load`` makes of saved ml_dtypes arrays."""
    raw = arr.dtype == np.uint16 or (arr.dtype.kind == "V" and arr.dtype.itemsize == 2)
    if name == BFLOAT16 and raw and want != arr.dtype:
        return arr.view(want)
    return None
