"""ONNX frontend errors: typed, one line, and naming what the user has to fix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from xtvm.errors import (
    InputError,
    ModelError,
    ShapeError,
    ShapeWarning,
    UnsupportedOperatorError,
    XTVMError,
)
from xtvm.frontend import from_onnx
from xtvm.frontend.onnx import MAX_OPSET, MIN_OPSET


def model_of(
    nodes: Sequence[onnx.NodeProto],
    inputs: dict[str, Sequence[int | str] | None],
    outputs: dict[str, Sequence[int | str]],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 13,
    extra_opsets: Sequence[tuple[str, int]] = (),
    elem_type: int = TensorProto.FLOAT,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info(n, elem_type, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in (inits or {}).items()],
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    return helper.make_model(graph, opset_imports=opsets)


def relu_model(inputs: dict[str, Sequence[int | str] | None] | None = None) -> onnx.ModelProto:
    inputs = inputs or {"x": [1, 3, 4, 4]}
    return model_of([helper.make_node("Relu", ["x"], ["y"])], inputs, {"y": ["n", 3, 4, 4]})


def raises(exc: type[XTVMError], source, shape_dict=None, match: str | None = None) -> str:
    """Import ``source``, expect ``exc``; return its message after checking it is one line."""
    with pytest.raises(exc, match=match) as info:
        from_onnx(source, shape_dict)
    msg = str(info.value)
    assert "\n" not in msg and msg
    return msg


# ----------------------------------------------------------------------------------------------
# unsupported operators: one error that lists them all
# ----------------------------------------------------------------------------------------------


def test_all_unsupported_operators_are_reported_at_once() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="ok"),
        helper.make_node("Foo", ["r"], ["f"], name="foo_1"),
        helper.make_node("TfIdfVectorizer", ["f"], ["l"], name="tf_a"),
        helper.make_node("Foo", ["l"], ["f2"], name="foo_2"),
        helper.make_node("Bar", ["f2"], ["y"], name="custom", domain="com.example"),
    ]
    model = model_of(nodes, {"x": [2, 3]}, {"y": [2, 3]}, extra_opsets=[("com.example", 1)])
    with pytest.raises(UnsupportedOperatorError) as info:
        from_onnx(model)
    err = info.value
    assert err.unsupported == {
        "Foo": ["foo_1", "foo_2"],
        "TfIdfVectorizer": ["tf_a"],
        "com.example.Bar": ["custom"],
    }
    msg = str(err)
    assert "\n" not in msg
    for word in (
        "Foo",
        "TfIdfVectorizer",
        "com.example.Bar",
        "foo_1",
        "foo_2",
        "tf_a",
        "custom",
        "13",
    ):
        assert word in msg
    assert "ok" not in err.unsupported


def test_unnamed_unsupported_node_is_named_by_position() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("RandomUniformLike", ["r"], ["y"]),
    ]
    msg = raises(UnsupportedOperatorError, model_of(nodes, {"x": [2]}, {"y": [2]}))
    assert "RandomUniformLike" in msg and "#1" in msg


@pytest.mark.parametrize("opset", [0, MAX_OPSET + 1])
def test_opset_outside_supported_range(opset: int) -> None:
    msg = raises(ModelError, model_of([], {"x": [1]}, {"x": [1]}, opset=opset))
    assert f"opset {opset}" in msg and f"{MIN_OPSET} to {MAX_OPSET}" in msg


def test_old_opset_uses_only_converters_registered_for_it() -> None:
    """At opset 7, Softmax (since 1) converts but Gather (since 11) is reported unsupported."""
    nodes = [helper.make_node("Softmax", ["x"], ["y"])]
    from_onnx(model_of(nodes, {"x": [2, 3]}, {"y": [2, 3]}, opset=7))
    nodes = [helper.make_node("Gather", ["x", "x"], ["y"], name="g")]
    msg = raises(UnsupportedOperatorError, model_of(nodes, {"x": [2, 3]}, {"y": [2, 3]}, opset=10))
    assert "Gather" in msg and "10" in msg


def test_newer_opsets_change_only_types_of_converted_ops() -> None:
    """Accepting opsets past 21 is sound only while no converted op changed its signature."""
    import onnx.defs

    from xtvm.frontend.onnx.registry import (
        SEMANTICS_CHECKED_UP_TO,
        converter_versions,
        supported_ops,
    )

    def signature(s):
        return sorted(s.attributes), [i.name for i in s.inputs], [o.name for o in s.outputs]

    for op in supported_ops(MAX_OPSET):
        # ops introduced after 21 are checked from their first converter's opset on
        first = max(SEMANTICS_CHECKED_UP_TO, min(converter_versions(op)))
        for v in range(first + 1, MAX_OPSET + 1):
            # a converter registered for a newer opset was written for that version
            reviewed = max([first] + [s for s in converter_versions(op) if s <= v])
            base = signature(onnx.defs.get_schema(op, reviewed))
            assert signature(onnx.defs.get_schema(op, v)) == base, (op, v)


# ----------------------------------------------------------------------------------------------
# files and bytes that are not ONNX models
# ----------------------------------------------------------------------------------------------


def test_truncated_bytes_and_file(tmp_path) -> None:
    w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    model = relu_model()
    model.graph.initializer.append(w)
    data = model.SerializeToString()
    raises(ModelError, data[: len(data) // 2], match="could not parse ONNX model")
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) - 7])
    msg = raises(ModelError, str(path), match="could not parse ONNX model")
    assert str(path) in msg


@pytest.mark.parametrize("junk", [b"hello, this is not an ONNX model\n", b"\x00" * 16, b""])
def test_not_onnx_bytes(junk: bytes, tmp_path) -> None:
    raises(ModelError, junk, match="could not parse ONNX model")
    path = tmp_path / "junk.onnx"
    path.write_bytes(junk)
    assert str(path) in raises(ModelError, path, match="could not parse ONNX model")


def test_missing_file(tmp_path) -> None:
    path = tmp_path / "nope.onnx"
    assert str(path) in raises(ModelError, str(path), match="could not read ONNX model")


def test_checker_failure_is_one_line() -> None:
    # two nodes define "y": the graph is not in SSA form
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Relu", ["x"], ["y"])]
    raises(ModelError, model_of(nodes, {"x": [2]}, {"y": [2]}), match="invalid ONNX model")


# ----------------------------------------------------------------------------------------------
# input shapes
# ----------------------------------------------------------------------------------------------


def test_unresolved_symbolic_dim_names_input_and_dim() -> None:
    msg = raises(ShapeError, relu_model({"x": ["batch", 3, 4, 4]}))
    assert "'x'" in msg and "'batch'" in msg and "dim 0" in msg


def test_unknown_dim_without_a_name() -> None:
    msg = raises(ShapeError, relu_model({"x": [1, None, 4, 4]}))
    assert "'x'" in msg and "dim 1" in msg
    from_onnx(relu_model({"x": [1, None, 4, 4]}), {"x": [1, 3, 4, 4]}).verify()


def test_shape_dict_unknown_input() -> None:
    msg = raises(InputError, relu_model(), {"x": [1, 3, 4, 4], "image": [1, 3, 4, 4]})
    assert "'image'" in msg and "'x'" in msg


@pytest.mark.parametrize(
    ("given", "match"),
    [([2, 3, 4, 4], "fixed dim 0 = 1"), ([1, 3, 4], "rank 3"), ([1, 3, -1, 4], "negative")],
)
def test_shape_dict_conflicts(given: list[int], match: str) -> None:
    raises(ShapeError, relu_model(), {"x": given}, match=match)


def test_symbolic_dim_bound_twice_inconsistently() -> None:
    model = model_of(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        {"a": ["n", 2], "b": ["n", 2]},
        {"y": ["n", 2]},
    )
    raises(ShapeError, model, {"a": [1, 2], "b": [3, 2]}, match="'n' is bound to both")


def test_unsupported_input_element_type() -> None:
    model = model_of(
        [helper.make_node("Relu", ["x"], ["y"])],
        {"x": [2]},
        {"y": [2]},
        elem_type=TensorProto.COMPLEX64,
    )
    raises(ModelError, model, match="'x' has element type COMPLEX64")


# ----------------------------------------------------------------------------------------------
# graph structure and per-node problems, each naming the node
# ----------------------------------------------------------------------------------------------


def test_undefined_node_input_names_the_node() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="first"),
        helper.make_node("Add", ["r", "ghost"], ["y"], name="adder"),
    ]
    msg = raises(ModelError, model_of(nodes, {"x": [2]}, {"y": [2]}))
    assert "'adder'" in msg and "'ghost'" in msg


def test_undefined_graph_output() -> None:
    model = model_of([helper.make_node("Relu", ["x"], ["r"])], {"x": [2]}, {"nothing": [2]})
    raises(ModelError, model, match="graph output 'nothing'")


def test_four_d_conv_is_rejected() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c4d")
    w = np.ones((4, 2, 1, 1, 1, 1), np.float32)
    model = model_of([node], {"x": [1, 2, 2, 2, 2, 2]}, {"y": [1, 4, 2, 2, 2, 2]}, {"w": w})
    raises(ModelError, model, match="'c4d'.*only 1-D, 2-D and 3-D")


def test_runtime_reshape_shape_is_rejected() -> None:
    node = helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")
    model = model_of([node], {"x": [2, 3], "s": [2]}, {"y": [3, 2]})
    raises(ModelError, model, match="'rs'.*shape.*constant")


@pytest.mark.parametrize(
    ("op_type", "attrs", "opset", "match"),
    [
        ("MaxPool", {"kernel_shape": [2, 2], "storage_order": 1}, 13, "storage_order"),
        ("AveragePool", {"kernel_shape": [2, 2], "dilations": [2, 2]}, 18, "dilations"),
        ("AveragePool", {"kernel_shape": [2, 2], "count_include_pad": 2}, 13, "count_include_pad"),
        ("MaxPool", {"kernel_shape": [2, 2], "ceil_mode": 3}, 13, "ceil_mode"),
        ("Conv", {"auto_pad": "SAME_MIDDLE"}, 13, "auto_pad"),
    ],
)
def test_unsupported_attribute_value_names_node_and_attribute(
    op_type: str, attrs: dict, opset: int, match: str
) -> None:
    ins = ["x", "w"] if op_type == "Conv" else ["x"]
    inits = {"w": np.ones((2, 2, 2, 2), np.float32)} if op_type == "Conv" else None
    node = helper.make_node(op_type, ins, ["y"], name="n0", **attrs)
    model = model_of([node], {"x": [1, 2, 6, 6]}, {"y": ["a", "b", "c", "d"]}, inits, opset)
    msg = raises(ModelError, model, match=match)
    assert "n0" in msg and op_type in msg


def test_training_mode_batch_norm() -> None:
    node = helper.make_node(
        "BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], training_mode=1, name="bn"
    )
    inits = {k: np.ones(3, np.float32) for k in "gbmv"}
    model = model_of([node], {"x": [1, 3, 2, 2]}, {"y": [1, 3, 2, 2]}, inits, opset=15)
    raises(ModelError, model, match="'bn'.*training_mode")


def test_used_extra_outputs_are_rejected_unused_ones_ignored() -> None:
    pool = helper.make_node(
        "MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2], name="mp", strides=[2, 2]
    )
    ok = model_of([pool], {"x": [1, 1, 4, 4]}, {"y": [1, 1, 2, 2]})
    from_onnx(ok).verify()
    bad = model_of([pool], {"x": [1, 1, 4, 4]}, {"y": [1, 1, 2, 2], "idx": [1, 1, 2, 2]})
    raises(ModelError, bad, match="'mp'.*'idx'")
    # Dropout's mask is computed at inference (all true), so using it is fine now
    drop = helper.make_node("Dropout", ["x"], ["d", "mask"], name="drop")
    use = helper.make_node("Identity", ["mask"], ["m2"])
    from_onnx(model_of([drop, use], {"x": [2]}, {"d": [2], "m2": [2]})).verify()


def test_incompatible_shapes_name_the_node() -> None:
    nodes = [helper.make_node("Add", ["a", "b"], ["y"], name="bad_add")]
    model = model_of(nodes, {"a": [2, 3], "b": [4]}, {"y": [2, 3]})
    raises(ModelError, model, match="'bad_add'.*broadcast")


def test_declared_output_shape_mismatch_warns() -> None:
    # onnxruntime warns and runs: the computed shape wins (tests/unit/frontend/ runs it)
    model = model_of([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, {"y": [3, 2]})
    with pytest.warns(ShapeWarning, match="'y'.*\\[3, 2\\].*\\[2, 3\\]"):
        from_onnx(model).verify()


def test_bad_reshape_spec() -> None:
    for spec in ([-1, -1], [5, -1], [7]):
        node = helper.make_node("Reshape", ["x", "s"], ["y"], name="r")
        model = model_of([node], {"x": [2, 3]}, {"y": [-1]}, {"s": np.array(spec, np.int64)})
        raises(ModelError, model, match="'r'")


def test_model_without_default_domain_opset() -> None:
    model = relu_model()
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    raises(ModelError, model, match="no opset for the default ONNX domain")


def test_dropout_in_training_mode() -> None:
    nodes = [helper.make_node("Dropout", ["x", "ratio", "train"], ["y"], name="dr")]
    inits = {"ratio": np.float32(0.5), "train": np.array(True)}
    model = model_of(nodes, {"x": [2, 3]}, {"y": [2, 3]}, inits, opset=13)
    raises(ModelError, model, match="'dr'.*training_mode")
    inits["train"] = np.array(False)
    from_onnx(model_of(nodes, {"x": [2, 3]}, {"y": [2, 3]}, inits, opset=13)).verify()


def test_every_failing_node_is_reported_at_once() -> None:
    """Two independent nodes with bad attributes: one error naming both, not just the first."""
    nodes = [
        helper.make_node("Gelu", ["x"], ["a"], name="gelu_bad", approximate="cubic"),
        helper.make_node("Mod", ["x", "x"], ["b"], name="mod_bad", fmod=3),
        helper.make_node("Add", ["a", "b"], ["y"], name="downstream"),
    ]
    model = model_of(nodes, {"x": [2]}, {"y": [2]}, opset=20)
    msg = raises(ModelError, model)
    assert "2 nodes" in msg and "gelu_bad" in msg and "mod_bad" in msg
    assert "downstream" not in msg
