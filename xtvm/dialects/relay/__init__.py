"""The ``relay`` dialect: xtvm's graph language.

Ops take and return builtin ranked tensors. Every op infers its result type from its operands
and attributes (``infer_type``); the verifier checks the declared result type against that, so
a graph that verifies has consistent shapes everywhere. Layouts follow ONNX/TVM defaults:
NCHW activations, OIHW convolution weights. A graph is a ``func.func`` over tensors; fused
groups are ``relay.fused`` ops whose region holds the fused ops.
"""

from xdsl.ir import Dialect

from xtvm.dialects.relay.base import (
    ConstantOp,
    RelayOp,
    broadcast_shapes,
    dense_to_numpy,
    element_type_of,
    elt_of,
    i64_array,
    numpy_dtype_of,
    shape_of,
    tensor_type,
)
from xtvm.dialects.relay.elementwise import (
    AddOp,
    BinaryOp,
    ClipOp,
    DivideOp,
    ExpOp,
    MaximumOp,
    MinimumOp,
    MultiplyOp,
    ReluOp,
    SigmoidOp,
    SubtractOp,
    TanhOp,
    UnaryOp,
)
from xtvm.dialects.relay.fused import FusedOp, YieldOp
from xtvm.dialects.relay.nn import (
    AvgPool2dOp,
    BatchMatmulOp,
    BatchNormOp,
    Conv2dOp,
    DenseOp,
    GlobalAvgPool2dOp,
    MaxPool2dOp,
    Pool2dOp,
    SoftmaxOp,
)
from xtvm.dialects.relay.transform import (
    ConcatenateOp,
    FlattenOp,
    ReshapeOp,
    StridedSliceOp,
    TransposeOp,
)

Relay = Dialect(
    "relay",
    [
        ConstantOp,
        AddOp,
        SubtractOp,
        MultiplyOp,
        DivideOp,
        MaximumOp,
        MinimumOp,
        ReluOp,
        SigmoidOp,
        TanhOp,
        ExpOp,
        ClipOp,
        Conv2dOp,
        DenseOp,
        BatchMatmulOp,
        MaxPool2dOp,
        AvgPool2dOp,
        GlobalAvgPool2dOp,
        BatchNormOp,
        SoftmaxOp,
        ReshapeOp,
        FlattenOp,
        TransposeOp,
        ConcatenateOp,
        StridedSliceOp,
        FusedOp,
        YieldOp,
    ],
    [],
)

__all__ = [
    "Relay",
    "RelayOp",
    "ConstantOp",
    "BinaryOp",
    "UnaryOp",
    "AddOp",
    "SubtractOp",
    "MultiplyOp",
    "DivideOp",
    "MaximumOp",
    "MinimumOp",
    "ReluOp",
    "SigmoidOp",
    "TanhOp",
    "ExpOp",
    "ClipOp",
    "Conv2dOp",
    "DenseOp",
    "BatchMatmulOp",
    "Pool2dOp",
    "MaxPool2dOp",
    "AvgPool2dOp",
    "GlobalAvgPool2dOp",
    "BatchNormOp",
    "SoftmaxOp",
    "ReshapeOp",
    "FlattenOp",
    "TransposeOp",
    "ConcatenateOp",
    "StridedSliceOp",
    "FusedOp",
    "YieldOp",
    "broadcast_shapes",
    "dense_to_numpy",
    "element_type_of",
    "elt_of",
    "i64_array",
    "numpy_dtype_of",
    "shape_of",
    "tensor_type",
]
