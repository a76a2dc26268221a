"""A/B of two compiler trees on the zoo models: export each model's library with each tree,
then time both libraries in one process, in alternating blocks with a pause between them.

    PYTHONPATH=/path/to/old/tree python benchmarks/ab_libraries.py build old --out DIR
    python benchmarks/ab_libraries.py build new --out DIR
    OMP_NUM_THREADS=1 XTVM_NUM_THREADS=1 python benchmarks/ab_libraries.py time --out DIR --rounds 7

(``git worktree add /tmp/old <commit>`` gives the old tree; PYTHONPATH puts it before the
installed one.) Prints each model's median block minimum and new/old, and checks that both
libraries give the same outputs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

MODELS = "resnet18_like,mobilenetv2_like,yolo_like,dbnet_like,crnn_like,svtr_like,bert_like"


def build(tag: str, out: str, models: list[str]) -> None:
    import xtvm
    from xtvm.testing import model_zoo

    for name in models:
        model = model_zoo.make_model(name, "real")
        mod = xtvm.from_onnx(model, shape_dict=model_zoo.FAMILIES[name].shape_dict("real"))
        xtvm.build(mod).export_library(f"{out}/{tag}_{name}.so")
        print(tag, name, "exported", flush=True)


def _outputs(result: object) -> list[np.ndarray]:
    return [np.asarray(x) for x in (result if isinstance(result, (list, tuple)) else [result])]


def timing(out: str, models: list[str], rounds: int, calls: int) -> None:
    import xtvm.runtime
    from xtvm.testing import model_zoo

    for name in models:
        libs = {t: xtvm.runtime.load(f"{out}/{t}_{name}.so") for t in ("old", "new")}
        inputs = model_zoo.random_inputs(name, "real")
        a, b = (_outputs(libs[t](**inputs)) for t in ("old", "new"))
        err = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
        times: dict[str, list[float]] = {"old": [], "new": []}
        for r in range(rounds):
            for t in ("old", "new") if r % 2 == 0 else ("new", "old"):
                block = []
                for _ in range(calls):
                    start = time.perf_counter()
                    libs[t](**inputs)
                    block.append(time.perf_counter() - start)
                times[t].append(min(block))
                time.sleep(0.2)
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(
            f"{name:18s} old {old * 1e3:8.2f} ms  new {new * 1e3:8.2f} ms  "
            f"new/old {new / old:5.3f}  max|diff| {err:.1e}",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["build", "time"])
    ap.add_argument("tag", nargs="?", choices=["old", "new"])
    ap.add_argument("--out", required=True, help="folder for the libraries")
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=5)
    args = ap.parse_args()
    models = args.models.split(",")
    if args.command == "build":
        if args.tag is None:
            ap.error("build needs a tag: old or new")
        build(args.tag, args.out, models)
    else:
        timing(args.out, models, args.rounds, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
