"""Fixtures of the RPC tests: a tiny compiled model, hand-written C libraries, and servers
on ephemeral loopback ports with short timeouts (so stalls end in about a second)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rpc_config import KEY, SIGNATURE, fast_config

from xtvm.rpc.server import RPCServer


@pytest.fixture(scope="module")
def server() -> Iterator[RPCServer]:
    with RPCServer(fast_config()).start() as srv:
        yield srv


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[RPCServer]:
    with RPCServer(fast_config(key=KEY)).start() as srv:
        yield srv


@pytest.fixture(scope="session")
def tiny_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``y = relu(x) + x * w`` on float32[2, 8] (x and a second input w), exported."""
    import onnx
    from onnx import TensorProto, helper

    import xtvm

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Mul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["r", "m"], ["y"]),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "tiny", [x, w], [y]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("rpc") / "tiny.so"
    xtvm.build(xtvm.from_onnx(model)).export_library(str(path))
    return path


def _c_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid C string literal here


@pytest.fixture(scope="session")
def c_library(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``c_library(name, body, metadata=SIGNATURE, extra="")``: a shared library whose
    ``xtvm_main`` runs ``body`` (C statements), compiled with the system C compiler."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler: install gcc (Debian: apt-get install gcc)")
    folder = tmp_path_factory.mktemp("clibs")

    def make(name: str, body: str, metadata: object = SIGNATURE, extra: str = "") -> Path:
        meta = metadata if isinstance(metadata, str) else json.dumps(metadata)
        src = folder / f"{name}.c"
        src.write_text(
            "#include <stdlib.h>\n#include <signal.h>\n"
            f"const char xtvm_metadata[] = {_c_string(meta)};\n{extra}\n"
            "int xtvm_main(void **args, void *ws) {\n"
            "  float *x = (float *)args[0], *y = (float *)args[1]; (void)ws; (void)x; (void)y;\n"
            f"  {body}\n  return 0;\n}}\n"
        )
        out = folder / f"{name}.so"
        subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(out), str(src)], check=True)
        return out

    return make


@pytest.fixture(scope="module")
def live(server, tiny_library):
    """One session with the tiny model uploaded (its id is 1), shared by a file's cases."""
    from rpc_helpers import exchange, frame_bytes, open_session

    sock = open_session(server.port)
    reply = exchange(
        sock, frame_bytes({"cmd": "upload", "name": "tiny"}, tiny_library.read_bytes())
    )
    assert reply is not None and reply.header["status"] == "ok" and reply.header["module"] == 1
    yield sock
    sock.close()
