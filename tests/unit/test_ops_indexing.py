"""Indexing and shape ops (Slice, Split, Gather, GatherElements, ScatterND, Squeeze,
Unsqueeze, Expand, Tile, Shape, Size, Range, ConstantOfShape) and shape-chain folding:
compiled xtvm output equals onnxruntime's. Cases share models so each opset compiles once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

import xtvm
from xtvm.dialects import relay
from xtvm.errors import ModelError
from xtvm.passes.relay.evaluate import evaluate_function

RNG = np.random.default_rng(7)
INT_MAX = np.iinfo(np.int64).max
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def const(name: str, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def make_model(nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s[0] if s else None) for n, t, *s in outputs],
        list(inits),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return onnx.shape_inference.infer_shapes(model)  # declares the output shapes


def check(model, feeds: Mapping[str, np.ndarray], shapes=None) -> ModuleOp:
    """Compile with xtvm, run, and compare every output with onnxruntime's."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, dict(feeds))
    for out, w in zip(model.graph.output, want):  # declare the shapes onnxruntime computed
        dims = out.type.tensor_type.shape.dim
        del dims[:]
        out.type.tensor_type.shape.SetInParent()
        for n in w.shape:
            dims.add().dim_value = n
    mod = xtvm.from_onnx(model, shapes or {k: v.shape for k, v in feeds.items()})
    got = xtvm.build(mod).run(dict(feeds))
    for out, w, g in zip(model.graph.output, want, got):
        assert g.shape == w.shape, out.name
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=out.name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=out.name)
    return mod


def relay_ops(mod: ModuleOp) -> list[str]:
    return [op.name for op in mod.walk() if op.name.startswith("relay.")]


def x_input(shape: Sequence[int], name: str = "x"):
    return (name, F, list(shape))


# ----------------------------------------------------------------------------------------------
# Slice / Split
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 13])
def test_slice_variants(opset):
    specs = {  # name: (starts, ends, axes, steps)
        "clamp": ([1, -3], [INT_MAX, -1], [0, 1], None),
        "neg_step_to_start": ([-1], [-INT_MAX], [2], [-2]),
        "neg_step_clamped": ([100], [-100], [1], [-3]),
        "default_axes": ([0, 2, 1], [4, 8, 6], None, None),
        "neg_axis": ([1], [1000], [-1], [2]),
    }
    nodes, inits = [], []
    for name, (st, en, ax, sp) in specs.items():
        ins = ["x", f"{name}_s", f"{name}_e"]
        inits += [const(f"{name}_s", st), const(f"{name}_e", en)]
        if ax is not None or sp is not None:
            ins.append(f"{name}_a")
            inits.append(const(f"{name}_a", ax if ax is not None else range(len(st))))
        if sp is not None:
            ins.append(f"{name}_p")
            inits.append(const(f"{name}_p", sp))
        nodes.append(helper.make_node("Slice", ins, [name]))
    model = make_model(nodes, [x_input((4, 10, 6))], [(n, F) for n in specs], inits, opset)
    mod = check(model, {"x": RNG.standard_normal((4, 10, 6)).astype(np.float32)})
    assert set(relay_ops(mod)) == {"relay.strided_slice"}


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_split_variants(opset):
    x = RNG.standard_normal((3, 10)).astype(np.float32)
    outs = ["a", "b", "c"]
    inits = []
    if opset == 11:
        nodes = [
            helper.make_node("Split", ["x"], outs, axis=1, split=[2, 3, 5]),
            helper.make_node("Split", ["x"], ["p", "q", "r"], axis=0),  # equal parts
        ]
        outs += ["p", "q", "r"]
    elif opset == 13:
        inits = [const("sizes", [6, 4])]
        nodes = [helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=-1)]
        outs = ["a", "b"]
    else:  # num_outputs: the last piece is smaller
        nodes = [helper.make_node("Split", ["x"], outs, axis=1, num_outputs=3)]
    model = make_model(nodes, [x_input(x.shape)], [(n, F) for n in outs], inits, opset)
    check(model, {"x": x})


# ----------------------------------------------------------------------------------------------
# Gather / GatherElements / ScatterND
# ----------------------------------------------------------------------------------------------


