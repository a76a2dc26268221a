"""The tensor-expression builder, the operator computes (checked against numpy through the
reference evaluator) and the default CPU schedule."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp, f32, i64
from xdsl.parser import Parser

from xtvm.context import make_context
from xtvm.dialects import te
from xtvm.topi import KernelBuilder, cast, const, exp, max_, nn, select, sum_
from xtvm.topi.reference import evaluate_kernel
from xtvm.topi.x86 import DefaultScheduleConfig, apply_default_schedule, vector_factor

RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def kernel_of(build, *shapes, dtype=f32, schedule=False) -> te.KernelOp:
    """A kernel with one placeholder per shape and the outputs ``build`` returns."""
    kb = KernelBuilder("k")
    phs = [kb.placeholder(s, dtype, f"x{i}") for i, s in enumerate(shapes)]
    out = build(*phs)
    kb.output(*(out if isinstance(out, (list, tuple)) else [out]))
    k = kb.finish()
    if schedule:
        apply_default_schedule(k, DefaultScheduleConfig(vector_bits=512, min_parallel_work=0))
        k.verify()
    return k


def run(build, *arrays: np.ndarray) -> np.ndarray:
    k = kernel_of(build, *[a.shape for a in arrays])
    return evaluate_kernel(k, arrays)[0]


def ops_named(op, name: str) -> list:
    return [o for o in op.walk() if o.name == name]


# ----------------------------------------------------------------------------------------------
# builder
# ----------------------------------------------------------------------------------------------


def test_dense_kernel_ir_shape():
    k = kernel_of(lambda a, w: nn.relu(nn.dense(a, w)), (4, 8), (16, 8))
    assert [p.tensor_name.data for p in k.placeholders] == ["x0", "x1"]
    assert [c.stage_name.data for c in k.computes] == ["dense", "relu"]
    dense = k.computes[0]
    assert dense.reduce is not None and dense.reduce.kind.data == "sum"
    assert dense.reduce.axis_extents == (8,)
    assert dense.tag is not None and dense.tag.data == "dense"
    assert len(ops_named(dense, "te.read")) == 2
    assert k.return_op.values[0] is k.computes[1].result


def test_index_arithmetic_folds_trivial_terms():
    def build(x):
        return x.builder.compute((4,), lambda i: x[(i * 1 + 0) // 1 - 0] + x[(0 * i + 3) % 4], "f")

    k = kernel_of(build, (4,))
    names = [o.name for o in k.computes[0].block.ops]
    assert names.count("arith.muli") == 0 and names.count("arith.divsi") == 0
    assert names.count("arith.remsi") == 0 and names.count("arith.addi") == 0
    assert names.count("arith.constant") == 1  # the folded 3, reused


def test_unique_stage_names_and_roundtrip():
    k = kernel_of(lambda x: nn.relu(nn.relu(nn.relu(x))), (2, 3), schedule=True)
    assert [c.stage_name.data for c in k.computes] == ["relu", "relu_1", "relu_2"]
    text = str(ModuleOp([k]))
    again = Parser(make_context(), text).parse_module()
    again.verify()
    assert str(again) == text


def test_literals_casts_and_selects():
    def build(x):
        def body(i, j):
            fi = cast(i * 3 + j, f32)
            return select(x[i, j] > 0.0, fi, -1.0) + exp(const(0.0))

        return x.builder.compute((2, 3), body, "f")

    x = rand(2, 3)
    idx = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(run(build, x), np.where(x > 0, idx, -1) + 1)


def test_integer_tensors():
    k = kernel_of(lambda x: x.builder.compute((3,), lambda i: x[i] * 2 + 1, "f"), (3,), dtype=i64)
    assert k.computes[0].result.type.element_type == i64
    (out,) = evaluate_kernel(k, [np.array([1, -2, 5])])
    np.testing.assert_array_equal(out, [3, -3, 11])


def test_rank0_stage():
    k = kernel_of(lambda x: x.builder.compute((), lambda: x[1] * 2.0, "s"), (3,))
    assert k.computes[0].shape == ()
    (out,) = evaluate_kernel(k, [np.array([1.0, 4.0, 2.0], np.float32)])
    assert out.shape == () and out == 8.0


def test_builder_errors():
    kb = KernelBuilder("k")
    x = kb.placeholder((4,), f32, "x")
    with pytest.raises(TypeError):
        kb.compute((4,), lambda i: x[i] if i else x[0], "bad")
    with pytest.raises(IndexError):
        kb.compute((4,), lambda i: x[i, i], "bad")
    with pytest.raises(TypeError):
        kb.compute((4,), lambda i: x[i + 0.5], "bad")
    with pytest.raises(RuntimeError):  # outside any compute body
        _ = x[0]
    # a reduction that is not the yielded value breaks the dialect rule
    kb.compute((4,), lambda i: sum_(lambda r: x[r], (4,)) * 2.0, "bad")
    kb.output(kb.stages[-1])
    with pytest.raises(RuntimeError, match="te.reduce must be the yielded value"):
        kb.finish()


# ----------------------------------------------------------------------------------------------
# schedule builder
# ----------------------------------------------------------------------------------------------


def test_schedule_builder_tracks_loops():
    kb = KernelBuilder("mm")
    a = kb.placeholder((32, 24), f32, "A")
    b = kb.placeholder((40, 24), f32, "B")
    c = nn.dense(a, b, "C")
    kb.output(c)
    s = kb.schedule()
    st = s.stage(c)
    assert s.stage("C") is st
    i, j = st.axes
    (k,) = st.reduce_axes
    assert (i.extent, j.extent, k.extent) == (32, 40, 24)
    io, jo, ii, ji = st.tile(i, j, 8, 16)
    assert [a.extent for a in (io, jo, ii, ji)] == [4, 3, 8, 16]
    assert st.leaf_axes == [io, jo, ii, ji, k]
    ko, ki = st.split(k, 5)
    assert (ko.extent, ki.extent) == (5, 5)
    st.reorder(io, jo, ko, ii, ki, ji)
    assert st.leaf_axes == [io, jo, ko, ii, ki, ji]
    f = st.fuse(io, jo)
    assert f.extent == 12 and st.leaf_axes[0] is f
    st.vectorize(ji)
    st.parallel(f)
    st.unroll(ki)
    with pytest.raises(ValueError):
        st.split(i, 2)  # i was tiled away
    with pytest.raises(ValueError):
        st.compute_inline()  # an output
    kernel = kb.finish()
    names = [o.name for o in kernel.schedule.block.ops]
    for n in ("te.stage", "te.axes", "te.reduce_axes", "te.tile", "te.split", "te.reorder"):
        assert n in names
    for n in ("te.fuse", "te.vectorize", "te.parallel", "te.unroll"):
        assert n in names
    assert isinstance(kernel.block.last_op, te.ReturnOp)


def test_cache_write_and_compute_at():
    kb = KernelBuilder("k")
    x = kb.placeholder((8, 8), f32, "x")
    y = nn.dense(x, x, "d")
    z = nn.relu(y)
    kb.output(z)
    s = kb.schedule()
    sd, sz = s.stage(y), s.stage(z)
    local = sd.cache_write()
    assert local.is_reduction and not sd.is_reduction
    zi, zj = sz.axes
    sd.compute_at(sz, zi)
    with pytest.raises(ValueError):
        sd.compute_at(sz, local.axes[0])
    k = kb.finish()
    assert ops_named(k, "te.cache_write") and ops_named(k, "te.compute_at")


# ----------------------------------------------------------------------------------------------
# default schedule
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extent,lanes,want",
    [
        (64, 16, 16),
        (24, 16, 12),
        (49, 16, 7),
        (8, 16, 8),
        (5, 16, 5),
        (3, 16, None),
        (17, 16, None),
    ],
)
def test_vector_factor(extent, lanes, want):
    assert vector_factor(extent, lanes) == want


def test_default_schedule_conv_relu():
    k = kernel_of(
        lambda x, w: nn.relu(nn.conv2d_nchw(x, w, padding=(1, 1, 1, 1))),
        (1, 3, 8, 32),
        (4, 3, 3, 3),
        schedule=True,
    )
    sched = k.schedule.block
    inlined = [
        o.stage.owner.stage_name.data for o in sched.ops if isinstance(o, te.ComputeInlineOp)
    ]
    assert inlined == ["pad"]  # the anchor and the output keep their stages
    stages = [o.stage_name.data for o in sched.ops if isinstance(o, te.StageOp)]
    assert stages == ["pad", "conv2d", "relu"]
    (split_conv, split_relu) = [o for o in sched.ops if isinstance(o, te.SplitOp)]
    assert split_conv.factor.value.data == 16 and split_relu.factor.value.data == 16
    (reorder,) = [o for o in sched.ops if isinstance(o, te.ReorderOp)]
    axes_op = next(o for o in sched.ops if isinstance(o, te.AxesOp))
    red_op = next(o for o in sched.ops if isinstance(o, te.ReduceAxesOp))
    n, c, h, _ = axes_op.results
    want = [n, c, h, split_conv.outer, *red_op.results, split_conv.inner]
    assert list(reorder.axes) == want
    vecs = [o.axis for o in sched.ops if isinstance(o, te.VectorizeOp)]
    assert vecs == [split_conv.inner, split_relu.inner]
    pars = [o.axis for o in sched.ops if isinstance(o, te.ParallelOp)]
    assert pars[0] is c  # batch is 1: channels run in parallel


def test_default_schedule_odd_extent_and_softmax():
    k = kernel_of(lambda x: nn.softmax(x, 1), (6, 3), schedule=True)
    sched = k.schedule.block
    assert not ops_named(sched.parent_op(), "te.vectorize")  # 3 and 1 are too short
    assert len(ops_named(sched.parent_op(), "te.parallel")) == 2  # two passes over the rows
    assert not ops_named(sched.parent_op(), "te.compute_inline")  # exp keeps its stage


def test_default_schedule_inlines_injective_chain():
    k = kernel_of(
        lambda a, b: nn.transpose(nn.add(nn.relu(a), b), (1, 0)), (4, 8), (8,), schedule=True
    )
    inlined = ops_named(k, "te.compute_inline")
    assert len(inlined) == 2
    assert len(ops_named(k, "te.stage")) == 3
    with pytest.raises(ValueError):
        apply_default_schedule(k)  # already scheduled


# ----------------------------------------------------------------------------------------------
# computes vs numpy
# ----------------------------------------------------------------------------------------------


def conv2d_ref(x, w, strides, padding, dilation, groups):
    n, c, h, wd = x.shape
    o, cpg, kh, kw = w.shape
    t, lft, b, r = padding
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (lft, r)))
    oh = (h + t + b - dilation[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + lft + r - dilation[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, o, oh, ow), np.float64)
    opg = o // groups
    for oc in range(o):
        g = oc // opg
        for ky in range(kh):
            for kx in range(kw):
                y0, x0 = ky * dilation[0], kx * dilation[1]
                patch = xp[
                    :,
                    g * cpg : (g + 1) * cpg,
                    y0 : y0 + strides[0] * (oh - 1) + 1 : strides[0],
                    x0 : x0 + strides[1] * (ow - 1) + 1 : strides[1],
                ]
                out[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, ky, kx])
    return out


@pytest.mark.parametrize(
    "xs,ws,strides,padding,dilation,groups",
    [
        ((1, 3, 7, 7), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
        ((2, 4, 9, 8), (6, 2, 3, 2), (2, 1), (0, 1, 2, 0), (1, 2), 2),
        ((1, 4, 6, 6), (4, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 4),
    ],
)
def test_conv2d(xs, ws, strides, padding, dilation, groups):
    x, w = rand(*xs), rand(*ws)
    got = run(lambda a, b: nn.conv2d_nchw(a, b, strides, padding, dilation, groups), x, w)
    np.testing.assert_allclose(
        got, conv2d_ref(x, w, strides, padding, dilation, groups), rtol=1e-4, atol=1e-5
    )


def test_dense_and_batch_matmul():
    x, w = rand(2, 3, 5), rand(4, 5)
    np.testing.assert_allclose(run(nn.dense, x, w), x @ w.T, rtol=1e-5, atol=1e-6)
    a, b = rand(2, 1, 3, 4), rand(3, 4, 5)
    np.testing.assert_allclose(run(nn.batch_matmul, a, b), a @ b, rtol=1e-5, atol=1e-6)


def pool_ref(x, ks, strides, padding, dilation, ceil_mode, kind, include_pad=False):
    from xtvm.dialects.relay.base import pool_out_dim

    n, c, h, w = x.shape
    t, lft, b, r = padding
    oh = pool_out_dim(h, ks[0], strides[0], t, b, dilation[0], ceil_mode)
    ow = pool_out_dim(w, ks[1], strides[1], lft, r, dilation[1], ceil_mode)
    big = 2 * max(ks) * max(dilation) + max(strides) * 2
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((n, c, h + t + big, w + lft + big), fill, np.float64)
    xp[:, :, t : t + h, lft : lft + w] = x
    ones = np.zeros((h + t + big, w + lft + big))
    if include_pad:
        ones[: t + h + b, : lft + w + r] = 1
    else:
        ones[t : t + h, lft : lft + w] = 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for xx in range(ow):
            ys = slice(y * strides[0], y * strides[0] + dilation[0] * (ks[0] - 1) + 1, dilation[0])
            xs = slice(
                xx * strides[1], xx * strides[1] + dilation[1] * (ks[1] - 1) + 1, dilation[1]
            )
            win = xp[:, :, ys, xs]
            if kind == "max":
                out[:, :, y, xx] = win.max(axis=(2, 3))
            else:
                out[:, :, y, xx] = win.sum(axis=(2, 3)) / ones[ys, xs].sum()
    return out


@pytest.mark.parametrize(
    "ks,strides,padding,dilation,ceil_mode,include_pad",
    [
        ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1), False, False),
        ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1), True, False),
        ((3, 2), (2, 1), (1, 0, 1, 1), (1, 1), True, True),
        ((2, 2), (1, 2), (1, 1, 0, 0), (2, 1), False, True),
        ((3, 2), (1, 1), (2, 1, 1, 0), (2, 1), False, False),
    ],
)
def test_pool2d(ks, strides, padding, dilation, ceil_mode, include_pad):
    x = rand(1, 2, 7, 6)
    got = run(lambda a: nn.max_pool2d(a, ks, strides, padding, dilation, ceil_mode), x)
    ref = pool_ref(x, ks, strides, padding, dilation, ceil_mode, "max")
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    got = run(lambda a: nn.avg_pool2d(a, ks, strides, padding, dilation, ceil_mode, include_pad), x)
    ref = pool_ref(x, ks, strides, padding, dilation, ceil_mode, "avg", include_pad)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_global_avg_pool_and_softmax():
    x = rand(2, 3, 4, 5)
    np.testing.assert_allclose(
        run(nn.global_avg_pool2d, x), x.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6
    )
    for axis in (1, 3):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        ref = e / e.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(run(lambda a, ax=axis: nn.softmax(a, ax), x), ref, rtol=1e-5)


def test_layout_operators():
    x, y, z = rand(2, 3, 4), rand(2, 1, 4), rand(2, 2, 4)
    np.testing.assert_array_equal(
        run(lambda a, b, c: nn.concatenate([a, b, c], 1), x, y, z), np.concatenate([x, y, z], 1)
    )
    np.testing.assert_array_equal(
        run(lambda a: nn.transpose(a, (2, 0, 1)), x), x.transpose(2, 0, 1)
    )
    for shape in [(6, 4), (4, 6), (2, 12), (24,), (1, 2, 1, 3, 4), (3, 8)]:
        np.testing.assert_array_equal(run(lambda a, s=shape: nn.reshape(a, s), x), x.reshape(shape))
    np.testing.assert_array_equal(run(lambda a: nn.flatten(a, 2), x), x.reshape(6, 4))
    np.testing.assert_array_equal(
        run(lambda a: nn.pad(a, (0, 1, 2), (1, 0, 0), 7.0), x),
        np.pad(x, ((0, 1), (1, 0), (2, 0)), constant_values=7.0),
    )


def test_elementwise_and_broadcast():
    a, b = rand(2, 3, 4), rand(3, 1)
    np.testing.assert_allclose(run(nn.add, a, b), a + b)
    np.testing.assert_allclose(run(nn.subtract, b, a), b - a)
    np.testing.assert_allclose(run(nn.divide, a, b), a / b, rtol=1e-6)
    np.testing.assert_allclose(run(nn.maximum, a, b), np.maximum(a, b))
    np.testing.assert_allclose(run(lambda t: nn.clip(t, -0.5, 0.5), a), np.clip(a, -0.5, 0.5))
    np.testing.assert_allclose(run(nn.sigmoid_, a), 1 / (1 + np.exp(-a)), rtol=1e-6)
    np.testing.assert_allclose(run(nn.tanh_, a), np.tanh(a), rtol=1e-6)
    g, bt, m = rand(3), rand(3), rand(3)
    v = np.abs(rand(3)) + 0.1
    x = rand(2, 3, 2, 2)
    ref = (x - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-5) * g[:, None, None] + bt[
        :, None, None
    ]
    got = run(lambda *t: nn.batch_norm(*t, epsilon=1e-5), x, g, bt, m, v)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_reductions_max_min_keep_their_identity():
    x = -np.abs(rand(3, 5)) - 1.0  # all negative: a 0-initialized max would be wrong

    def build(a):
        return a.builder.compute((3,), lambda i: max_(lambda r: a[i, r], (5,)), "m")

    np.testing.assert_allclose(run(build, x), x.max(axis=1))


def test_default_schedule_keeps_tiny_stages_serial():
    k = kernel_of(lambda x: nn.relu(x), (2, 16))
    apply_default_schedule(k, DefaultScheduleConfig(vector_bits=512))
    assert not ops_named(k, "te.parallel")  # 32 iterations: not worth a fork/join
    big = kernel_of(lambda x: nn.relu(x), (64, 1024))
    apply_default_schedule(big, DefaultScheduleConfig(vector_bits=512))
    assert len(ops_named(big, "te.parallel")) == 1
