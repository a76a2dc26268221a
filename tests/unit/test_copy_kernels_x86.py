"""Data-movement kernels on x86: concatenation, slices, resize, transposes, pads, tiles.

Every case compiles a one-node ONNX model and compares it with numpy (resize with
onnxruntime, bit for bit where the result is a copy); the structural checks say that the hot
loop became vector code: ``vector.store`` in the tir for the loops ``tir-vectorize`` widens
(concatenation along the last axis, odd rows, tiles), vector stores in LLVM's optimized IR
for the upsamplings that LLVM vectorizes with interleaving shuffles, and no per-element float
coordinate math or modulo left where the maps are integer ones.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import f32

import xtvm
from xtvm.testing.onnx_check import float_model
from xtvm.topi import KernelBuilder, nn
from xtvm.topi.nn.image import resize
from xtvm.topi.nn.resize_maps import integer_form, phased_form
from xtvm.topi.x86.access import block_split

RNG = np.random.default_rng(3)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _i64(*v: int) -> np.ndarray:
    return np.array(v, np.int64)


def _build(node, inputs: dict[str, tuple[int, ...]], inits=None, opset: int = 18):
    model = float_model([node], inputs, ["y"], opset, inits)
    return model, xtvm.build(xtvm.from_onnx(model, inputs))


def _kernel_tir(lib: xtvm.CompiledModule) -> str:
    """The tir of the kernels (without ``@main``)."""
    text = lib.get_source("tir")
    return text[: text.index("tir.prim_func @main")]


def _optimized_llvm(lib: xtvm.CompiledModule) -> str:
    from xtvm.backends.llvm.jit import optimize, parse_and_verify

    mod = parse_and_verify(str(lib.ir_module))
    optimize(mod, lib.target)
    return str(mod)


def _vector_stores(llvm_ir: str) -> int:
    return len(re.findall(r"store <\d+ x float>", llvm_ir))


# -- concatenation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shapes,axis",
    [
        ([(2, 3, 16), (2, 3, 16)], -1),
        ([(4, 24), (4, 8), (4, 40)], 1),  # three inputs, blocks of 8
        ([(3, 5, 12), (3, 5, 24)], 2),  # blocks of 12: a vector and a 4-lane tail
        ([(2, 6), (2, 10)], -1),  # blocks of 2: too short to vectorize
        ([(4, 13), (4, 7)], -1),  # coprime extents: element by element
        ([(2, 3, 5), (2, 4, 5)], 1),
        ([(3, 4), (1, 4)], 0),
    ],
)
def test_concat(shapes, axis) -> None:
    names = [f"x{k}" for k in range(len(shapes))]
    node = helper.make_node("Concat", names, ["y"], axis=axis)
    feeds = {n: _x(*s) for n, s in zip(names, shapes)}
    _, lib = _build(node, dict(zip(names, shapes)))
    np.testing.assert_array_equal(lib(**feeds), np.concatenate(list(feeds.values()), axis))


@pytest.mark.parametrize("sizes", [(32, 32), (24, 8, 40), (12, 24)])
def test_concat_last_axis_is_vector_copies(sizes) -> None:
    shapes = [(2, 5, n) for n in sizes]
    names = [f"x{k}" for k in range(len(shapes))]
    _, lib = _build(helper.make_node("Concat", names, ["y"], axis=-1), dict(zip(names, shapes)))
    tir = _kernel_tir(lib)
    for k in range(len(sizes)):  # a vector load from every input, no scalar element copies
        assert re.search(rf"vector\.load %p{k}\[", tir), tir
    assert "vector.store" in tir and "memref.store" not in tir


def test_concat_fused_with_its_consumer() -> None:
    """Inlined into a relu, the concatenation's blocks still decide the consumer's loops."""
    shapes = {"a": (2, 3, 16), "b": (2, 3, 32)}
    model = float_model(
        [
            helper.make_node("Concat", ["a", "b"], ["c"], axis=-1),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        shapes,
        ["y"],
        17,
    )
    lib = xtvm.build(xtvm.from_onnx(model, shapes))
    a, b = _x(*shapes["a"]), _x(*shapes["b"])
    np.testing.assert_array_equal(lib(a=a, b=b), np.maximum(np.concatenate([a, b], -1), 0))
    assert "vector.store" in _kernel_tir(lib)


# -- strided slices ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,starts,ends,axes,steps,vector",
    [
        ((1, 8, 20, 80), (1, 3), (7, 77), (1, 3), (1, 1), True),  # odd row of 74
        ((2, 30, 37), (0, 5), (30, 37), (1, 2), (2, 1), True),  # rows of 32, every other row
        ((1, 3, 20, 20), (0, 1), (20, 20), (2, 3), (2, 2), False),  # Focus: stride 2 in rows
        ((4, 9, 11), (8, -1), (-10, -12), (1, 2), (-1, -1), False),  # reversed
        ((3, 40), (2,), (35,), (1,), (3,), False),
    ],
)
def test_strided_slice(shape, starts, ends, axes, steps, vector) -> None:
    node = helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])
    inits = {"s": _i64(*starts), "e": _i64(*ends), "a": _i64(*axes), "t": _i64(*steps)}
    x = _x(*shape)
    _, lib = _build(node, {"x": shape}, inits)
    index = [slice(None)] * len(shape)
    for s, e, a, t in zip(starts, ends, axes, steps):
        index[a] = slice(s, e, t)
    np.testing.assert_array_equal(lib(x=x), x[tuple(index)])
    if vector:
        assert "vector.store" in _kernel_tir(lib)


# -- resize --------------------------------------------------------------------------------------


def _resize(shape, scales, **attrs):
    node = helper.make_node("Resize", ["x", "", "sc"], ["y"], **attrs)
    sc = np.array(scales, np.float32)
    model, lib = _build(node, {"x": shape}, {"sc": sc}, opset=13)
    return model, lib


def _ort(model, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


NEAREST = [
    ("asymmetric", "floor", (1, 1, 2, 2)),
    ("half_pixel", "round_prefer_floor", (1, 1, 2, 2)),
    ("half_pixel", "round_prefer_ceil", (1, 1, 3, 3)),
    ("asymmetric", "round_prefer_ceil", (1, 1, 2, 2)),  # clamped at the end: generic map
    ("half_pixel", "round_prefer_floor", (1, 1, 0.5, 0.5)),  # downsampling: k * j + o
    ("align_corners", "round_prefer_floor", (1, 1, 1.5, 1.5)),  # a column table
    ("asymmetric", "floor", (1, 1, 1, 4)),
]


@pytest.mark.parametrize("coord,rounding,scales", NEAREST)
@pytest.mark.parametrize("shape", [(1, 3, 6, 10), (2, 2, 5, 7)])
def test_resize_nearest(coord, rounding, scales, shape) -> None:
    x = _x(*shape)
    model, lib = _resize(
        shape,
        scales,
        mode="nearest",
        coordinate_transformation_mode=coord,
        nearest_mode=rounding,
    )
    np.testing.assert_array_equal(lib(x=x), _ort(model, x))


LINEAR = [
    ("half_pixel", (1, 1, 2, 2)),
    ("half_pixel", (1, 1, 3, 4)),
    ("pytorch_half_pixel", (1, 1, 2, 2)),
    ("asymmetric", (1, 1, 2, 2)),
    ("align_corners", (1, 1, 2, 2)),  # not periodic: column tables
    ("half_pixel", (1, 1, 1.5, 1.5)),
    ("half_pixel", (1, 1, 0.5, 0.5)),
]


@pytest.mark.parametrize("coord,scales", LINEAR)
@pytest.mark.parametrize("shape", [(1, 3, 6, 10), (2, 2, 5, 7)])
def test_resize_linear(coord, scales, shape) -> None:
    x = _x(*shape)
    model, lib = _resize(shape, scales, mode="linear", coordinate_transformation_mode=coord)
    np.testing.assert_allclose(lib(x=x), _ort(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("scales", [(1, 1, 2, 2), (1, 1, 1.5, 1.5)])
def test_resize_float64(mode, scales) -> None:
    """Taps are float32 arithmetic; a float64 tensor takes the weights converted
    (onnxruntime has no float64 Resize: compare with its float32 result)."""
    shape = (1, 2, 5, 6)
    out = [int(d * f) for d, f in zip(shape, scales)]

    def model(elem: int):
        g = helper.make_graph(
            [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode=mode)],
            "resize",
            [helper.make_tensor_value_info("x", elem, list(shape))],
            [helper.make_tensor_value_info("y", elem, out)],
            [numpy_helper.from_array(np.array(scales, np.float32), "sc")],
        )
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    x = _x(*shape)
    got = xtvm.build(xtvm.from_onnx(model(TensorProto.DOUBLE)))(x=x.astype(np.float64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _ort(model(TensorProto.FLOAT), x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [(1, 1, 1, 2), (1, 1, 2, 2)])
def test_integer_upsampling_is_vector_code_without_float_coordinates(mode, scales) -> None:
    shape = (1, 4, 12, 16)
    model, lib = _resize(shape, scales, mode=mode, coordinate_transformation_mode="half_pixel")
    x = _x(*shape)
    np.testing.assert_allclose(lib(x=x), _ort(model, x), rtol=1e-5, atol=1e-6)
    if scales[2] == 1 or mode == "nearest":
        # the maps are integer arithmetic: no float division or floor per element (a linear
        # map of rows keeps its float math, loop-invariant in the columns)
        tir = _kernel_tir(lib)
        assert "arith.divf" not in tir and "math.floor" not in tir and "math.ceil" not in tir
    assert _vector_stores(_optimized_llvm(lib)) > 0


def test_generic_nearest_map_reads_a_column_table() -> None:
    shape = (1, 2, 8, 10)
    model, lib = _resize(shape, (1, 1, 1.5, 1.5), mode="nearest")
    x = _x(*shape)
    np.testing.assert_array_equal(lib(x=x), _ort(model, x))
    assert re.search(r"memref<15xi32>", _kernel_tir(lib))  # one index per output column


def test_integer_and_phase_forms() -> None:
    j = np.arange(12)
    assert integer_form(j // 3, 4) == (3, 1, 0)
    assert integer_form(2 * j[:6] + 1, 12) == (1, 2, 1)
    assert integer_form(np.minimum((j + 1) // 2, 5), 6) is None  # clamped at the end
    # half_pixel 2x over 6 inputs: phases (-1, 0.75) and (0, 0.25), clamped borders
    c = np.clip((np.arange(12, dtype=np.float32) + 0.5) / 2 - 0.5, 0, 5)
    lo = np.floor(c)
    form = phased_form(lo.astype(np.int64), (c - lo).astype(np.float32), 6)
    assert form is not None
    assert form.offsets == (-1, 0) and form.hi == (0.75, 0.25)
    assert (form.pad_before, form.pad_after) == (1, 1)
    assert phased_form(np.arange(12) * 5 // 11, np.full(12, 0.3, np.float32), 6) is None


# -- the block analysis --------------------------------------------------------------------------


def test_block_split_of_concat_and_upsampling() -> None:
    kb = KernelBuilder("k")
    a = kb.placeholder((2, 16), f32, "a")
    b = kb.placeholder((2, 32), f32, "b")
    y = nn.concatenate([a, b], -1)
    kb.output(y)
    s = kb.schedule()
    assert block_split(s.stage(y)) == (16, "inner")

    kb = KernelBuilder("k")
    x = kb.placeholder((1, 2, 4, 6), f32, "x")
    up = resize(x, (1, 2, 8, 12), (1, 1, 2, 2), (0.0,) * 8, "nearest", "asymmetric", "floor")
    kb.output(up)
    assert block_split(kb.schedule().stage(up)) == (2, "outer")

    kb = KernelBuilder("k")
    x = kb.placeholder((3, 8), f32, "x")
    t = nn.transpose(x, (1, 0))
    kb.output(t)
    assert block_split(kb.schedule().stage(t)) is None


# -- transposes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,perm",
    [
        ((1, 12, 37, 16), (0, 1, 3, 2)),  # ragged 8x8 tiles
        ((13, 29), (1, 0)),
        ((1, 3, 10, 12), (0, 2, 3, 1)),  # NCHW -> NHWC with 3 channels
        ((1, 10, 12, 3), (0, 3, 1, 2)),
        ((2, 16, 3, 24), (0, 2, 1, 3)),  # the last axis stays: vector rows
        ((3, 9, 17, 5), (0, 3, 2, 1)),
    ],
)
def test_transpose(shape, perm) -> None:
    x = _x(*shape)
    _, lib = _build(helper.make_node("Transpose", ["x"], ["y"], perm=list(perm)), {"x": shape})
    np.testing.assert_array_equal(lib(x=x), x.transpose(perm))
    if perm[-1] == len(shape) - 1:
        assert "vector.store" in _kernel_tir(lib)


# -- pads ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize(
    "shape,pads",
    [
        ((1, 2, 7, 9), (0, 0, 1, 2, 0, 0, 2, 1)),
        ((2, 5, 11), (0, 0, 3, 0, 0, 4)),
        ((1, 3, 4, 5), (0, 0, 6, 0, 0, 0, 0, 9)),  # wider than the dim: folds by modulo
    ],
)
def test_pad(mode, shape, pads) -> None:
    x = _x(*shape)
    _, lib = _build(
        helper.make_node("Pad", ["x", "p"], ["y"], mode=mode), {"x": shape}, {"p": _i64(*pads)}
    )
    r = len(shape)
    np.testing.assert_array_equal(
        lib(x=x), np.pad(x, [(pads[d], pads[r + d]) for d in range(r)], mode=mode)
    )


def test_short_reflect_pad_has_no_modulo() -> None:
    shape = (1, 4, 20, 20)
    node = helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")
    _, lib = _build(node, {"x": shape}, {"p": _i64(0, 0, 2, 2, 0, 0, 2, 2)})
    assert "arith.remsi" not in _kernel_tir(lib)


# -- tiles and depth/space moves -----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,reps", [((4, 6, 13), (1, 2, 3)), ((2, 16), (3, 2)), ((3, 1, 5), (1, 4, 1))]
)
def test_tile(shape, reps) -> None:
    x = _x(*shape)
    _, lib = _build(helper.make_node("Tile", ["x", "r"], ["y"]), {"x": shape}, {"r": _i64(*reps)})
    np.testing.assert_array_equal(lib(x=x), np.tile(x, reps))
    if shape[-1] >= 4 and reps[-1] > 1:
        assert "vector.store" in _kernel_tir(lib)  # one vector copy per repetition


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space(mode) -> None:
    shape, b = (1, 8, 5, 6), 2
    x = _x(*shape)
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=b, mode=mode)
    _, lib = _build(node, {"x": shape})
    n, c, h, w = shape
    if mode == "DCR":
        want = x.reshape(n, b, b, c // 4, h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        want = x.reshape(n, c // 4, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    np.testing.assert_array_equal(lib(x=x), want.reshape(n, c // 4, h * b, w * b))


# -- reshape -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src,dst",
    [
        ((2, 3, 4, 5, 16), (2, 60, 16)),  # shared leading and trailing dims
        ((1, 3, 6, 6, 21), (1, 108, 21)),  # a detector head's rows (odd last axis)
        ((4, 6, 8), (4, 48)),  # nothing shared at the end: one linear index
        ((6, 8), (2, 3, 8)),  # split a leading dim
    ],
)
def test_reshape_fused_with_a_consumer(src, dst) -> None:
    """A reshape fused into an elementwise consumer divides only the dims it merges or
    splits; a shared last axis stays a contiguous (vector) copy."""
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["r"]),
        helper.make_node("Relu", ["r"], ["y"]),
    ]
    model = float_model(nodes, {"x": src}, ["y"], 17, {"s": np.array(dst, np.int64)})
    lib = xtvm.build(xtvm.from_onnx(model, {"x": src}))
    x = _x(*src)
    np.testing.assert_array_equal(lib(x=x), np.maximum(x.reshape(dst), 0))
    if src[-1] == dst[-1] and src[-1] % 8 == 0:
        assert "vector.store" in _kernel_tir(lib)
