"""xtvm end to end: build two ONNX models, compile them two ways, check them against a reference.

    python examples/demo.py [--out DIR]

For each model (an MLP and a residual CNN block) the demo
  1. writes the .onnx file (examples/make_models.py),
  2. compiles it with the Python API (``xtvm.from_onnx`` + ``xtvm.build``) and runs it,
  3. compiles it with the command line (``xtvm compile ... -o model.so``) and runs the library
     with ``xtvm.runtime.load``,
  4. compares both with onnxruntime if it is installed, else with a numpy implementation
     (examples/reference.py), at rtol 1e-4 / atol 1e-5.
It exits with status 1 if any result disagrees.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_models import make_mlp, make_resnet_block_model  # noqa: E402
from reference import run_reference  # noqa: E402

import xtvm  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5
MODELS = {
    "mlp": (make_mlp, {"x": (2, 16)}),
    "resnet_block": (make_resnet_block_model, {"x": (1, 3, 32, 32)}),
}


def reference_engine():
    """(name, run(model_path, feeds) -> outputs): onnxruntime if importable, else numpy."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "numpy reference", lambda path, feeds: run_reference(onnx.load(path), feeds)

    def run(path: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return sess.run(None, feeds)

    return f"onnxruntime {ort.__version__}", run


def compare(label: str, got: list[np.ndarray], want: list[np.ndarray]) -> bool:
    ok = len(got) == len(want)
    for g, w in zip(got, want):
        abs_err = float(np.max(np.abs(g - w))) if g.size else 0.0
        rel_err = float(np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-12))) if g.size else 0.0
        close = g.shape == w.shape and np.allclose(g, w, rtol=RTOL, atol=ATOL)
        ok = ok and close
        print(
            f"  {label:<22} max abs err {abs_err:.2e}  max rel err {rel_err:.2e}  "
            f"{'OK' if close else 'MISMATCH'}"
        )
    return ok


def top_values(arr: np.ndarray, k: int = 5) -> str:
    flat = arr.reshape(-1)
    idx = np.argsort(-flat)[:k]
    return ", ".join(f"[{i}]={flat[i]:.4f}" for i in idx)


def shapes_arg(shapes: dict[str, tuple[int, ...]]) -> str:
    return " ".join(f"{k}:[{','.join(map(str, v))}]" for k, v in shapes.items())


def demo_model(name: str, out_dir: str, ref_name: str, ref_run) -> bool:
    make, shapes = MODELS[name]
    path = os.path.join(out_dir, f"{name}.onnx")
    onnx.save(make(), path)
    rng = np.random.default_rng(2024)
    feeds = {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}
    want = ref_run(path, feeds)
    print(f"\n== {name} ({path})")

    start = time.perf_counter()
    lib = xtvm.build(xtvm.from_onnx(path, shape_dict=shapes), target="llvm", opt_level=3)
    print(f"  compiled with xtvm.build in {time.perf_counter() - start:.2f} s: {lib!r}")
    got = lib.run(feeds)
    print(f"  top outputs: {top_values(got[0])}")
    ok = compare(f"python API vs {ref_name}", got, want)

    so_path = os.path.join(out_dir, f"{name}.so")
    cmd = [sys.executable, "-m", "xtvm.cli.main", "compile", path]
    cmd += ["--input-shapes", shapes_arg(shapes), "-O3", "-o", so_path]
    print(f"  $ xtvm compile {path} --input-shapes '{shapes_arg(shapes)}' -O3 -o {so_path}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  xtvm compile failed: {proc.stderr.strip()}")
        return False
    loaded = xtvm.runtime.load(so_path)
    ok = compare(f"xtvm compile vs {ref_name}", loaded.run(feeds), want) and ok
    timing = loaded.benchmark(feeds, repeat=20)
    print(f"  library: median {timing['median_ms']:.3f} ms per run over 20 runs")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the .onnx and .so files (default: a temp dir)")
    args = parser.parse_args(argv)
    ref_name, ref_run = reference_engine()
    print(f"xtvm {xtvm.__version__}; reference: {ref_name}")
    with tempfile.TemporaryDirectory(prefix="xtvm-demo-") as tmp:
        out_dir = args.out or tmp
        os.makedirs(out_dir, exist_ok=True)
        ok = True
        for name in MODELS:
            try:
                ok = demo_model(name, out_dir, ref_name, ref_run) and ok
            except xtvm.errors.XTVMError as exc:
                print(f"  error: {exc}")
                ok = False
    print("\nall results agree" if ok else "\nSOME RESULTS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
