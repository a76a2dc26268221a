"""Typed errors: every user-facing failure is one of these, with a one-line message.

The CLI maps them to ``error: <message>`` and a non-zero exit code instead of a traceback.
"""

from __future__ import annotations


class XTVMError(Exception):
    """Base class of every error xtvm raises on purpose."""

    exit_code = 1


class ModelError(XTVMError):
    """The model file or graph is malformed (truncated file, missing inputs, bad attributes)."""


class IncompatibleLibraryError(ModelError):
    """A compiled library cannot run on this machine: it was built for another architecture
    or for CPU features (e.g. +avx512f) this CPU lacks, so running it would crash."""


class UnsupportedOperatorError(ModelError):
    """The model uses operators (or opsets) the frontend cannot convert.

    ``unsupported`` maps each op type to the names of the nodes that use it, so that one
    error lists every problem at once.
    """

    def __init__(self, unsupported: dict[str, list[str]], opset: int | None = None):
        self.unsupported = {k: list(v) for k, v in unsupported.items()}
        parts = []
        for op_type, nodes in sorted(self.unsupported.items()):
            shown = ", ".join(repr(n) for n in nodes[:5])
            more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
            parts.append(f"{op_type} (nodes {shown}{more})")
        where = f" at opset {opset}" if opset is not None else ""
        super().__init__(f"unsupported ONNX operator(s){where}: " + "; ".join(parts))


class ShapeError(ModelError):
    """A shape could not be inferred or resolved (e.g. an unbound symbolic dim)."""


class ShapeWarning(UserWarning):
    """A shape the model declares (a graph output, a value_info) disagrees with the shape
    xtvm computes; the computed one is used, as onnxruntime does."""


class InputError(XTVMError):
    """Run-time inputs do not match the compiled signature (names, shapes, dtypes)."""


class PipelineError(XTVMError):
    """A pass pipeline string names an unknown pass or has bad options."""


class CompileError(XTVMError):
    """Lowering or code generation failed on IR that verified."""


class IRError(XTVMError):
    """IR text does not parse or does not verify."""


class TuningWarning(UserWarning):
    """Tuning records were skipped (another target or version) or did not cover every
    tunable kernel: one summary line per build or load, never one per kernel."""


class RecordsError(XTVMError):
    """A tuning-records file is missing or malformed; the message names the file and line."""


class RPCError(XTVMError):
    """A remote call failed: the connection broke or timed out, the peer spoke something
    else than the xtvm RPC protocol, the key was wrong, or the model crashed or hung in the
    server's session process (the server itself keeps serving)."""


class ForeignTargetError(XTVMError):
    """A module compiled for another CPU (a cross-compilation target) was asked to run in
    this process: it can only be exported, and run where it was compiled for."""


class DeviceError(XTVMError):
    """An accelerator could not be used: no driver (libcuda.so.1) or no device, a device
    too old for the module, or a driver call that failed (the message names the call and
    the driver's error name)."""
