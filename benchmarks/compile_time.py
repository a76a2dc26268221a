"""Compile time of ``xtvm.build`` for a model-zoo model: cold, warm in-process, warm in a new
process (the usual case: same model built again later), each with a fresh cache folder.
Wall and CPU seconds: on a busy machine the CPU time is the steadier of the two.

    python benchmarks/compile_time.py [--model resnet18_like] [--size real] [--rounds 3]

Each round makes an empty ``XTVM_CACHE_DIR`` and runs two processes: the first builds twice
(cold, then warm in the same process), the second once (warm, new process). Only
``xtvm.build`` is timed (not imports, model generation or ``from_onnx``). Prints the
median of each and the ``--time-passes`` report of the last cold and warm builds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = """
import json, sys, time
import xtvm
from xtvm.testing import model_zoo
name, size, builds = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = model_zoo.make_model(name, size)
mod = xtvm.from_onnx(model, shape_dict=model_zoo.FAMILIES[name].shape_dict(size))
out = []
for _ in range(builds):
    start, cpu = time.perf_counter(), time.process_time()
    lib = xtvm.build(mod)
    out.append({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                "report": lib.pass_timing_report()})
print(json.dumps(out))
"""


def _child(name: str, size: str, builds: int, cache: str) -> list[dict]:
    env = {**os.environ, "XTVM_CACHE_DIR": cache}
    env.pop("XTVM_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, name, size, str(builds)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18_like")
    ap.add_argument("--size", default="real")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cold: list[dict] = []
    warm_same: list[dict] = []
    warm_new: list[dict] = []
    reports: dict[str, str] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="xtvm-cache-") as cache:
            first = _child(args.model, args.size, 2, cache)
            second = _child(args.model, args.size, 1, cache)
        cold.append(first[0])
        warm_same.append(first[1])
        warm_new.append(second[0])
        reports = {"cold": first[0]["report"], "warm (new process)": second[0]["report"]}
    print(f"{args.model} ({args.size}), {args.rounds} rounds, median seconds of xtvm.build:")
    print(f"  {'':<22} {'wall':>7} {'cpu':>7}   wall per round")
    for label, values in (
        ("cold (empty cache)", cold),
        ("warm (same process)", warm_same),
        ("warm (new process)", warm_new),
    ):
        wall = [v["seconds"] for v in values]
        cpu = statistics.median(v["cpu"] for v in values)
        rounded = [round(v, 2) for v in wall]
        print(f"  {label:<22} {statistics.median(wall):7.2f} {cpu:7.2f}   {rounded}")
    for label, text in reports.items():
        print(f"\n--time-passes, {label}:\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
