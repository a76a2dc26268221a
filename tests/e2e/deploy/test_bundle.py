"""Static bundles (``xtvm compile --bundle``): the example links one with no dynamic loading
and gets the Python runtime's numbers; two bundles link into one program; only each bundle's
descriptor is a global symbol of its model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from c_deploy_helpers import (
    EXAMPLE,
    build_example,
    compile_c,
    conv_model,
    nonzero_model,
    printed_shapes,
    read_outputs,
    require_cc,
    run_example,
    write_inputs,
)

import xtvm
from xtvm.cli.main import main as xtvm_main

TWO_MODELS = r"""
#include <stdio.h>
#include <string.h>
#include "conv.h"
#include "nonzero.h"

/* Runs both bundles on inputs read from argv[1..3] and writes out0.bin, out1.bin. */
static int load(const char *path, void *buf, size_t n) {
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(buf, 1, n, f) : 0;
    if (f) fclose(f);
    return got == n ? 0 : -1;
}

static int run(const XtvmBundle *b, const char **files, const char *out) {
    XtvmModel *m;
    char err[256], buf[4][1024];
    int k;
    FILE *f;
    if (xtvm_model_attach(b, &m, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    for (k = 0; k < xtvm_model_num_inputs(m); k++) {
        size_t n = xtvm_model_input_info(m, k)->nbytes;
        if (load(files[k], buf[k], n) || xtvm_model_set_input(m, k, buf[k], n)) return 1;
    }
    if (xtvm_model_run(m)) { fprintf(stderr, "%s\n", xtvm_model_error(m)); return 1; }
    f = fopen(out, "wb");
    fwrite(xtvm_model_output_data(m, 0), 1, xtvm_model_output_nbytes(m, 0), f);
    fclose(f);
    xtvm_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *conv_in[2], *nz_in[1];
    if (argc != 5) return 2;
    conv_in[0] = argv[1], conv_in[1] = argv[2], nz_in[0] = argv[3];
    if (run(&xtvm_bundle_conv, conv_in, "out0.bin")) return 1;
    return run(&xtvm_bundle_nonzero, nz_in, argv[4]);
}
"""


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conv and nonzero bundles made by ``xtvm compile --bundle`` in one folder each."""
    require_cc()
    root = tmp_path_factory.mktemp("bundles")
    for name, model in (("conv", conv_model()), ("nonzero", nonzero_model())):
        onnx.save(model, root / f"{name}.onnx")
        assert xtvm_main(["compile", str(root / f"{name}.onnx"), "--bundle", str(root / name)]) == 0
        assert not (root / f"{name}.so").exists()  # only the bundle was asked for
    return root


def test_cli_prints_the_link_line(bundles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        xtvm_main(["compile", str(bundles / "conv.onnx"), "--bundle", str(bundles / "again")]) == 0
    )
    out = capsys.readouterr().out
    assert "link: " in out and f"{bundles / 'again' / 'libconv.a'} -lm" in out
    for name in ("libconv.a", "conv.h", "conv.json", "xtvm_runtime.h"):
        assert (bundles / "again" / name).is_file()


def test_example_links_a_bundle(bundles: Path, tmp_path: Path) -> None:
    folder = bundles / "conv"
    exe = build_example(
        tmp_path / "run_conv",
        ["-DXTVM_BUNDLE=xtvm_bundle_conv", f"-I{folder}"],
        [str(folder / "libconv.a"), "-lm", "-lgomp"],
    )
    lib = xtvm.build(xtvm.from_onnx(conv_model()))
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(i["shape"]).astype(np.float32) for i in lib.input_info]
    want = lib.run(inputs)
    proc = run_example(exe, [*write_inputs(tmp_path, inputs), "-o", str(tmp_path)])
    assert printed_shapes(proc.stdout) == [[1, 10]]
    np.testing.assert_allclose(read_outputs(tmp_path, want)[0], want[0], rtol=1e-6, atol=1e-6)
    nm = shutil.which("nm")
    if nm is not None:  # the runtime in a bundle is built without dlopen
        undefined = subprocess.run([nm, "-u", str(exe)], capture_output=True, text=True).stdout
        assert "dlopen" not in undefined and "xtvm_model_attach" not in undefined


def test_two_bundles_in_one_program(bundles: Path, tmp_path: Path) -> None:
    cc = require_cc()
    (tmp_path / "two.c").write_text(TWO_MODELS)
    exe = tmp_path / "two"
    compile_c(
        [cc, "-std=c99", "-O2", f"-I{bundles / 'conv'}", f"-I{bundles / 'nonzero'}"]
        + [str(tmp_path / "two.c"), str(bundles / "conv" / "libconv.a")]
        + [str(bundles / "nonzero" / "libnonzero.a"), "-lm", "-lgomp", "-o", str(exe)]
    )
    rng = np.random.default_rng(2)
    x, s = rng.standard_normal((1, 3, 8, 8)).astype(np.float32), rng.standard_normal((1, 10))
    z = rng.standard_normal((3, 5)).astype(np.float32)
    files = write_inputs(tmp_path, [x, s.astype(np.float32), z])[1::2]
    proc = subprocess.run(
        [str(exe), *files, "out1.bin"], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    conv = xtvm.build(xtvm.from_onnx(conv_model())).run([x, s.astype(np.float32)])[0]
    nz = xtvm.build(xtvm.from_onnx(nonzero_model())).run([z])[0]
    np.testing.assert_allclose(
        np.fromfile(tmp_path / "out0.bin", np.float32), conv.ravel(), rtol=1e-6
    )
    np.testing.assert_array_equal(np.fromfile(tmp_path / "out1.bin", np.int64), nz.ravel())


def test_only_the_descriptor_and_the_api_are_global(bundles: Path) -> None:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm: install binutils")
    listing = subprocess.run(
        [nm, "--defined-only", "-g", str(bundles / "conv" / "libconv.a")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    members: dict[str, list[str]] = {}
    for line in listing.splitlines():
        if line.endswith(":"):
            current = members.setdefault(line[:-1], [])
        elif line.strip():
            current.append(line.split()[-2] + " " + line.split()[-1])
    assert members["conv.o"] in (["D xtvm_bundle_conv"], ["R xtvm_bundle_conv"])
    runtime = members["xtvm_runtime.o"]
    assert runtime and all(
        kind == "W" and name.startswith("xtvm_") for kind, name in (s.split() for s in runtime)
    )


CROSS = {
    "aarch64": ("aarch64-linux-gnu", ("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu")),
    "riscv64": (
        "riscv64-linux-gnu",
        ("qemu-riscv64", "-L", "/usr/riscv64-linux-gnu", "-cpu", "rv64,v=true,vlen=128"),
    ),
}


@pytest.mark.cross
@pytest.mark.parametrize("arch", sorted(CROSS))
def test_cross_bundle_under_qemu(arch: str, tmp_path: Path) -> None:
    """A bundle for aarch64 / riscv64, linked into the example by the target's gcc and run
    under qemu-user, gives the host's numbers within 1e-5."""
    triple, qemu = CROSS[arch]
    gcc = shutil.which(f"{triple}-gcc")
    if gcc is None or shutil.which(qemu[0]) is None:
        pytest.skip(f"needs {triple}-gcc and {qemu[0]}: apt-get install gcc-{triple} qemu-user")
    target = f"llvm -mtriple={triple}"
    bundle = xtvm.build(xtvm.from_onnx(conv_model()), target=target).export_bundle(tmp_path, "conv")
    assert os.path.basename(bundle.link_line.split()[0]) == f"{triple}-gcc"
    exe = tmp_path / "run_conv"
    compile_c(
        [gcc, "-std=c99", "-O2", "-DXTVM_BUNDLE=xtvm_bundle_conv", f"-I{tmp_path}"]
        + [str(EXAMPLE), bundle.archive, "-lm", "-o", str(exe)]
    )
    host = xtvm.build(xtvm.from_onnx(conv_model()))
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal(i["shape"]).astype(np.float32) for i in host.input_info]
    want = host.run(inputs)
    args = [*qemu, str(exe), *write_inputs(tmp_path, inputs), "-o", str(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(read_outputs(tmp_path, want)[0], want[0], rtol=1e-5, atol=1e-5)


def test_bundle_names_and_folder_errors(tmp_path: Path) -> None:
    from xtvm.backends.llvm.bundle import bundle_name, export_bundle
    from xtvm.errors import CompileError

    assert bundle_name("res-tiny.v2") == "res_tiny_v2" and bundle_name("3net") == "_3net"
    lib = xtvm.build(xtvm.from_onnx(nonzero_model()))
    with pytest.raises(CompileError, match="bad bundle name"):
        export_bundle(b"", lib.target, lib.metadata, str(tmp_path), "no-dash")
    (tmp_path / "file").write_text("")
    with pytest.raises(CompileError, match="cannot create the bundle folder"):
        lib.export_bundle(tmp_path / "file" / "sub")
