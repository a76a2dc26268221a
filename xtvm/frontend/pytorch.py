"""``from_pytorch``: a ``torch.nn.Module`` -> relay, by way of an in-memory ONNX export.

torch is an optional dependency (``pip install torch``, or the ``xtvm[torch]`` extra) and is
imported only when this function is called. The module is exported with
``torch.onnx.export(..., dynamo=False)`` (the TorchScript exporter, which needs nothing
beyond torch and onnx; torch versions whose exporter lacks the ``dynamo`` switch use their
only exporter), written to a ``BytesIO``, and imported with
:func:`xtvm.frontend.onnx.from_onnx` with input shapes taken from ``example_inputs``.
"""

from __future__ import annotations

import inspect
import io
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from xtvm.errors import ModelError, XTVMError


class MissingDependencyError(XTVMError):
    """An optional package that the requested feature needs is not installed."""


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            "from_pytorch needs PyTorch, which is not installed: pip install torch"
        ) from None
    return torch


def from_pytorch(
    module: Any,
    example_inputs: Any,
    input_names: Sequence[str] | None = None,
    opset: int = 17,
    dynamic_axes: Mapping[str, Any] | None = None,
) -> ModuleOp:
    """Export ``module`` (put in eval mode) to ONNX at ``opset`` and import it as relay.

    ``example_inputs`` is a tensor or a tuple of tensors; their shapes become the compiled
    input shapes (names ``input_names``, default ``input0``, ``input1``, ...).
    ``dynamic_axes`` is passed to the exporter; the dims it marks are bound to the example
    shapes at import, since xtvm compiles for static shapes.
    """
    torch = _import_torch()
    args = tuple(example_inputs) if isinstance(example_inputs, list | tuple) else (example_inputs,)
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise TypeError("from_pytorch: example_inputs must be a tensor or a tuple of tensors")
    names = (
        list(input_names) if input_names is not None else [f"input{i}" for i in range(len(args))]
    )
    if len(names) != len(args):
        raise ValueError(f"from_pytorch: {len(names)} input names for {len(args)} example inputs")
    kwargs: dict[str, Any] = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    if dynamic_axes is not None:
        kwargs["dynamic_axes"] = dict(dynamic_axes)
    buffer = io.BytesIO()
    was_training = getattr(module, "training", False)
    if hasattr(module, "eval"):
        module.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter is chosen on purpose; its deprecation notice is noise
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                module, args, buffer, input_names=names, opset_version=opset, **kwargs
            )
    except Exception as e:  # the exporter raises many types; report one line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"torch.onnx.export failed: {first}") from e
    finally:
        if was_training:
            module.train()
    from xtvm.frontend.onnx import from_onnx

    shapes = {n: tuple(int(d) for d in a.shape) for n, a in zip(names, args)}
    return from_onnx(buffer.getvalue(), shapes)


__all__ = ["MissingDependencyError", "from_pytorch"]
