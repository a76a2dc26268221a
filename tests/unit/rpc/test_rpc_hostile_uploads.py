"""Hostile uploads: garbage and malformed libraries, hostile tar packages, traversal names,
a library for another CPU. Each is refused with a typed error reply (or fails when run),
nothing is written outside the server's private directory, and the session goes on."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from rpc_config import SIGNATURE
from rpc_helpers import GOOD, array_specs, exchange, frame_bytes, still_runs

import xtvm.runtime
from xtvm.rpc import connect


def _tar_like() -> bytes:
    block = bytearray(1024)
    block[:9] = b"model.so\0"
    block[257:263] = b"ustar\0"
    return bytes(block)


def _tar(name: str, data: bytes = b"x", link: str | None = None) -> bytes:
    """A tar archive of one member (a file, or a symlink to ``link``)."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


GARBAGE = {
    "tar-traversal": _tar("../../../../tmp/xtvm-rpc-pwned", b"owned"),
    "tar-absolute": _tar("/tmp/xtvm-rpc-pwned", b"owned"),
    "tar-symlink": _tar("model.so", link="/lib/x86_64-linux-gnu/libc.so.6"),
    "tar-metadata-only": _tar("metadata.json", json.dumps(SIGNATURE).encode()),
    "random-bytes": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    "elf-magic-only": b"\x7fELF",
    "elf-header-zeros": b"\x7fELF\x02\x01\x01" + b"\0" * 1000,
    "text": b"hello, world\n",
    "shell-script": b"#!/bin/sh\ntouch /tmp/xtvm-rpc-pwned\n",
    "pickle": pickle.dumps({"__reduce__": "os.system"}),
    "zip": b"PK\x03\x04" + b"\0" * 100,
    "tar-like": _tar_like(),
    "json": json.dumps(SIGNATURE).encode(),
}


@pytest.mark.parametrize("data", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_library(live, data):
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": "model.so"}, data))
    assert reply is not None and reply.header["status"] == "error"
    assert reply.header["error"] in ("ModelError", "RPCError")
    assert not os.path.exists("/tmp/xtvm-rpc-pwned")
    still_runs(live)


BAD_METADATA = {
    "not-json": "{inputs: [",
    "a-list": "[1, 2, 3]",
    "no-outputs": json.dumps({"inputs": []}),
    "inputs-a-string": json.dumps({"inputs": "x", "outputs": []}),
    "entry-without-name": json.dumps({"inputs": [{"shape": [4]}], "outputs": []}),
    "dtype-object": json.dumps(
        {**SIGNATURE, "inputs": [{"name": "x", "shape": [4], "dtype": "object"}]}
    ),
    "dtype-unknown": json.dumps(
        {**SIGNATURE, "outputs": [{"name": "y", "shape": [4], "dtype": "float99"}]}
    ),
    "shape-negative": json.dumps(
        {**SIGNATURE, "outputs": [{"name": "y", "shape": [-4], "dtype": "float32"}]}
    ),
    "shape-petabytes": json.dumps(
        {**SIGNATURE, "outputs": [{"name": "y", "shape": [1 << 50], "dtype": "float32"}]}
    ),
    "workspace-petabytes": json.dumps({**SIGNATURE, "workspace_bytes": 1 << 52}),
    "workspace-string": json.dumps({**SIGNATURE, "workspace_bytes": "lots"}),
    "empty": "",
}


@pytest.mark.parametrize("meta", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_library_with_bad_metadata(live, c_library, meta):
    lib = c_library(f"meta_{abs(hash(meta))}", "", metadata=meta)
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": "m.so"}, lib.read_bytes()))
    assert reply is not None
    if reply.header["status"] == "ok":  # refused only when run: then it must say so
        mod = reply.header["module"]
        x = array_specs(("float32", [4], "x"))  # the input the signature declares
        run = exchange(live, frame_bytes({"cmd": "run", "module": mod, "arrays": x}, b"\0" * 16))
        assert run is not None and run.header["status"] == "error"
        exchange(live, frame_bytes({"cmd": "free", "module": mod}))
    else:
        assert reply.header["error"] in ("ModelError", "RPCError", "InputError")


def test_not_an_xtvm_library(live):
    libm = Path("/lib/x86_64-linux-gnu/libm.so.6")
    if not libm.exists():
        pytest.skip("no libm at the Debian x86_64 path")
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": "libm"}, libm.read_bytes()))
    assert reply is not None and reply.header["status"] == "error"
    assert "not an xtvm library" in reply.header["message"]


TRAVERSAL_NAMES = [
    "../../../../tmp/xtvm-rpc-evil.so",
    "/tmp/xtvm-rpc-evil.so",
    "..",
    "a/../../b.so",
    "nul\x00byte.so",
    "~root/.bashrc",
    "\u202eos.so",
    "",
]


@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_names_are_labels_only(server, live, tiny_library, name):
    before = set(os.listdir(os.path.dirname(server.root)))
    reply = exchange(live, frame_bytes({"cmd": "upload", "name": name}, tiny_library.read_bytes()))
    assert reply is not None and reply.header["status"] == "ok"
    exchange(live, frame_bytes({"cmd": "free", "module": reply.header["module"]}))
    assert not os.path.exists("/tmp/xtvm-rpc-evil.so")
    assert set(os.listdir(os.path.dirname(server.root))) - before <= set()
    # the upload itself is gone: only session folders remain in the server's directory
    for _dirpath, _dirs, files in os.walk(server.root):
        assert not files


def test_private_upload_directory(server):
    assert os.stat(server.root).st_mode & 0o777 == 0o700


def test_correct_request_after_all(server, tiny_library):
    feeds = {"x": GOOD, "w": GOOD[::-1].copy()}
    with connect("127.0.0.1", server.port) as sess:
        (out,) = sess.upload(tiny_library).run(feeds)
    np.testing.assert_array_equal(out, xtvm.runtime.load(tiny_library).run(feeds)[0])


def test_library_for_another_cpu_is_refused_before_it_runs(server, tmp_path):
    """An aarch64 library uploaded to this (x86_64) server: a typed refusal, no crash."""
    import platform
    import shutil
    import subprocess

    from xtvm.errors import IncompatibleLibraryError

    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None or platform.machine() == "aarch64":
        pytest.skip("needs an x86_64 host with aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu)")
    src = tmp_path / "arm.c"
    meta = json.dumps({**SIGNATURE, "target": {"triple": "aarch64-linux-gnu", "cpu": "generic"}})
    src.write_text(
        f"const char xtvm_metadata[] = {json.dumps(meta)};\n"
        "int xtvm_main(void **a, void *w) { return 0; }\n"
    )
    lib = tmp_path / "arm.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    with connect("127.0.0.1", server.port) as sess:
        with pytest.raises(IncompatibleLibraryError, match="aarch64"):
            sess.upload(lib)
        assert sess.info()["machine"]  # the same session goes on
