"""xtvm_model_open on small hand-written libraries: a parallel one keeps libgomp loaded after
it is freed (unloading OpenMP under its idle workers crashed at exit), and metadata that is
not NUL-terminated inside its symbol is refused without reading past it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from xtvm.backends.llvm.toolchain import c_compiler
from xtvm.runtime import c_runtime_dir, c_runtime_sources

HERE = Path(__file__).resolve().parent
META = '{"inputs": [], "outputs": [], "workspace_bytes": 0}'

PARALLEL = (
    f"#include <stdint.h>\nconst char xtvm_metadata[] = {json.dumps(META)};\n"
    "int32_t xtvm_main(void **args, void *ws) {\n"
    "    volatile int n = 0; (void)args; (void)ws;\n"
    "#pragma omp parallel num_threads(2)\n"
    "    { n++; }\n"
    "    return 0;\n"
    "}\n"
)
UNTERMINATED = (
    "#include <stdint.h>\n"
    "const char xtvm_metadata[4] = {'{', '}', ' ', ' '};\n"
    "int32_t xtvm_main(void **args, void *ws) { (void)args; (void)ws; return 0; }\n"
)


def _cc() -> str:
    cc = c_compiler()
    if cc is None:
        pytest.skip("no C compiler: install gcc (Debian: apt-get install gcc) or set $CC")
    return cc


def _run(cc: str, tmp: Path, library_source: str, flags: list[str]) -> str:
    (tmp / "lib.c").write_text(library_source)
    lib = tmp / "libfake.so"
    subprocess.run(
        [cc, "-shared", "-fPIC", *flags, str(tmp / "lib.c"), "-o", str(lib)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    exe = tmp / "open_driver"
    subprocess.run(
        [cc, f"-I{c_runtime_dir()}", str(HERE / "open_driver.c"), *c_runtime_sources()]
        + ["-o", str(exe), "-ldl"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    proc = subprocess.run([str(exe), str(lib)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_parallel_library_keeps_openmp_loaded(tmp_path: Path) -> None:
    cc = _cc()
    try:
        out = _run(cc, tmp_path, PARALLEL, ["-fopenmp"])
    except subprocess.CalledProcessError as exc:
        if b"omp" not in exc.stderr.lower():
            raise
        pytest.skip(f"the C compiler cannot build OpenMP code: {exc.stderr[:200]!r}")
    assert out == "pinned"


def test_unterminated_metadata_is_refused(tmp_path: Path) -> None:
    out = _run(_cc(), tmp_path, UNTERMINATED, [])
    assert out.startswith("error: corrupt xtvm_metadata") and "not NUL-terminated" in out
