"""Parallel code generation: splitting a module into parts, the worker protocol, and models
built in parts giving the same numbers as a build in one piece."""

from __future__ import annotations

import io
import json
import struct

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np
import pytest

import xtvm
import xtvm.backends.llvm.jit as jit
from xtvm.backends.llvm import Target
from xtvm.backends.llvm.codegen_pool import (
    CodegenPool,
    codegen_jobs,
    read_frame,
    relocatable_linker,
    write_frame,
)
from xtvm.backends.llvm.codegen_worker import serve
from xtvm.backends.llvm.partition import partition
from xtvm.backends.llvm.target import _init_llvm
from xtvm.backends.llvm.translate import RawBytesConstant
from xtvm.errors import CompileError
from xtvm.testing import model_zoo

F32 = ir.FloatType()
PTR = ir.PointerType()


def _kernel(module: ir.Module, name: str, callee: ir.Function | None = None) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), name)
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block())
    if callee is not None:
        b.call(callee, [fn.args[0]])
    b.store(ir.Constant(F32, 1.0), fn.args[0])
    b.ret_void()
    return fn


def _module() -> ir.Module:
    """An entry calling four kernels: a pair (one calls the other), one reading a weight
    blob, one reading a weak global, one plain."""
    m = ir.Module("parts")
    m.triple = Target.host().triple
    blob = ir.GlobalVariable(m, ir.ArrayType(ir.IntType(8), 8192), "weights")
    blob.initializer = RawBytesConstant(bytes(range(256)) * 32)
    blob.global_constant, blob.linkage = True, "internal"
    knob = ir.GlobalVariable(m, ir.IntType(32), "threads_knob")
    knob.initializer, knob.linkage = ir.Constant(ir.IntType(32), 0), "weak"
    body = _kernel(m, "pair_body")
    pair = _kernel(m, "pair", body)
    uses_blob = _kernel(m, "uses_blob")
    b = ir.IRBuilder(uses_blob.blocks[0])
    b.position_before(uses_blob.blocks[0].instructions[0])
    b.load(b.gep(blob, [ir.Constant(ir.IntType(64), 0), ir.Constant(ir.IntType(64), 1)]))
    uses_knob = _kernel(m, "uses_knob")
    b = ir.IRBuilder(uses_knob.blocks[0])
    b.position_before(uses_knob.blocks[0].instructions[0])
    b.load(knob)
    plain = _kernel(m, "plain")
    main = ir.Function(m, ir.FunctionType(ir.IntType(32), [PTR, PTR]), "xtvm_main")
    b = ir.IRBuilder(main.append_basic_block())
    for k in (pair, uses_blob, uses_knob, plain):
        b.call(k, [main.args[0]])
    b.ret(ir.Constant(ir.IntType(32), 0))
    return m


def _defined(text: str) -> set[str]:
    mod = llvm.parse_assembly(text)
    mod.verify()
    return {f.name for f in mod.functions if not f.is_declaration}


def test_partition_keeps_groups_and_pins_weights() -> None:
    _init_llvm()
    parts = partition(_module(), 2, "xtvm_main", 0)
    assert parts is not None and len(parts.texts) == 2
    defined = [_defined(t) for t in parts.texts]
    everything = {"xtvm_main", "pair", "pair_body", "uses_blob", "uses_knob", "plain"}
    assert defined[0] | defined[1] == everything
    assert not defined[0] & defined[1], "a function is defined in two parts"
    assert {"xtvm_main", "uses_blob"} <= defined[0], "weights stay with the entry"
    assert {"pair", "pair_body"} <= defined[0] or {"pair", "pair_body"} <= defined[1]
    assert [b.name for b in parts.blobs] == ["weights"]
    assert "weights" not in parts.texts[1]


def test_partition_declines_small_or_single_group_modules() -> None:
    assert partition(_module(), 2, "xtvm_main", 10**9) is None
    assert partition(_module(), 1, "xtvm_main", 0) is None
    m = ir.Module("one")
    k = _kernel(m, "k")
    main = ir.Function(m, ir.FunctionType(ir.VoidType(), []), "xtvm_main")
    ir.IRBuilder(main.append_basic_block()).ret_void()
    assert k is not None and partition(m, 2, "xtvm_main", 0) is None


