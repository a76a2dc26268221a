"""convert-te-to-tir: scheduled kernels run in the tir interpreter and match numpy."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from xtvm.backends.interpreter import run_prim_func, run_tir
from xtvm.context import make_context
from xtvm.dialects import tir
from xtvm.errors import CompileError
from xtvm.lowering.te_to_tir.convert import ConvertTeToTirPass
from xtvm.lowering.te_to_tir.entry import plan_workspace

RNG = np.random.default_rng(0)


def lower(text: str) -> ModuleOp:
    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    ConvertTeToTirPass().apply(ctx, module)
    module.verify()
    return module


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def main_of(kernel: str, ins: list[str], out: str) -> str:
    args = ", ".join(f"%a{n}: {t}" for n, t in enumerate(ins))
    vals = ", ".join(f"%a{n}" for n in range(len(ins)))
    return f"""{kernel}
func.func @main({args}) -> {out} {{
  %r = te.call @k({vals}) : ({", ".join(ins)}) -> {out}
  func.return %r : {out}
}}"""


MATMUL = """te.kernel @k {{
  %A = te.placeholder "A" : tensor<{m}x{k}xf32>
  %B = te.placeholder "B" : tensor<{k}x{n}xf32>
  %C = te.compute "C" : tensor<{m}x{n}xf32> {{
  ^bb0(%i: index, %j: index):
    %s = te.reduce "{kind}" [{k}] : f32 {{
    ^bb1(%r: index):
      %a = te.read %A[%i, %r] : tensor<{m}x{k}xf32>
      %b = te.read %B[%r, %j] : tensor<{k}x{n}xf32>
      %p = arith.mulf %a, %b : f32
      te.yield %p : f32
    }}
    te.yield %s : f32
  }}
  te.schedule {{
    %s = te.stage "C"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %r = te.reduce_axes %s : !te.axis
{sched}
  }}
  te.return %C : tensor<{m}x{n}xf32>
}}"""

MATMUL_REF = {
    "sum": lambda a, b: a @ b,
    "max": lambda a, b: (a[:, :, None] * b[None]).max(1),
    "min": lambda a, b: (a[:, :, None] * b[None]).min(1),
    "prod": lambda a, b: (a[:, :, None] * b[None]).prod(1),
}


def run_matmul(sched: str, kind: str = "sum", m: int = 5, k: int = 6, n: int = 7) -> None:
    text = MATMUL.format(m=m, k=k, n=n, kind=kind, sched=sched)
    mod = lower(
        main_of(text, [f"tensor<{m}x{k}xf32>", f"tensor<{k}x{n}xf32>"], f"tensor<{m}x{n}xf32>")
    )
    a, b = rand(m, k), rand(k, n)
    (c,) = run_tir(mod, [a, b])
    np.testing.assert_allclose(c, MATMUL_REF[kind](a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["sum", "max", "min", "prod"])
def test_reductions_without_schedule(kind: str) -> None:
    run_matmul("", kind)


@pytest.mark.parametrize(
    "sched",
    [
        # spatial loops inside the reduction loop: init nest + update nest
        "te.reorder %i, %r, %j\n te.vectorize %j",
        # ragged splits of both spatial and reduction axes, reordered so guards are needed
        "%jo, %ji = te.split %j by 3\n %ro, %ri = te.split %r by 4\n"
        " te.reorder %ji, %ro, %i, %jo, %ri",
        # tile + fuse + parallel + unroll on a reduction axis
        "%io, %jo, %ii, %ji = te.tile %i, %j by [2, 4]\n %f = te.fuse %io, %jo\n"
        " te.parallel %f\n te.unroll %r",
        # split factor larger than the extent
        "%jo, %ji = te.split %j by 100\n te.reorder %r, %ji\n te.vectorize %ji",
        # nested ragged splits: 7 -> 3 -> 2
        "%jo, %ji = te.split %j by 3\n %jio, %jii = te.split %ji by 2\n te.reorder %jii, %i, %jo, %jio",
    ],
)
@pytest.mark.parametrize("kind", ["sum", "max"])
def test_matmul_schedules(sched: str, kind: str) -> None:
    run_matmul(sched, kind)


CACHE_WRITE = """
    %l = te.cache_write %s
    %ci, %cj = te.axes %s : !te.axis, !te.axis
    %io, %jo, %ii, %ji = te.tile %ci, %cj by [2, 3]
    te.parallel %io
    te.compute_at %l, %jo
    %li, %lj = te.axes %l : !te.axis, !te.axis
    %lk = te.reduce_axes %l : !te.axis
    te.reorder %lk, %li, %lj
    te.vectorize %lj
