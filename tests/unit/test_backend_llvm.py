"""LLVM backend: target parsing, llvm-dialect translation, JIT, export, object cache."""

from __future__ import annotations

import time

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    Builtin,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    ModuleOp,
    TensorType,
    f32,
)
from xdsl.parser import Parser

import xtvm.runtime
from xtvm.backends.llvm import (
    Target,
    compile_and_load,
    emit_assembly,
    export_library,
    translate_module,
)
from xtvm.backends.llvm.cache import cache_dir
from xtvm.errors import CompileError, ModelError

N = 1000
W = np.linspace(-1, 1, N, dtype=np.float32)
HOST = Target.host()


def parse(text: str) -> ModuleOp:
    ctx = Context(allow_unregistered=True)
    ctx.load_dialect(Builtin)
    ctx.load_dialect(llvm.LLVM)
    module = Parser(ctx, text).parse_module()
    module.verify()
    return module


def load_args(count: int) -> str:
    """xtvm_main prologue: %a0..%a{count-1} = args[k]."""
    lines = []
    for k in range(count):
        lines.append(
            f"%p{k} = llvm.getelementptr inbounds %args[{k}] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr"
        )
        lines.append(f"%a{k} = llvm.load %p{k} {{alignment = 8 : i64}} : !llvm.ptr -> !llvm.ptr")
    return "\n    ".join(lines)


def loop(name: str, start: str, end: str, step: str, body: str, exit_to: str) -> str:
    """A counted loop ^name(%name_i) from start to end; body uses %name_i."""
    return f"""llvm.br ^{name}({start} : i64)
  ^{name}(%{name}_i: i64):
    %{name}_c = llvm.icmp "slt" %{name}_i, {end} : i64
    llvm.cond_br %{name}_c, ^{name}_body, {exit_to}
  ^{name}_body:
    {body}
    %{name}_n = llvm.add %{name}_i, {step} : i64
    llvm.br ^{name}(%{name}_n : i64)"""


def gep(dst: str, base: str, idx: str) -> str:
    return (
        f"%{dst} = llvm.getelementptr inbounds %{base}[%{idx}] : (!llvm.ptr, i64) -> !llvm.ptr, f32"
    )


VADD_BODY_V = "\n    ".join(
    [
        gep("pa", "a", "v_i"),
        gep("pb", "b", "v_i"),
        gep("po", "out", "v_i"),
        "%va = llvm.load %pa {alignment = 4 : i64} : !llvm.ptr -> vector<16xf32>",
        "%vb = llvm.load %pb {alignment = 4 : i64} : !llvm.ptr -> vector<16xf32>",
        "%vs = llvm.fadd %va, %vb : vector<16xf32>",
        "llvm.store %vs, %po {alignment = 4 : i64} : vector<16xf32>, !llvm.ptr",
    ]
)
VADD_BODY_S = "\n    ".join(
    [
        gep("qa", "a", "s_i"),
        gep("qb", "b", "s_i"),
        gep("qo", "out", "s_i"),
        "%sa = llvm.load %qa {alignment = 4 : i64} : !llvm.ptr -> f32",
        "%sb = llvm.load %qb {alignment = 4 : i64} : !llvm.ptr -> f32",
        "%ss = llvm.fadd %sa, %sb : f32",
        "llvm.store %ss, %qo {alignment = 4 : i64} : f32, !llvm.ptr",
    ]
)
EXP_BODY = "\n    ".join(
    [
        gep("pa", "a", "e_i"),
        gep("po", "out", "e_i"),
        "%x = llvm.load %pa {alignment = 4 : i64} : !llvm.ptr -> f32",
        "%m = llvm.intr.maxnum(%x, %zero) : (f32, f32) -> f32",
        "%e = llvm.call @expf(%m) : (f32) -> f32",
        "llvm.store %e, %po {alignment = 4 : i64} : f32, !llvm.ptr",
    ]
)
NOALIAS = "!llvm.ptr {llvm.noalias}"
MAIN_TEXT = f"""builtin.module {{
  llvm.mlir.global internal constant @w0(dense<"0x{W.tobytes().hex().upper()}"> : tensor<{N}xf32>) {{addr_space = 0 : i32}} : !llvm.array<{N} x f32>
  llvm.func @expf(f32) -> f32
  llvm.func internal @vadd(%a: {NOALIAS}, %b: {NOALIAS}, %out: {NOALIAS}) {{
    %c0 = llvm.mlir.constant(0 : i64) : i64
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %c16 = llvm.mlir.constant(16 : i64) : i64
    %nv = llvm.mlir.constant({N - N % 16} : i64) : i64
    %n = llvm.mlir.constant({N} : i64) : i64
    {loop("v", "%c0", "%nv", "%c16", VADD_BODY_V, "^s(%nv : i64)")}
  ^s(%s_i: i64):
    %s_c = llvm.icmp "slt" %s_i, %n : i64
    llvm.cond_br %s_c, ^s_body, ^exit
  ^s_body:
    {VADD_BODY_S}
    %s_n = llvm.add %s_i, %c1 : i64
    llvm.br ^s(%s_n : i64)
  ^exit:
    llvm.return
  }}
  llvm.func internal @vexp_relu(%a: !llvm.ptr, %out: !llvm.ptr) {{
    %c0 = llvm.mlir.constant(0 : i64) : i64
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %n = llvm.mlir.constant({N} : i64) : i64
    %zero = llvm.mlir.constant(0.0 : f32) : f32
    {loop("e", "%c0", "%n", "%c1", EXP_BODY, "^exit")}
  ^exit:
    llvm.return
  }}
  llvm.func @xtvm_main(%args: !llvm.ptr, %ws: !llvm.ptr) -> i32 {{
    {load_args(5)}
    %w = llvm.mlir.addressof @w0 : !llvm.ptr
    llvm.call @vadd(%a0, %a1, %ws) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
    llvm.call @vadd(%ws, %w, %a2) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
    llvm.call @vexp_relu(%a0, %a3) : (!llvm.ptr, !llvm.ptr) -> ()
    %addr = llvm.ptrtoint %ws : !llvm.ptr to i64
    llvm.store %addr, %a4 {{alignment = 8 : i64}} : i64, !llvm.ptr
    %ok = llvm.mlir.constant(0 : i32) : i32
    llvm.return %ok : i32
  }}
}}
"""