def test_gather_and_scatter_with_constant_and_runtime_indices():
    x = RNG.standard_normal((5, 6, 4)).astype(np.float32)
    idx = np.array([[0, -1, 3], [5, 2, -6]], np.int64)
    ge_idx = RNG.integers(-6, 6, size=(5, 2, 4)).astype(np.int64)
    upd = RNG.standard_normal((2, 4)).astype(np.float32)
    sidx = np.array([[4, 1], [0, -2]], np.int64)
    inits = [
        const("scalar", -2),
        const("strided", [0, 2, 4]),
        const("scattered", [[3, -1], [0, 0]]),
        const("ge_const", RNG.integers(-4, 4, size=(5, 6, 3))),
        const("nd_const", [[1, 5], [1, 5], [3, 0]]),  # duplicate: the last update wins
        const("nd_upd", RNG.standard_normal((3, 4)), np.float32),
    ]
    nodes = [
        helper.make_node("Gather", ["x", "scalar"], ["g_scalar"], axis=1),
        helper.make_node("Gather", ["x", "strided"], ["g_strided"], axis=0),
        helper.make_node("Gather", ["x", "scattered"], ["g_take"], axis=2),
        helper.make_node("Gather", ["x", "idx"], ["g_runtime"], axis=1),
        helper.make_node("GatherElements", ["x", "ge_const"], ["ge_c"], axis=2),
        helper.make_node("GatherElements", ["x", "ge_idx"], ["ge_r"], axis=1),
        helper.make_node("ScatterND", ["x", "sidx", "upd"], ["sc_runtime"]),
        helper.make_node("ScatterND", ["x", "nd_const", "nd_upd"], ["sc_const"]),
    ]
    inputs = [
        x_input(x.shape),
        ("idx", I64, list(idx.shape)),
        ("ge_idx", I64, list(ge_idx.shape)),
        ("upd", F, list(upd.shape)),
        ("sidx", I64, list(sidx.shape)),
    ]
    outs = ["g_scalar", "g_strided", "g_take", "g_runtime", "ge_c", "ge_r", "sc_runtime"]
    outs.append("sc_const")
    model = make_model(nodes, inputs, [(n, F) for n in outs], inits)
    feeds = {"x": x, "idx": idx, "ge_idx": ge_idx, "upd": upd, "sidx": sidx}
    mod = check(model, feeds)
    ops = relay_ops(mod)
    # a scalar index and a strided index list are views, not index loads
    assert ops.count("relay.take") == 2 and ops.count("relay.strided_slice") == 2


def test_scatter_nd_reductions():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    upd = RNG.standard_normal((3, 3)).astype(np.float32)
    inits = [const("i", [[1], [3], [1]])]
    kinds = ["add", "mul", "max", "min"]
    nodes = [helper.make_node("ScatterND", ["x", "i", "u"], [k], reduction=k) for k in kinds]
    inputs = [x_input(x.shape), ("u", F, list(upd.shape))]
    model = make_model(nodes, inputs, [(k, F) for k in kinds], inits, opset=18)
    check(model, {"x": x, "u": upd})


def test_gather_nd_and_scatter_elements():
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    nd_idx = np.array([[[1, -1]], [[0, 4]], [[3, 2]]], np.int64)  # batch_dims=1: (3, 1, 2)
    se_idx = np.array([[[0, 3, 3]], [[-1, 1, 0]], [[2, 2, 2]]], np.int64)  # (3, 1, 3), axis 1
    upd = RNG.standard_normal((3, 1, 3)).astype(np.float32)
    inits = [const("nd_c", [[2, 0], [-1, 3]])]
    nodes = [
        helper.make_node("GatherND", ["x", "nd_c"], ["nd0"]),
        helper.make_node("GatherND", ["x", "nd_i"], ["nd1"], batch_dims=1),
        helper.make_node("ScatterElements", ["x", "se_i", "u"], ["se"], axis=1),
        helper.make_node(
            "ScatterElements", ["x", "se_i", "u"], ["se_add"], axis=1, reduction="add"
        ),
    ]
    inputs = [x_input(x.shape), ("nd_i", I64, [3, 1, 2]), ("se_i", I64, [3, 1, 3])]
    inputs.append(("u", F, [3, 1, 3]))
    outs = [(n, F) for n in ("nd0", "nd1", "se", "se_add")]
    model = make_model(nodes, inputs, outs, inits, opset=18)
    check(model, {"x": x, "nd_i": nd_idx, "se_i": se_idx, "u": upd})