"""


def test_cache_write_with_compute_at_and_ragged_tiles() -> None:
    # the original handles %i/%j are unused; the copy stage's axes come from a new te.axes
    run_matmul(CACHE_WRITE, "sum", m=5, k=3, n=7)


STENCIL = """te.kernel @k {{
  %X = te.placeholder "X" : tensor<{h}x{w}xf32>
  %P = te.compute "P" : tensor<{hp}x{wp}xf32> {{
  ^bb0(%i: index, %j: index):
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %ch = arith.constant {hm} : index
    %cw = arith.constant {wm} : index
    %im = arith.subi %i, %c1 : index
    %jm = arith.subi %j, %c1 : index
    %ic = arith.maxsi %im, %c0 : index
    %ic2 = arith.minsi %ic, %ch : index
    %jc = arith.maxsi %jm, %c0 : index
    %jc2 = arith.minsi %jc, %cw : index
    %v = te.read %X[%ic2, %jc2] : tensor<{h}x{w}xf32>
    %ei = arith.cmpi eq, %ic2, %im : index
    %ej = arith.cmpi eq, %jc2, %jm : index
    %in = arith.andi %ei, %ej : i1
    %z = arith.constant 0.0 : f32
    %r = arith.select %in, %v, %z : f32
    te.yield %r : f32
  }}
  %B = te.compute "B" : tensor<{h}x{w}xf32> {{
  ^bb0(%i: index, %j: index):
    %s = te.reduce "sum" [3, 3] : f32 {{
    ^bb1(%di: index, %dj: index):
      %ii = arith.addi %i, %di : index
      %jj = arith.addi %j, %dj : index
      %v = te.read %P[%ii, %jj] : tensor<{hp}x{wp}xf32>
      te.yield %v : f32
    }}
    te.yield %s : f32
  }}
  te.schedule {{
    %sb = te.stage "B"
    %i, %j = te.axes %sb : !te.axis, !te.axis
    %sp = te.stage "P"
{sched}
  }}
  te.return %B : tensor<{h}x{w}xf32>
}}"""


@pytest.mark.parametrize(
    "sched",
    [
        "",
        "te.compute_inline %sp",
        "%io, %ii = te.split %i by 2\n te.compute_at %sp, %io",
        "%jo, %ji = te.split %j by 4\n te.compute_at %sp, %ji",
        "%f = te.fuse %i, %j\n %fo, %fi = te.split %f by 4\n te.compute_at %sp, %fo",
        "%dr, %dc = te.reduce_axes %sb : !te.axis, !te.axis\n te.reorder %dr, %i, %dc, %j\n"
        " te.compute_at %sp, %dr",
    ],
)
def test_padded_stencil(sched: str) -> None:
    h, w = 5, 6
    text = STENCIL.format(h=h, w=w, hp=h + 2, wp=w + 2, hm=h - 1, wm=w - 1, sched=sched)
    mod = lower(main_of(text, [f"tensor<{h}x{w}xf32>"], f"tensor<{h}x{w}xf32>"))
    x = rand(h, w)
    (b,) = run_tir(mod, [x])
    p = np.pad(x, 1)
    ref = sum(p[di : di + h, dj : dj + w] for di in range(3) for dj in range(3))
    np.testing.assert_allclose(b, ref, rtol=1e-5, atol=1e-5)


def test_compute_at_region_is_the_halo_only() -> None:
    h, w = 8, 6
    sched = "%io, %ii = te.split %i by 4\n te.compute_at %sp, %io"
    text = STENCIL.format(h=h, w=w, hp=h + 2, wp=w + 2, hm=h - 1, wm=w - 1, sched=sched)
    mod = lower(text)
    allocs = [op.buffer.type for op in mod.walk() if isinstance(op, tir.AllocOp)]
    shapes = [tuple(t.get_shape()) for t in allocs]
    assert (6, 8) in shapes  # 4 rows + 2 halo rows, all padded columns


def test_workspace_sharing_and_extra_outputs() -> None:
    text = """te.kernel @k {
  %A = te.placeholder "A" : tensor<3xf32>
  %R = te.compute "R" : tensor<3xf32> {
  ^bb0(%i: index):
    %a = te.read %A[%i] : tensor<3xf32>
    %r = arith.mulf %a, %a : f32
    te.yield %r : f32
  }
  te.return %R : tensor<3xf32>
}
func.func @main(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %w = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %t0 = te.call @k(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %t1 = te.call @k(%t0) : (tensor<3xf32>) -> tensor<3xf32>
  %t2 = te.call @k(%t1) : (tensor<3xf32>) -> tensor<3xf32>
  %y = te.call @k(%t2) : (tensor<3xf32>) -> tensor<3xf32>
  %v = te.call @k(%w) : (tensor<3xf32>) -> tensor<3xf32>
  func.return %y, %x, %w, %y : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}"""
    mod = lower(text)
    entry = next(op for op in mod.ops if isinstance(op, tir.PrimFuncOp) and op.is_entry)
    offsets = [op.offset.value.data for op in entry.walk() if isinstance(op, tir.WorkspaceBufferOp)]
    assert offsets == [0, 64, 0, 0]  # t2 reuses dead t0; the unused v reuses both
    x = np.array([1.1, -0.9, 1.05], np.float32)
    y, x2, w, y2 = run_tir(mod, [x])
    np.testing.assert_allclose(y, x.astype(np.float64) ** 16, rtol=1e-5)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(w, [1, 2, 3])
    np.testing.assert_array_equal(y2, y)


def test_plan_workspace_first_fit() -> None:
    offsets, total = plan_workspace([100, 10, 200, 10], [(0, 1), (1, 2), (2, 3), (0, 3)])
    assert offsets == [0, 128, 192, 128 + 64 + 256]  # the last overlaps everything
    assert total == 128 + 64 + 256 + 64
    assert plan_workspace([], []) == ([], 0)


def test_heap_buffer_for_large_intermediate_is_freed() -> None:
    text = """te.kernel @k {
  %A = te.placeholder "A" : tensor<128x160xf32>
  %T = te.compute "T" : tensor<128x160xf32> {
  ^bb0(%i: index, %j: index):
    %a = te.read %A[%i, %j] : tensor<128x160xf32>
    %r = arith.addf %a, %a : f32
    te.yield %r : f32
  }
  %R = te.compute "R" : tensor<128x160xf32> {
  ^bb0(%i: index, %j: index):
    %a = te.read %T[%i, %j] : tensor<128x160xf32>
    %r = arith.negf %a : f32
    te.yield %r : f32
  }
  te.return %R : tensor<128x160xf32>
}"""
    mod = lower(text)
    fn = next(op for op in mod.ops if isinstance(op, tir.PrimFuncOp))
    (alloc,) = [op for op in fn.walk() if isinstance(op, tir.AllocOp)]
    assert alloc.scope.data == "heap"
    frees = [op for op in fn.walk() if isinstance(op, tir.FreeOp)]
    assert len(frees) == 1 and frees[0].next_op is fn.block.last_op


ELEMENTWISE = """te.kernel @k {{
  %A = te.placeholder "A" : tensor<4x6xf32>
  %T = te.compute "T" : tensor<4x6xf32> {{
  ^bb0(%i: index, %j: index):
    %a = te.read %A[%i, %j] : tensor<4x6xf32>
    %r = math.exp %a : f32
    te.yield %r : f32
  }}
  %R = te.compute "R" : tensor<4x6xf32> {{
  ^bb0(%i: index, %j: index):
    %a = te.read %T[%i, %j] : tensor<4x6xf32>
    %b = te.read %A[%i, %j] : tensor<4x6xf32>
    %r = arith.subf %a, %b : f32
    te.yield %r : f32
  }}
  te.schedule {{
    %s = te.stage "R"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %t = te.stage "T"
    %ti, %tj = te.axes %t : !te.axis, !te.axis
{sched}
  }}
  te.return %R : tensor<4x6xf32>
}}"""


@pytest.mark.parametrize(
    "sched, message",
    [
        ("te.reorder %i, %tj", "belongs to stage 'T'"),
        ("te.vectorize %i", "not the innermost"),
        ("%jo, %ji = te.split %j by 4\n te.vectorize %jo", "not the innermost"),
        ("te.compute_inline %s", "kernel output"),
        ("%f = te.fuse %j, %i", "not adjacent"),
        ("%jo, %ji = te.split %j by 2\n %x, %y = te.split %j by 3", "already split"),
        ("te.compute_at %s, %ti", "kernel output cannot be computed at"),
        ("te.compute_at %t, %tj", "its own axes"),
    ],
)
def test_invalid_schedules(sched: str, message: str) -> None:
    with pytest.raises(CompileError, match=message) as err:
        lower(ELEMENTWISE.format(sched=sched))
    assert "\n" not in str(err.value)


def test_compute_at_needs_the_only_reader() -> None:
    text = """te.kernel @k {
  %A = te.placeholder "A" : tensor<4xf32>
  %T = te.compute "T" : tensor<4xf32> {
  ^bb0(%i: index):
    %a = te.read %A[%i] : tensor<4xf32>
    te.yield %a : f32
  }
  %R = te.compute "R" : tensor<4xf32> {
  ^bb0(%i: index):
    %a = te.read %T[%i] : tensor<4xf32>
    te.yield %a : f32
  }
  %U = te.compute "U" : tensor<4xf32> {
  ^bb0(%i: index):
    %a = te.read %A[%i] : tensor<4xf32>
    te.yield %a : f32
  }
  te.schedule {
    %t = te.stage "T"
    %r = te.stage "R"
    %u = te.stage "U"
    %ri = te.axes %r : !te.axis
    %ui = te.axes %u : !te.axis
    te.compute_at %t, %SLOT
  }
  te.return %R, %U : tensor<4xf32>, tensor<4xf32>
}"""
    with pytest.raises(CompileError, match="does not read it"):
        lower(text.replace("%SLOT", "%ui"))
    mod = lower(text.replace("%SLOT", "%ri"))
    a = rand(4)
    r, u = np.empty(4, np.float32), np.empty(4, np.float32)
    run_prim_func(mod, "k", [a, r, u])
    np.testing.assert_array_equal(r, a)
    np.testing.assert_array_equal(u, a)


def test_invalid_reduction_schedules() -> None:
    with pytest.raises(CompileError, match="compute_inline a reduction"):
        lower(MATMUL.format(m=2, k=2, n=2, kind="sum", sched="te.compute_inline %s"))
    with pytest.raises(CompileError, match="not a loop of this stage"):
        # after cache_write the reduction belongs to the local stage
        lower(
            MATMUL.format(m=2, k=2, n=2, kind="sum", sched="%l = te.cache_write %s\n te.unroll %r")
        )
    with pytest.raises(CompileError, match="cache_write must come before"):
        sched = "%jo, %ji = te.split %j by 2\n %l = te.cache_write %s"
        lower(MATMUL.format(m=2, k=2, n=2, kind="sum", sched=sched))
    with pytest.raises(CompileError, match="parallel reduction axis"):
        lower(
            MATMUL.format(m=2, k=2, n=2, kind="sum", sched="te.reorder %i, %r, %j\n te.parallel %r")
        )


@pytest.mark.parametrize(
    "sched",
    [
        "",
        "te.compute_inline %t",
        "%jo, %ji = te.split %j by 4\n te.compute_at %t, %jo\n te.vectorize %ji",
    ],
)
def test_elementwise_chain(sched: str) -> None:
    mod = lower(ELEMENTWISE.format(sched=sched))
    a = rand(4, 6)
    out = np.empty((4, 6), np.float32)
    run_prim_func(mod, "k", [a, out])
    np.testing.assert_allclose(out, np.exp(a) - a, rtol=1e-6)


def test_interpreter_checks_bounds_and_catches_uninitialized_reads() -> None:
    text = """tir.prim_func @k(%a: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  tir.for %i = %c0 to %c5 step %c1 {
    %v = memref.load %a[%i] : memref<4xf32>
    memref.store %v, %out[%i] : memref<4xf32>
  }
  tir.return
}
tir.prim_func @u(%out: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %t = tir.alloc "local" : memref<2xf32>
  %v = memref.load %t[%c0] : memref<2xf32>
  memref.store %v, %out[%c0] : memref<2xf32>
  tir.return
}"""
    mod = Parser(make_context(), text).parse_module()
    with pytest.raises(Exception, match="out of bounds"):
        run_prim_func(mod, "k", [np.zeros(4, np.float32), np.zeros(4, np.float32)])
    out = np.zeros(2, np.float32)
    run_prim_func(mod, "u", [out])
    assert np.isnan(out[0])


@pytest.mark.parametrize(
    "sched",
    [
        "te.reorder %i, %r, %j\n te.vectorize %j",
        "%jo, %ji = te.split %j by 4\n te.reorder %i, %jo, %r, %ji\n te.vectorize %ji",
    ],
)
def test_interpreter_runs_tir_vectorize_output(sched: str) -> None:
    from xtvm.passes.tir.vectorize import TirVectorizePass

    m, k, n = 3, 4, 8
    text = main_of(
        MATMUL.format(m=m, k=k, n=n, kind="sum", sched=sched),
        [f"tensor<{m}x{k}xf32>", f"tensor<{k}x{n}xf32>"],
        f"tensor<{m}x{n}xf32>",
    )
    mod = lower(text)
    TirVectorizePass().apply(make_context(), mod)
    mod.verify()
    assert any(op.name == "vector.store" for op in mod.walk())
    a, b = rand(m, k), rand(k, n)
    (c,) = run_tir(mod, [a, b])
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)