def tensor(name: str, shape: list[int], dtype: str = "float32") -> dict:
    return {"name": name, "shape": shape, "dtype": dtype}


MAIN_META = {
    "inputs": [tensor("x", [N]), tensor("y", [N])],
    "outputs": [tensor("sum", [N]), tensor("e", [N]), tensor("ws", [1], "int64")],
    "workspace_bytes": 4 * N,
}


@pytest.fixture(scope="module")
def main_ir():
    return translate_module(parse(MAIN_TEXT), HOST)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal(N, dtype=np.float32), rng.standard_normal(N, dtype=np.float32)


def check_main(mod: xtvm.runtime.Module, x: np.ndarray, y: np.ndarray) -> None:
    s, e, ws = mod(x, y)
    np.testing.assert_allclose(s, x + y + W, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(e, np.exp(np.maximum(x, 0)), rtol=1e-6)
    assert ws[0] % 64 == 0
    s2, _, ws2 = mod(x=x, y=y)
    assert ws2[0] == ws[0], "workspace must be allocated once per module"
    np.testing.assert_array_equal(s, s2)


# --- target ---------------------------------------------------------------------------


def test_target_parse_and_widths():
    assert Target.from_string("llvm").triple == HOST.triple
    sky = Target.from_string("llvm -mcpu=skylake-avx512")
    assert sky.cpu == "skylake-avx512" and sky.vector_width_bits == 512
    assert sky.vector_lanes(32) == 16 and sky.vector_lanes(64) == 8
    arm = Target.from_string("llvm -mtriple=aarch64-linux-gnu")
    assert arm.vector_width_bits == 128 and arm.vector_lanes(32) == 4
    hsw = Target.from_string("llvm -mcpu=haswell -opt-level=2")
    assert hsw.vector_width_bits == 256 and hsw.opt_level == 2
    assert Target.from_string(str(sky)) == sky
    assert Target.from_string("llvm -mattr=+avx512f").vector_width_bits == 512


@pytest.mark.parametrize(
    "text",
    [
        "cuda -arch=sm_70",
        "llvm -foo=1",
        "llvm -mcpu",
        "llvm -mtriple=nope-nope-nope",
        "llvm -opt-level=9",
    ],
)
def test_target_bad_string(text):
    with pytest.raises(CompileError) as err:
        Target.from_string(text)
    assert "\n" not in str(err.value)


# --- translation ----------------------------------------------------------------------


def test_translate_globals_linkage_noalias(main_ir):
    text = str(main_ir)
    assert f'@"w0" = internal constant [{4 * N} x i8] c"' in text
    assert "align 64" in text
    assert 'define internal void @"vadd"(ptr noalias' in text
    assert 'declare float @"expf"(float' in text
    assert 'define i32 @"xtvm_main"' in text


def test_translate_large_weights_fast():
    n = 1 << 20
    data = np.arange(n, dtype=np.float32)
    module = ModuleOp(
        [
            llvm.GlobalOp(
                llvm.LLVMArrayType(n, f32),
                "big",
                "internal",
                constant=True,
                value=DenseIntOrFPElementsAttr(TensorType(f32, [n]), BytesAttr(data.tobytes())),
            )
        ]
    )
    start = time.perf_counter()
    text = str(translate_module(module, HOST))
    assert time.perf_counter() - start < 2.0
    assert f"[{4 * n} x i8]" in text


def test_translate_rejects_unknown_top_level_op():
    module = parse('builtin.module {\n "test.op"() : () -> ()\n}')
    with pytest.raises(CompileError, match="test.op"):
        translate_module(module, HOST)


MISC_TEXT = f"""builtin.module {{
  llvm.func @misc(%x: !llvm.ptr, %relu: !llvm.ptr, %ints: !llvm.ptr, %scal: !llvm.ptr) {{
    %v = llvm.load %x {{alignment = 4 : i64}} : !llvm.ptr -> vector<8xf32>
    %z = llvm.mlir.constant(dense<0.0> : vector<8xf32>) : vector<8xf32>
    %m = "llvmx.fcmp"(%v, %z) {{predicate = "olt"}} : (vector<8xf32>, vector<8xf32>) -> vector<8xi1>
    %r = "llvmx.select"(%m, %z, %v) : (vector<8xi1>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
    %r2 = llvm.intr.fma(%r, %r, %r) {{fastmathFlags = #llvm.fastmath<fast>}} : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
    llvm.store %r2, %relu {{alignment = 4 : i64}} : vector<8xf32>, !llvm.ptr
    %i = "llvm.fptosi"(%v) : (vector<8xf32>) -> vector<8xi32>
    llvm.store %i, %ints : vector<8xi32>, !llvm.ptr
    %idx = llvm.mlir.constant(3 : i32) : i32
    %e = "llvm.extractelement"(%v, %idx) : (vector<8xf32>, i32) -> f32
    %zs = llvm.mlir.constant(0.0 : f32) : f32
    %s = "llvm.intr.vector.reduce.fadd"(%zs, %v) <{{fastmathFlags = #llvm.fastmath<reassoc>}}> : (f32, vector<8xf32>) -> f32
    %t = llvm.fcmp "_true" %e, %e : f32
    %tsel = llvm.select %t, %s, %e : i1, f32
    %abv = llvm.intr.fabs(%v) : (vector<8xf32>) -> vector<8xf32>
    %sabs = "llvm.intr.vector.reduce.fadd"(%zs, %abv) <{{fastmathFlags = #llvm.fastmath<reassoc>}}> : (f32, vector<8xf32>) -> f32
    %ab = llvm.intr.fabs(%e) : (f32) -> f32
    %sp = llvm.intr.stacksave : !llvm.ptr
    llvm.intr.stackrestore %sp : !llvm.ptr
    %sq = llvm.call_intrinsic "llvm.sqrt.f32"(%ab) {{fastmathFlags = #llvm.fastmath<fast>}} : (f32) -> f32
    {
    "".join(
        f"%g{k} = llvm.getelementptr inbounds %scal[{k}] : (!llvm.ptr) -> !llvm.ptr, f32{chr(10)}    "
        f"llvm.store {v}, %g{k} {{alignment = 4 : i64}} : f32, !llvm.ptr{chr(10)}    "
        for k, v in enumerate(["%tsel", "%sabs", "%ab", "%sq"])
    )
}llvm.return
  }}
  llvm.func @xtvm_main(%args: !llvm.ptr, %ws: !llvm.ptr) -> i32 {{
    {load_args(4)}
    llvm.call @misc(%a0, %a1, %a2, %a3) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
    %ok = llvm.mlir.constant(0 : i32) : i32
    llvm.return %ok : i32
  }}
}}
"""


def test_gap_converters_run_correctly():
    """Vector fcmp/select, fptosi, extractelement, mangled intrinsics at two types,
    fastmath fma/reduce/call_intrinsic, fcmp _true, stacksave/restore, splat constant."""
    ir_mod = translate_module(parse(MISC_TEXT), HOST)
    text = str(ir_mod)
    for needle in (
        "llvm.fabs.v8f32",
        "llvm.fabs.f32",
        "fcmp olt <8 x float>",
        "fcmp true",
        "select  <8 x i1>",
        "fptosi <8 x float>",
        "extractelement",
        'call reassoc float @"llvm.vector.reduce.fadd.v8f32"',
    ):
        assert needle in text, needle
    meta = {
        "inputs": [tensor("x", [8])],
        "outputs": [tensor("relu", [8]), tensor("ints", [8], "int32"), tensor("scal", [4])],
        "workspace_bytes": 0,
    }
    mod = compile_and_load(ir_mod, HOST, meta, use_cache=False)
    x = np.array([-2.5, -1, 0, 1.5, 2, 3.7, -0.2, 4], np.float32)
    relu, ints, scal = mod(x)
    r = np.maximum(x, 0)
    np.testing.assert_allclose(relu, r * r + r, rtol=1e-6)
    np.testing.assert_array_equal(ints, x.astype(np.int32))
    np.testing.assert_allclose(scal, [x.sum(), np.abs(x).sum(), 1.5, np.sqrt(1.5)], rtol=1e-6)


# --- JIT, assembly, export, cache ------------------------------------------------------


def test_jit_matches_numpy(main_ir, inputs):
    mod = compile_and_load(main_ir, HOST, MAIN_META, use_cache=False)
    check_main(mod, *inputs)
    assert mod(*inputs)[2][0] == mod.workspace_address


def test_emit_assembly_uses_wide_fma():
    width = HOST.vector_width_bits
    if width < 256 or not HOST.has_feature("fma"):
        pytest.skip("host has no AVX2/AVX-512 FMA")
    lanes, reg = (16, "zmm") if width == 512 else (8, "ymm")
    vec = f"vector<{lanes}xf32>"
    text = f"""builtin.module {{
  llvm.func @fma(%a: !llvm.ptr, %b: !llvm.ptr, %c: !llvm.ptr) {{
    %x = llvm.load %a {{alignment = 4 : i64}} : !llvm.ptr -> {vec}
    %y = llvm.load %b {{alignment = 4 : i64}} : !llvm.ptr -> {vec}
    %z = llvm.load %c {{alignment = 4 : i64}} : !llvm.ptr -> {vec}
    %r = llvm.intr.fma(%x, %y, %z) {{fastmathFlags = #llvm.fastmath<contract>}} : ({vec}, {vec}, {vec}) -> {vec}
    llvm.store %r, %c {{alignment = 4 : i64}} : {vec}, !llvm.ptr
    llvm.return
  }}
}}"""
    asm = emit_assembly(translate_module(parse(text), HOST), HOST)
    assert "vfmadd" in asm and reg in asm


def test_export_and_load(main_ir, inputs, tmp_path):
    path = tmp_path / "model.so"
    assert export_library(main_ir, HOST, MAIN_META, path) == str(path)
    mod = xtvm.runtime.load(path)
    assert mod.input_info[0] == {"name": "x", "shape": (N,), "dtype": "float32"}
    assert mod.metadata["workspace_bytes"] == 4 * N
    check_main(mod, *inputs)
    with pytest.raises(Exception, match="already exported"):
        mod.export_library(str(tmp_path / "again.so"))


def test_export_errors(main_ir, tmp_path, monkeypatch):
    with pytest.raises(CompileError, match="folder does not exist"):
        export_library(main_ir, HOST, MAIN_META, tmp_path / "no" / "m.so")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(CompileError, match="no C compiler"):
        export_library(main_ir, HOST, MAIN_META, tmp_path / "m.so")


def test_load_rejects_non_xtvm_library(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        xtvm.runtime.load(tmp_path / "missing.so")
    junk = tmp_path / "junk.so"
    junk.write_text("not an ELF file")
    with pytest.raises(ModelError, match="cannot load"):
        xtvm.runtime.load(junk)


def test_object_cache(main_ir, inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("XTVM_CACHE_DIR", str(tmp_path))
    folder = cache_dir()
    assert folder is not None
    check_main(compile_and_load(main_ir, HOST, MAIN_META), *inputs)
    entries = list(folder.glob("*.o"))
    assert len(entries) == 1
    check_main(compile_and_load(main_ir, HOST, MAIN_META), *inputs)  # from the cache
    assert list(folder.glob("*.o")) == entries
    monkeypatch.setenv("XTVM_CACHE_DIR", "")
    assert cache_dir() is None


def test_unresolved_external_is_a_compile_error():
    text = """builtin.module {
  llvm.func @xtvm_no_such_function_anywhere(f32) -> f32
  llvm.func @xtvm_main(%args: !llvm.ptr, %ws: !llvm.ptr) -> i32 {
    %one = llvm.mlir.constant(1.0 : f32) : f32
    %r = llvm.call @xtvm_no_such_function_anywhere(%one) : (f32) -> f32
    %ok = llvm.mlir.constant(0 : i32) : i32
    llvm.return %ok : i32
  }
}"""
    ir_mod = translate_module(parse(text), HOST)
    with pytest.raises(CompileError, match="xtvm_no_such_function_anywhere"):
        compile_and_load(ir_mod, HOST, {"inputs": [], "outputs": []}, use_cache=False)
