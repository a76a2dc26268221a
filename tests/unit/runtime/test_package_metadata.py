"""Malformed metadata is a one-line ModelError at load time, never a crash at the first run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import xtvm.runtime
from xtvm.errors import ModelError
from xtvm.runtime.metadata import check_metadata

GOOD: dict[str, Any] = {
    "inputs": [{"name": "x", "shape": [2, 3], "dtype": "float32"}],
    "outputs": [{"name": "y", "shape": [2, 3], "dtype": "bfloat16"}],
    "workspace_bytes": 64,
    "target": {"triple": "x86_64-unknown-linux-gnu", "cpu": "generic", "features": ""},
    "xtvm_version": "0.1.0",
}


def _with(path: tuple, value: Any) -> dict[str, Any]:
    meta = json.loads(json.dumps(GOOD))
    node = meta
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return meta


BAD = {
    "not-object": ([1, 2], "it is not a JSON object"),
    "no-inputs": ({"outputs": []}, "'inputs' is not a list"),
    "input-not-object": (_with(("inputs", 0), 5), r"inputs\[0\] is not an object"),
    "name-not-string": (_with(("inputs", 0, "name"), 7), "has no string 'name'"),
    "negative-dim": (_with(("inputs", 0, "shape"), [2, -1]), "not non-negative integers"),
    "float-dim": (_with(("outputs", 0, "shape"), [2.5]), "not non-negative integers"),
    "bool-dim": (_with(("outputs", 0, "shape"), [True]), "not non-negative integers"),
    "huge-rank": (_with(("inputs", 0, "shape"), [1] * 65), "at most 64 dims"),
    "unknown-dtype": (_with(("inputs", 0, "dtype"), "float99"), "unknown dtype 'float99'"),
    "object-dtype": (_with(("inputs", 0, "dtype"), "object"), "unknown dtype 'object'"),
    "workspace": (_with(("workspace_bytes",), -4), "'workspace_bytes' is not"),
    "target-type": (_with(("target",), "x86"), "'target' is not an object"),
    "target-field": (_with(("target", "features"), ["+avx"]), "'target' is not an object"),
}


def test_good_metadata_passes() -> None:
    assert check_metadata(GOOD, "m.so", "xtvm_metadata") is GOOD
    old = {k: v for k, v in GOOD.items() if k not in ("target", "xtvm_version")}
    assert check_metadata(old, "m.so", "xtvm_metadata") is old  # older builds


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_metadata_is_refused(case: str) -> None:
    meta, message = BAD[case]
    with pytest.raises(
        ModelError, match=f"cannot load 'm.so': malformed xtvm_metadata: .*{message}"
    ):
        check_metadata(meta, "m.so", "xtvm_metadata")


def test_library_with_bad_metadata_is_refused_at_load(tmp_path: Path) -> None:
    """A real shared library (built with the C compiler) whose signature has a negative dim."""
    from xtvm.backends.llvm.toolchain import c_compiler

    cc = c_compiler()
    if cc is None:
        pytest.skip("needs a C compiler (install gcc)")
    meta = json.dumps(BAD["negative-dim"][0]).replace("\\", "\\\\").replace('"', '\\"')
    src = tmp_path / "fake.c"
    src.write_text(
        f'const char xtvm_metadata[] = "{meta}";\n'
        "int xtvm_main(void **args, void *ws) { (void)args; (void)ws; return 0; }\n"
    )
    lib = tmp_path / "fake.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, timeout=60)
    with pytest.raises(ModelError, match="malformed xtvm_metadata: inputs\\[0\\] has a shape"):
        xtvm.runtime.load(lib)
