"""Output comparison with the ONNX backend test runner's rules, reported in one line.

Same count, same shape, same dtype, then ``|actual - expected| <= atol + rtol * |expected|``
elementwise (``np.testing.assert_allclose`` semantics, NaN equal to NaN); booleans and
other non-numeric outputs must be exactly equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _extended_float(dtype: np.dtype) -> bool:
    """bfloat16 and float8 types (ml_dtypes): numpy kind 'V', so not caught by kind 'f'."""
    return dtype.kind == "V" and "float" in dtype.name


def compare_outputs(
    expected: Sequence[np.ndarray],
    actual: Sequence[np.ndarray],
    rtol: float,
    atol: float,
    names: Sequence[str] = (),
) -> str | None:
    """None when ``actual`` matches ``expected``, else what differs first."""
    if len(actual) != len(expected):
        return f"{len(actual)} outputs, expected {len(expected)}"
    for i, (exp, got) in enumerate(zip(expected, actual)):
        exp, got = np.asarray(exp), np.asarray(got)
        label = f"output {i}" + (f" '{names[i]}'" if i < len(names) else "")
        if got.shape != exp.shape:
            return f"{label}: shape {got.shape}, expected {exp.shape}"
        if got.dtype != exp.dtype:
            return f"{label}: dtype {got.dtype}, expected {exp.dtype}"
        if _extended_float(exp.dtype):  # compare the values; NaN equals NaN there too
            exp, got = exp.astype(np.float32), got.astype(np.float32)
        if exp.dtype.kind in "fc":
            ok = np.isclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        elif exp.dtype.kind in "iu":
            diff = np.abs(got.astype(np.float64) - exp.astype(np.float64))
            ok = diff <= atol + rtol * np.abs(exp.astype(np.float64))
        else:
            ok = got == exp
        bad = int(np.size(ok) - np.count_nonzero(ok))
        if bad:
            where = np.unravel_index(int(np.argmin(np.ravel(ok))), exp.shape) if exp.ndim else ()
            detail = f"at {tuple(int(w) for w in where)} got {got[where].item()!r}, expected {exp[where].item()!r}"
            if exp.dtype.kind in "fiu":
                with np.errstate(invalid="ignore", over="ignore"):
                    err = np.abs(got.astype(np.float64) - exp.astype(np.float64))
                finite = err[np.isfinite(err)]
                if finite.size:
                    detail += f", max abs err {float(finite.max()):.3g}"
            return f"{label}: {bad}/{exp.size} elements differ ({detail}; rtol {rtol:g}, atol {atol:g})"
    return None