def test_runtime_indices_out_of_range_are_clamped():
    """ONNX leaves them undefined; the compiled code matches the evaluator (no OOB reads)."""
    model = make_model(
        [helper.make_node("Gather", ["x", "i"], ["y"], axis=0)],
        [x_input((4, 3)), ("i", I64, [3])],
        [("y", F)],
    )
    mod = xtvm.from_onnx(model, {})
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    i = np.array([9, -9, 2], np.int64)
    main = next(op for op in mod.walk() if isinstance(op, func.FuncOp))
    want = evaluate_function(main, [x, i])[0]
    np.testing.assert_array_equal(want, x[[3, 0, 2]])
    np.testing.assert_array_equal(xtvm.build(mod).run({"x": x, "i": i})[0], want)


# ----------------------------------------------------------------------------------------------
# Squeeze / Unsqueeze / Expand / Tile / shape-valued ops
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [11, 15])
def test_shape_ops(opset):
    x = RNG.standard_normal((3, 1, 4)).astype(np.float32)
    inits = [const("shape", [2, 1, 1, 4]), const("reps", [2, 1, 3])]
    if opset < 13:
        axes_nodes = [
            helper.make_node("Squeeze", ["x"], ["sq"], axes=[-2]),
            helper.make_node("Unsqueeze", ["x"], ["usq"], axes=[0, -1]),
        ]
    else:
        inits += [const("sq_axes", [1]), const("usq_axes", [3, 0])]
        axes_nodes = [
            helper.make_node("Squeeze", ["x", "sq_axes"], ["sq"]),
            helper.make_node("Unsqueeze", ["x", "usq_axes"], ["usq"]),
        ]
    inits += [const("r0", 1), const("r1", 10), const("r2", 3)]
    inits += [const("f0", 0.5, np.float32), const("f1", -1.0, np.float32)]
    inits += [const("f2", -0.4, np.float32)]
    shape_attrs = {"start": 1, "end": -1} if opset >= 15 else {}
    nodes = axes_nodes + [
        helper.make_node("Squeeze", ["x"], ["sq_all"]),
        helper.make_node("Expand", ["x", "shape"], ["ex"]),
        helper.make_node("Tile", ["x", "reps"], ["ti"]),
        helper.make_node("Shape", ["x"], ["sh"], **shape_attrs),
        helper.make_node("Identity", ["sh"], ["sh_id"]),
        helper.make_node("Size", ["x"], ["sz"]),
        helper.make_node("Range", ["r0", "r1", "r2"], ["rg_i"]),
        helper.make_node("Range", ["f0", "f1", "f2"], ["rg_f"]),
        helper.make_node(
            "ConstantOfShape",
            ["shape"],
            ["cos_i"],
            value=numpy_helper.from_array(np.array([7], np.int64)),
        ),
        helper.make_node("ConstantOfShape", ["reps"], ["cos_f"]),
    ]
    outs = [("sq", F), ("usq", F), ("sq_all", F), ("ex", F), ("ti", F), ("sh_id", I64)]
    outs += [("sz", I64), ("rg_i", I64), ("rg_f", F), ("cos_i", I64), ("cos_f", F)]
    model = make_model(nodes, [x_input(x.shape)], outs, inits, opset)
    check(model, {"x": x})


# ----------------------------------------------------------------------------------------------
# shape chains as exporters write them: they fold to constants during import
# ----------------------------------------------------------------------------------------------


