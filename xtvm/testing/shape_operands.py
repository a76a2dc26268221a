"""Mode (b), "constant shape operands": graph inputs that only carry shapes, axes, counts or
scalar parameters become initializers holding the test's values.

Many node tests feed e.g. Reshape's ``shape`` or ReduceSum's ``axes`` as graph inputs. A
compiler that fixes shapes at compile time (xtvm does) cannot treat those as run-time data;
in a real model they are constants or fold to constants. Mode (b) measures the compiler on
that footing, and says so in the report. It is only valid when every data set of the case
uses the same values for those inputs.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from xtvm.testing.cases import Case

# op type -> input positions that are shape-like operands (shapes, axes, counts, sizes) or
# scalar parameters that shape-fixing compilers need at compile time.
SHAPE_OPERANDS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,),  # shape
    "Expand": (1,),  # shape
    "Tile": (1,),  # repeats
    "Slice": (1, 2, 3, 4),  # starts, ends, axes, steps
    "Pad": (1, 2, 3),  # pads, constant_value, axes
    "Resize": (1, 2, 3),  # roi, scales, sizes
    "Upsample": (1,),  # scales
    "Clip": (1, 2),  # min, max
    "ReduceSum": (1,),  # axes (opset 13+); every reduce takes axes as input from 18
    "ReduceMean": (1,),
    "ReduceMax": (1,),
    "ReduceMin": (1,),
    "ReduceProd": (1,),
    "ReduceL1": (1,),
    "ReduceL2": (1,),
    "ReduceLogSum": (1,),
    "ReduceLogSumExp": (1,),
    "ReduceSumSquare": (1,),
    "Squeeze": (1,),  # axes
    "Unsqueeze": (1,),  # axes
    "Split": (1,),  # split
    "TopK": (1,),  # k
    "ConstantOfShape": (0,),  # shape
    "Range": (0, 1, 2),  # start, limit, delta
    "OneHot": (1,),  # depth
    "CenterCropPad": (1,),  # shape
    "Trilu": (1,),  # k
    "CumSum": (1,),  # axis
    "CumProd": (1,),  # axis
    "Dropout": (1, 2),  # ratio, training_mode
    "NonMaxSuppression": (2, 3, 4),  # max boxes per class, iou and score thresholds
    "MaxUnpool": (2,),  # output_shape
    "Col2Im": (1, 2),  # image_shape, block_shape
    "AffineGrid": (1,),  # size
    "DFT": (1, 2),  # dft_length, axis
    "STFT": (1, 3),  # frame_step, frame_length
    "HannWindow": (0,),  # size
    "HammingWindow": (0,),
    "BlackmanWindow": (0,),
    "MelWeightMatrix": (0, 1, 2, 3, 4),  # bins, dft length, rate, lower/upper edge
}


def shape_operand_names(model: onnx.ModelProto) -> set[str]:
    """Names of ``model``'s top-level graph inputs consumed at a SHAPE_OPERANDS position."""
    graph_inputs = {v.name for v in model.graph.input}
    found: set[str] = set()
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            continue
        for pos in SHAPE_OPERANDS.get(node.op_type, ()):
            if pos < len(node.input) and node.input[pos] in graph_inputs:
                found.add(node.input[pos])
    return found


def case_shape_operands(case: Case) -> list[str]:
    """Shape-like graph inputs of ``case``, in input order.

    An ``_expanded`` case inlines the op's function body, so its shape operand may reach the
    table's ops only through intermediate nodes: it inherits the names from its single-node
    twin (graph inputs keep their names in both).
    """
    names = shape_operand_names(case.model)
    if case.base_model is not None:
        names |= shape_operand_names(case.base_model)
    return [n for n in case.input_names if n in names]


def constant_values(case: Case, names: list[str]) -> dict[str, np.ndarray] | None:
    """The single value each named input takes across the data sets, or None if they vary."""
    positions = {n: i for i, n in enumerate(case.input_names)}
    values: dict[str, np.ndarray] = {}
    for inputs, _ in case.data_sets:
        for name in names:
            arr = np.asarray(inputs[positions[name]])
            if name not in values:
                values[name] = arr
            elif arr.dtype != values[name].dtype or not np.array_equal(
                arr, values[name], equal_nan=arr.dtype.kind == "f"
            ):
                return None
    return values


def freeze_inputs(case: Case, values: dict[str, np.ndarray]) -> Case:
    """A copy of ``case`` whose inputs in ``values`` are initializers (and not graph inputs).

    IR versions before 4 require every initializer to be a graph input too; such models are
    raised to IR version 4, which changed nothing else.
    """
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    model.ir_version = max(model.ir_version, 4)
    kept = [v for v in model.graph.input if v.name not in values]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    for name, arr in values.items():
        model.graph.initializer.append(numpy_helper.from_array(arr, name))
    drop = [i for i, n in enumerate(case.input_names) if n in values]
    data_sets = [
        ([x for i, x in enumerate(inputs) if i not in drop], outputs)
        for inputs, outputs in case.data_sets
    ]
    frozen = Case(case.name, model, data_sets, case.rtol, case.atol, case.op_type)
    frozen.base_model = case.base_model
    return frozen
