"""Graph plumbing: Identity, Constant, Dropout (inference: identity)."""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import NodeProto, numpy_helper
from xdsl.ir import SSAValue

from xtvm.dialects import relay
from xtvm.frontend.onnx.context import ConversionContext
from xtvm.frontend.onnx.registry import converter


@converter("Identity", since=1)
def identity(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    x = ins[0]
    assert x is not None
    return x


@converter("Constant", since=1)
def constant(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> SSAValue:
    if "value" in attrs:
        return ctx.constant(numpy_helper.to_array(attrs["value"]))
    if "value_float" in attrs:
        return ctx.constant(np.float32(attrs["value_float"]))
    if "value_floats" in attrs:
        return ctx.constant(np.asarray(attrs["value_floats"], dtype=np.float32))
    if "value_int" in attrs:
        return ctx.constant(np.int64(attrs["value_int"]))
    if "value_ints" in attrs:
        return ctx.constant(np.asarray(attrs["value_ints"], dtype=np.int64))
    given = ", ".join(sorted(attrs)) or "none"
    raise ctx.error(
        f"Constant needs one of value, value_float(s), value_int(s); got attribute(s) {given}"
    )


@converter("Dropout", since=1)
def dropout(
    ctx: ConversionContext, node: NodeProto, ins: list[SSAValue | None], attrs: dict[str, Any]
) -> list[SSAValue]:
    """Inference: the output is the input and the mask keeps everything (all ones: bool
    from opset 10, the input's type before; a constant the importer drops when unused)."""
    x = ins[0]
    assert x is not None
    mode = ins[2] if len(ins) > 2 else None  # opset 12+: training_mode input
    if mode is not None and bool(ctx.const_value(mode, "training_mode (input 2)").any()):
        raise ctx.error("training_mode=true is not supported (inference only)")
    dtype = np.bool_ if ctx.opset >= 10 else relay.numpy_dtype_of(relay.elt_of(x))
    return [x, ctx.emit(relay.ConstantOp.from_numpy(np.ones(relay.shape_of(x), dtype)))]