def test_pytorch_shape_chains_fold_with_symbolic_batch():
    inits = [
        const("zero", 0),
        const("two", 2),
        const("three", 3),
        const("ax0", [0]),
        const("minus1", [-1]),
        const("sl_s", [0]),
        const("sl_e", [2]),
    ]
    nodes = [
        # x.view(x.size(0), -1)
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["b"], axis=0),
        helper.make_node("Unsqueeze", ["b", "ax0"], ["b1"]),
        helper.make_node("Concat", ["b1", "minus1"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", ["x", "flat_shape"], ["flat"]),
        # x.reshape(b, -1, h * w)
        helper.make_node("Gather", ["s", "two"], ["h"], axis=0),
        helper.make_node("Gather", ["s", "three"], ["w"], axis=0),
        helper.make_node("Mul", ["h", "w"], ["hw"]),
        helper.make_node("Unsqueeze", ["hw", "ax0"], ["hw1"]),
        helper.make_node("Concat", ["b1", "minus1", "hw1"], ["bhw_shape"], axis=0),
        helper.make_node("Reshape", ["x", "bhw_shape"], ["bhw"]),
        # Shape -> Slice -> Concat -> Reshape
        helper.make_node("Slice", ["s", "sl_s", "sl_e"], ["s01"]),
        helper.make_node("Concat", ["s01", "minus1"], ["nc_shape"], axis=0),
        helper.make_node("Reshape", ["x", "nc_shape"], ["nc"]),
        # ConstantOfShape(Shape(x)) and Expand(y, Shape(x))
        helper.make_node(
            "ConstantOfShape", ["s"], ["ones"], value=helper.make_tensor("v", F, [1], [1.0])
        ),
        helper.make_node("Add", ["x", "ones"], ["x1"]),
        helper.make_node("Expand", ["y", "s"], ["ey"]),
        helper.make_node("Mul", ["x1", "ey"], ["prod"]),
    ]
    inputs = [x_input(["N", 3, 4, 5]), ("y", F, [1, 3, 1, 5])]
    outs = [("flat", F), ("bhw", F), ("nc", F), ("prod", F)]
    model = make_model(nodes, inputs, outs, inits)
    x = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    y = RNG.standard_normal((1, 3, 1, 5)).astype(np.float32)
    mod = check(model, {"x": x, "y": y}, shapes={"x": (2, 3, 4, 5)})
    ops = set(relay_ops(mod))
    assert ops <= {
        "relay.reshape",
        "relay.constant",
        "relay.add",
        "relay.broadcast_to",
        "relay.multiply",
    }, ops


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------


def _one_node(node, x_shape=(4, 6), extra_inputs=(), inits=(), opset=13, out_type=F):
    return make_model(
        [node], [x_input(x_shape), *extra_inputs], [(node.output[0], out_type, [1])], inits, opset
    )


@pytest.mark.parametrize(
    "model,pattern",
    [
        (
            _one_node(
                helper.make_node("Slice", ["x", "s", "e"], ["y"], name="sl"),
                extra_inputs=[("s", I64, [1])],
                inits=[const("e", [2])],
            ),
            r"'sl' \(Slice\): starts \(input 1\) must be a constant",
        ),
        (
            _one_node(
                helper.make_node("Squeeze", ["x", "a"], ["y"], name="sq"), inits=[const("a", [1])]
            ),
            r"'sq' \(Squeeze\): cannot squeeze dim 1",
        ),
        (
            _one_node(
                helper.make_node("ScatterND", ["x", "i", "x2"], ["y"], name="sc", reduction="xor"),
                extra_inputs=[("x2", F, [6])],
                inits=[const("i", [[9]])],
                opset=18,
            ),
            r"'sc' \(ScatterND\): attribute reduction='xor' is not supported",
        ),
        (
            _one_node(
                helper.make_node("Gather", ["x", "i"], ["y"], name="ga"), inits=[const("i", [4])]
            ),
            r"'ga' \(Gather\): indices \(input 1\) holds 4, outside \[-4, 3\]",
        ),
        (
            _one_node(helper.make_node("Split", ["x"], ["a", "b", "c"], name="sp", axis=0)),
            r"'sp' \(Split\): cannot split a dim of 4 into 3",
        ),
    ],
    ids=[
        "slice-runtime-starts",
        "squeeze-non-1",
        "scatter-reduction",
        "gather-range",
        "split-uneven",
    ],
)
def test_errors_name_the_node(model, pattern):
    with pytest.raises(ModelError, match=pattern):
        xtvm.from_onnx(model, {})


def test_relay_ops_verify_shapes():
    data = relay.ConstantOp.from_numpy(np.zeros((2, 3), np.float32))
    bad = relay.ConstantOp.from_numpy(np.zeros((2,), np.float32))
    with pytest.raises(Exception, match="must be an i32 or i64 tensor"):
        relay.TakeOp(data.result, bad.result, 0)
    with pytest.raises(Exception, match="cannot broadcast"):
        relay.BroadcastToOp(data.result, [3, 3]).verify()
