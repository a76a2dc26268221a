"""Static input shapes: the model's declared dims, with symbolic ones bound from ``shape_dict``.

xtvm compiles for fixed shapes, so every input dim must end up a non-negative integer (0 makes
a zero-size tensor). Declared shapes are hints, as onnxruntime treats them: a named symbolic
dim (``dim_param``, e.g. ``batch``) bound once, through any input, is bound wherever that name
appears, but ``?``, an empty name or a missing ``dim_param`` is a fresh unknown each time
(exporters write them for "unknown", not "the same unknown"). A shape the user gives wins,
except over a fixed declared dim, 0 included (onnxruntime rejects such inputs too). A declared
output shape that disagrees with the computed one is a ``ShapeWarning``, not an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
from onnx import GraphProto, TensorProto, ValueInfoProto

from xtvm.errors import InputError, ModelError, ShapeError, ShapeWarning

Dim = int | str | None  # fixed size, symbolic name, or unknown

# dim_param spellings that mean "unknown" rather than naming a dim shared between inputs
ANONYMOUS_DIMS = frozenset({"", "?"})


# graph input element types xtvm compiles for, as numpy dtypes
INPUT_DTYPES: dict[int, np.dtype] = {
    TensorProto.FLOAT: np.dtype("float32"),
    TensorProto.INT64: np.dtype("int64"),
    TensorProto.INT32: np.dtype("int32"),
    TensorProto.INT16: np.dtype("int16"),
    TensorProto.INT8: np.dtype("int8"),
    TensorProto.BOOL: np.dtype("bool"),
    TensorProto.DOUBLE: np.dtype("float64"),
    TensorProto.UINT8: np.dtype("uint8"),
    TensorProto.UINT16: np.dtype("uint16"),
    TensorProto.UINT32: np.dtype("uint32"),
    TensorProto.UINT64: np.dtype("uint64"),
    TensorProto.FLOAT16: np.dtype("float16"),  # computed in float32: see half.py
}
try:  # numpy has no bfloat16; ml_dtypes (an onnx dependency) adds it
    import ml_dtypes

    INPUT_DTYPES[TensorProto.BFLOAT16] = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    pass


def declared_dtype(vi: ValueInfoProto) -> np.dtype:
    """The numpy dtype of a tensor input; ModelError for element types xtvm does not support."""
    if not vi.type.HasField("tensor_type"):
        raise ModelError(f"input '{vi.name}' is not a tensor; only tensor inputs are supported")
    elem = vi.type.tensor_type.elem_type
    if elem not in INPUT_DTYPES:
        name = TensorProto.DataType.Name(elem)
        raise ModelError(
            f"input '{vi.name}' has element type {name}; supported are "
            + ", ".join(TensorProto.DataType.Name(t) for t in INPUT_DTYPES)
        )
    return INPUT_DTYPES[elem]


def declared_dims(vi: ValueInfoProto) -> list[Dim] | None:
    """The declared dims of a tensor value: ints (>= 0) fixed, strs named, None unknown.

    A negative ``dim_value`` (some writers put -1) and an anonymous ``dim_param`` are unknown.
    """
    declared_dtype(vi)
    return shape_dims(vi)


def shape_dims(vi: ValueInfoProto) -> list[Dim] | None:
    """The declared dims of any tensor value, or None when it declares no shape."""
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
        return None
    dims: list[Dim] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param.strip() not in ANONYMOUS_DIMS:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dims


def _given(name: str, shape: Sequence[int]) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ShapeError(
            f"shape_dict['{name}'] must be a sequence of ints, got {shape!r}"
        ) from None
    if any(d < 0 for d in dims):
        raise ShapeError(f"shape_dict['{name}'] = {list(dims)} has a negative dim")
    return dims


def resolve_input_shapes(
    inputs: Sequence[ValueInfoProto], shape_dict: Mapping[str, Sequence[int]] | None
) -> dict[str, tuple[int, ...]]:
    """Map each graph input name to a fully static shape, or raise ShapeError/InputError."""
    given = {k: _given(k, v) for k, v in (shape_dict or {}).items()}
    names = [vi.name for vi in inputs]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InputError(
            f"shape_dict names unknown input(s) {', '.join(repr(u) for u in unknown)}; "
            f"the model's inputs are {', '.join(repr(n) for n in names) or '(none)'}"
        )
    declared = {vi.name: declared_dims(vi) for vi in inputs}

    # bind symbolic names through the inputs given explicitly
    params: dict[str, int] = {}
    for name, dims in declared.items():
        if name not in given or dims is None:
            continue
        shape = given[name]
        if len(shape) != len(dims):
            raise ShapeError(
                f"shape_dict['{name}'] has rank {len(shape)} but the model declares rank "
                f"{len(dims)} ({_show(dims)})"
            )
        for i, (d, g) in enumerate(zip(dims, shape)):
            if isinstance(d, int) and d != g:
                raise ShapeError(
                    f"shape_dict['{name}'] = {list(shape)} conflicts with the model's fixed "
                    f"dim {i} = {d}"
                )
            if isinstance(d, str):
                if params.setdefault(d, g) != g:
                    raise ShapeError(
                        f"symbolic dim '{d}' is bound to both {params[d]} and {g} "
                        f"(input '{name}', dim {i})"
                    )

    shapes: dict[str, tuple[int, ...]] = {}
    for name, dims in declared.items():
        if name in given:
            shapes[name] = given[name]
            continue
        if dims is None:
            raise ShapeError(
                f"input '{name}' declares no shape; give it with shape_dict={{'{name}': [...]}}"
            )
        resolved = [params.get(d) if isinstance(d, str) else d for d in dims]
        for i, (d, r) in enumerate(zip(dims, resolved)):
            if r is None:
                what = f"dim {i} ('{d}')" if d else f"dim {i}"
                raise ShapeError(
                    f"input '{name}' has unresolved {what} in shape {_show(dims)}; bind it with "
                    f"shape_dict={{'{name}': [...]}}"
                )
        shapes[name] = tuple(int(r) for r in resolved)  # type: ignore[arg-type]
    return shapes


def _show(dims: Sequence[Dim]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


@contextmanager
def shapes_for_checker(graph: GraphProto) -> Iterator[bool]:
    """Give graph inputs and outputs that declare no shape an empty one while the ONNX checker
    runs (it requires a shape; onnxruntime does not, and exporters omit output shapes).
    Yields whether any was missing; the model is restored afterwards."""
    missing = [
        vi
        for vi in [*graph.input, *graph.output]
        if vi.type.HasField("tensor_type") and not vi.type.tensor_type.HasField("shape")
    ]
    for vi in missing:
        vi.type.tensor_type.shape.SetInParent()
    try:
        yield bool(missing)
    finally:
        for vi in missing:
            vi.type.tensor_type.ClearField("shape")


def check_declared_outputs(outputs: Sequence[ValueInfoProto], got: Sequence[Sequence[int]]) -> None:
    """Warn (``ShapeWarning``) about graph outputs whose declared shape disagrees with the
    computed one; the computed shape is used, as in onnxruntime, since exporters often
    declare wrong output shapes (a stale batch size, a wrong rank)."""
    bad = []
    for out, shape in zip(outputs, got):
        dims = shape_dims(out)
        if dims is None:
            continue
        fixed = [d if isinstance(d, int) else None for d in dims]
        if len(fixed) != len(shape) or any(f is not None and f != g for f, g in zip(fixed, shape)):
            bad.append(f"'{out.name}' is declared {_show(dims)} but computes {list(shape)}")
    if bad:
        warnings.warn(
            "graph output shape mismatch (the computed shapes are used): " + "; ".join(bad),
            ShapeWarning,
            stacklevel=3,
        )