def test_codegen_jobs_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XTVM_CODEGEN_JOBS", "3")
    assert codegen_jobs() == 3
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv("XTVM_CODEGEN_JOBS", bad)
        with pytest.raises(CompileError, match="XTVM_CODEGEN_JOBS"):
            codegen_jobs()


def test_frames_reject_truncation_and_huge_lengths() -> None:
    buf = io.BytesIO()
    write_frame(buf, b"hello")
    assert read_frame(io.BytesIO(buf.getvalue())) == b"hello"
    assert read_frame(io.BytesIO(b"")) is None
    with pytest.raises(ValueError, match="truncated"):
        read_frame(io.BytesIO(buf.getvalue()[:-1]))
    with pytest.raises(ValueError, match="truncated"):
        read_frame(io.BytesIO(b"\x00\x01"))
    with pytest.raises(ValueError, match="limit"):
        read_frame(io.BytesIO(struct.pack(">Q", 1 << 60)))


def test_worker_answers_objects_and_errors() -> None:
    host = str(Target.host())
    requests = io.BytesIO()
    for text in ("define void @f() {\n  ret void\n}\n", "this is not IR", None):
        write_frame(requests, json.dumps({"target": host}).encode() if text else b"{}")
        write_frame(requests, (text or "").encode())
    answers = io.BytesIO()
    serve(io.BytesIO(requests.getvalue()), answers)
    out = io.BytesIO(answers.getvalue())
    assert out.read(1) == b"\x00" and read_frame(out)[:4] == b"\x7fELF"
    assert out.read(1) == b"\x01" and b"LLVM rejected" in read_frame(out)
    assert out.read(1) == b"\x01"  # a header without a target
    assert read_frame(out) and out.read(1) == b""


def test_pool_compiles_a_part_itself_when_its_worker_died() -> None:
    pool = CodegenPool()
    try:
        pool.ensure(1)
        pool.workers[0].proc.kill()
        pool.workers[0].proc.wait()
        pool.ensure = lambda count: None  # type: ignore[method-assign]  # keep the dead one
        seen: list[str] = []
        objects = pool.compile(["a", "b"], "llvm", lambda t: seen.append(t) or t.encode())
        assert objects == [b"a", b"b"] and seen == ["a", "b"]
    finally:
        pool.close()


def test_pool_reports_bad_ir_from_a_worker() -> None:
    pool = CodegenPool()
    try:
        with pytest.raises(CompileError, match="LLVM rejected"):
            pool.compile(["x", "not IR"], str(Target.host()), lambda t: b"")
    finally:
        pool.close()


@pytest.mark.skipif(relocatable_linker() is None, reason="no C compiler to join the parts")
def test_model_built_in_parts_matches_one_piece(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    model = model_zoo.make_model("resnet18_like", "tiny")
    shapes = model_zoo.FAMILIES["resnet18_like"].shape_dict("tiny")
    inputs = model_zoo.random_inputs("resnet18_like", "tiny")
    mod = xtvm.from_onnx(model, shape_dict=shapes)
    monkeypatch.setenv("XTVM_CODEGEN_JOBS", "1")
    whole = xtvm.build(mod, cache=False)
    calls: list[int] = []
    real_partition = jit.partition

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003
        parts = real_partition(*args, **kwargs)
        calls.append(0 if parts is None else len(parts.texts))
        return parts

    monkeypatch.setenv("XTVM_CODEGEN_JOBS", "2")
    monkeypatch.setattr(jit, "PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(jit, "partition", spy)
    parted = xtvm.build(mod, cache=False)
    assert calls == [2], "the model was not split"
    expected = _outputs(whole(**inputs))
    for a, b in zip(_outputs(parted(**inputs)), expected):
        np.testing.assert_array_equal(a, b)
    lib = xtvm.runtime.load(parted.export_library(str(tmp_path / "m.so")))
    for a, b in zip(_outputs(lib(**inputs)), expected):
        np.testing.assert_array_equal(a, b)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for a, b in zip(expected, session.run(None, inputs)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _outputs(result: object) -> list[np.ndarray]:
    items = result if isinstance(result, (list, tuple)) else [result]
    return [np.asarray(x) for x in items]


def test_a_forked_child_does_not_share_the_parents_workers() -> None:
    import os

    import xtvm.backends.llvm.codegen_pool as cp

    parent = cp.pool()
    pid = os.fork()
    if pid == 0:  # the child: a fresh pool, never the parent's pipes
        os._exit(0 if cp._POOL is None and cp.pool() is not parent else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
