"""Deployment start-up: how long a fresh process needs to load a compiled model with the
runtime alone (``import xtvm.runtime``, no xdsl, no llvmlite) and run it once.

    python benchmarks/runtime_load.py [--dir DIR] [--runs 5] [--family resnet18_like]

Steps: (1) a separate process compiles the zoo model at size "real" (ResNet-18-sized,
224x224) and exports it as ``model.so`` and ``model.tar`` into DIR, with its output on a
fixed input (skipped when DIR already holds them); (2) for each format, ``--runs`` fresh
Python processes each time ``import xtvm.runtime``, ``load`` and the first inference, and
check that no compiler module was imported and the output equals the compiler's. Prints the
median and minimum of each phase; the issue's target is load + first run under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

EXPORT = """
import sys, numpy as np, xtvm
from xtvm.testing import model_zoo
family, folder = sys.argv[1], sys.argv[2]
shapes = model_zoo.FAMILIES[family].shape_dict("real")
lib = xtvm.build(xtvm.from_onnx(model_zoo.make_model(family, "real"), shape_dict=shapes))
lib.export_library(folder + "/model.so")
lib.export_library(folder + "/model.tar")
feeds = model_zoo.random_inputs(family, "real")
outs = lib.run(feeds)
np.savez(folder + "/io.npz", **{"in_" + k: v for k, v in feeds.items()},
         **{f"out_{i}": o for i, o in enumerate(outs)})
"""

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import xtvm.runtime
t1 = time.perf_counter()
module = xtvm.runtime.load(sys.argv[1])
t2 = time.perf_counter()
data = np.load(sys.argv[2])
feeds = {k[3:]: data[k] for k in data.files if k.startswith("in_")}
t3 = time.perf_counter()
outs = module.run(feeds)
t4 = time.perf_counter()
module.run(feeds)
t5 = time.perf_counter()
compiler = sorted({k.split(".")[0] for k in sys.modules} & {"xdsl", "llvmlite"})
assert not compiler, f"the runtime imported compiler modules: {compiler}"
err = max(float(np.max(np.abs(o - data[f"out_{i}"]))) for i, o in enumerate(outs))
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_run": t4 - t3,
                  "second_run": t5 - t4, "max_err": err}))
"""


def export(family: str, folder: str) -> None:
    """Compile and export in another process (the timed processes must not inherit it)."""
    if all(os.path.exists(os.path.join(folder, f)) for f in ("model.so", "model.tar", "io.npz")):
        return
    print(f"compiling {family} (real) into {folder} ...", flush=True)
    subprocess.run([sys.executable, "-c", EXPORT, family, folder], check=True)


def time_format(path: str, io_npz: str, runs: int) -> list[dict[str, float]]:
    """One fresh process per run; each returns its phase times in seconds."""
    results = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, path, io_npz], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"runtime process failed on {path}:\n{proc.stderr}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", help="folder for the exported model (default: a temporary one)")
    p.add_argument("--runs", type=int, default=5, help="fresh processes per format")
    p.add_argument("--family", default="resnet18_like", help="model_zoo family (size real)")
    args = p.parse_args(argv)
    folder = args.dir or tempfile.mkdtemp(prefix="xtvm-runtime-load-")
    os.makedirs(folder, exist_ok=True)
    export(args.family, folder)
    sizes = {f: os.path.getsize(os.path.join(folder, f)) / 1e6 for f in ("model.so", "model.tar")}
    print(
        f"{args.family} real: model.so {sizes['model.so']:.1f} MB, model.tar "
        f"{sizes['model.tar']:.1f} MB; {args.runs} fresh processes per format; seconds"
    )
    print(
        f"{'format':<8}{'import':>14}{'load':>14}{'first run':>14}{'load+run':>14}"
        f"{'second run':>14}{'max |err|':>11}"
    )
    for name in ("model.so", "model.tar"):
        res = time_format(os.path.join(folder, name), os.path.join(folder, "io.npz"), args.runs)
        for r in res:
            r["load+run"] = r["load"] + r["first_run"]

        def cell(key: str, res: list[dict[str, float]] = res) -> str:
            values = [r[key] for r in res]
            return f"{statistics.median(values):7.3f} ({min(values):.3f})"

        keys = ("import", "load", "first_run", "load+run", "second_run")
        err = max(r["max_err"] for r in res)
        print(f"{name:<8}" + "".join(f"{cell(k):>14}" for k in keys) + f"{err:>11.2e}")
    print("cells: median (min) over the runs; target: load+run < 0.5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
