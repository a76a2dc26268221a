"""``xtvm``: compile ONNX models to shared libraries and run them (in the style of TVM's tvmc).

    xtvm compile model.onnx --input-shapes "x:[1,3,32,32]" [-O3] [--target "llvm ..."] -o model.so
    xtvm tune model.onnx --input-shapes "x:[1,3,32,32]" --output r.json [--trials N | --budget 20m]
    xtvm compile model.onnx --input-shapes "x:[1,3,32,32]" --tuning-records r.json -o model.so
    xtvm run model.so --inputs in.npz [--outputs out.npz] [--print-time --repeat 50]
    xtvm run model.onnx --input-shapes "x:[1,3,32,32]" --profile   # per-kernel times (JIT)
    xtvm version

User errors (``XTVMError``, missing files, unreadable .npz) print ``error: <one line>`` on
stderr and exit with status 1; bad command lines exit with argparse's status 2. Tuning
warnings (records skipped, kernels without a record) print as one ``warning: <line>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
import zipfile
from collections.abc import Sequence
from typing import Any

from xtvm.cli.rpc import add_rpc_parser, add_rpc_run_option, run_remote
from xtvm.cli.tune import add_tune_parser
from xtvm.errors import InputError, ModelError, ShapeWarning, TuningWarning, XTVMError

FILL_MODES = ("random", "zeros", "ones")


def _version_text() -> str:
    from importlib.metadata import version

    import llvmlite
    import llvmlite.binding as llvm

    import xtvm

    llvm_version = ".".join(str(p) for p in llvm.llvm_version_info)
    return (
        f"xtvm {xtvm.__version__} (xdsl {version('xdsl')}, llvmlite {llvmlite.__version__}, "
        f"LLVM {llvm_version})"
    )


# ------------------------------------------------------------------------------------------
# compile
# ------------------------------------------------------------------------------------------


def _dump_ir(lib: Any, folder: str) -> list[str]:
    """Write every kept level (relay.mlir ... model.ll, model.s) into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    written = []
    names = {"relay": "relay.mlir", "te": "te.mlir", "tir": "tir.mlir", "llvm": "llvm.mlir"}
    names.update({"ll": "model.ll", "asm": "model.s", "ptx": "model.ptx"})
    for level, filename in names.items():
        try:
            text = lib.get_source(level)
        except XTVMError:
            continue  # a custom pipeline may skip a level
        path = os.path.join(folder, filename)
        with open(path, "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        written.append(path)
    return written


def _build_onnx(model: str, args: argparse.Namespace) -> Any:
    """Import and build ``model`` as ``compile`` and ``run`` on an .onnx file do; the
    import is timed as the first stage of ``--time-passes``."""
    import time

    from xtvm.cli.shapes import parse_input_shapes
    from xtvm.driver import build
    from xtvm.frontend.onnx import from_onnx

    if not os.path.isfile(model):
        raise ModelError(f"cannot read '{model}': no such file")
    shapes = parse_input_shapes(args.input_shapes) if args.input_shapes is not None else None
    start = time.perf_counter()
    relay = from_onnx(model, shape_dict=shapes)
    seconds = time.perf_counter() - start
    lib = build(
        relay,
        target=args.target,
        opt_level=args.opt_level,
        pipeline=args.pipeline,
        profile=args.profile,
        cache=False if args.no_cache else None,
        tuning_records=args.tuning_records,
        verify_ir=True if args.verify_ir else None,
    )
    if args.tuning_records is not None and lib.tuning_summary not in _WARNED:
        print(lib.tuning_summary, file=sys.stderr)
    lib.time_passes.insert(0, ("onnx-import", seconds))
    return lib


def cmd_compile(args: argparse.Namespace) -> int:
    import time

    output = args.output or os.path.splitext(os.path.basename(args.model))[0] + ".so"
    lib = _build_onnx(args.model, args)
    if args.dump_ir:
        _dump_ir(lib, args.dump_ir)
    path = bundle = None
    if args.output or not args.bundle:
        start = time.perf_counter()
        path = lib.export_library(output)
        lib.time_passes.append(("export-library", time.perf_counter() - start))
    if args.bundle:
        from xtvm.backends.llvm.bundle import bundle_name

        start = time.perf_counter()
        stem = os.path.splitext(os.path.basename(args.output or args.model))[0]
        bundle = lib.export_bundle(args.bundle, bundle_name(stem))
        lib.time_passes.append(("export-bundle", time.perf_counter() - start))
    if args.time_passes:
        print(lib.pass_timing_report())
    if path:
        print(f"wrote {path}")
    if bundle:
        print(f"wrote {bundle.archive}, {bundle.header} (attach &xtvm_bundle_{bundle.name})")
        print(f"link: {bundle.link_line}")
    return 0


# ------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------


def _load_npz(path: str) -> dict[str, Any]:
    import numpy as np

    if not os.path.isfile(path):
        raise InputError(f"cannot read '{path}': no such file")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise InputError(f"'{path}' is a .npy array, not an .npz archive of named inputs")
        with data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        text = " ".join(str(exc).split())
        if "pickle" in text or not text:  # numpy's guess for files that are not archives
            text = "not an .npz archive"
        raise InputError(f"cannot read '{path}' as .npz: {text.split('. ')[0]}") from None


def _fill(info: dict[str, Any], mode: str, rng: Any) -> Any:
    import numpy as np

    shape, dtype = info["shape"], np.dtype(info["dtype"])
    if mode == "zeros":
        return np.zeros(shape, dtype)
    if mode == "ones":
        return np.ones(shape, dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.integers(0, 10, shape).astype(dtype)


def _summary(name: str, arr: Any) -> str:
    import numpy as np

    head = f"{name}: {arr.dtype}{list(arr.shape)}"
    if arr.size == 0:
        return head + " (empty)"
    flat = arr.reshape(-1)
    with np.printoptions(precision=5, suppress=True, threshold=8, edgeitems=4):
        first = np.array2string(flat[:8], separator=", ")
    stats = f"min {flat.min():.6g}, max {flat.max():.6g}, mean {flat.mean():.6g}"
    top = ""
    if arr.ndim == 2 and arr.shape[0] == 1 and arr.shape[1] > 1 and arr.dtype.kind == "f":
        idx = np.argsort(-flat)[:5]
        top = "; top-5 " + ", ".join(f"[{i}]={flat[i]:.5g}" for i in idx)
    return f"{head}: {stats}; values {first}{top}"


def _is_onnx(path: str) -> bool:
    return path.lower().endswith(".onnx")


def cmd_run(args: argparse.Namespace) -> int:
    import xtvm.runtime

    if args.rpc:
        return run_remote(args)
    if _is_onnx(args.module):
        lib = _build_onnx(args.module, args)  # compiled in memory (JIT), nothing written
        if args.time_passes:
            print(lib.pass_timing_report())
        module = lib.module
    else:
        module = xtvm.runtime.load(args.module)
    run_and_report(module, args)
    return 0


def run_and_report(module: Any, args: argparse.Namespace) -> None:
    """Read or make the inputs, run ``module`` (a runtime Module or an RPC RemoteModule),
    print and save the outputs, time it with --print-time, profile it with --profile."""
    import numpy as np

    if args.profile and not module.profiling:
        raise ModelError(
            f"'{args.module}' was compiled without profiling: compile it with "
            "'xtvm compile --profile', or run the .onnx model with --profile"
        )

    if args.inputs is not None:
        inputs = _load_npz(args.inputs)
    else:
        rng = np.random.default_rng(args.seed)
        inputs = {i["name"]: _fill(i, args.fill_mode, rng) for i in module.input_info}
    outputs = module.run(inputs)
    names = [o["name"] for o in module.output_info]
    for name, arr in zip(names, outputs):
        print(_summary(name, arr))
    print(f"workspace: {module.workspace_bytes} bytes")
    if args.outputs:
        try:
            np.savez(args.outputs, **dict(zip(names, outputs)))
        except OSError as exc:
            raise InputError(f"cannot write '{args.outputs}': {exc.strerror or exc}") from None
    if args.print_time:
        t = module.benchmark(inputs, repeat=args.repeat, number=args.number)
        print_time_summary(t, f"Execution time summary over {args.repeat} runs (ms):")
    if args.profile:
        print(module.profile(inputs, repeat=args.repeat))


def print_time_summary(t: dict[str, Any], title: str) -> None:
    """The table ``xtvm run --print-time`` prints (from ``Module.benchmark``'s dict)."""
    print(title)
    print(f"{'median':>10} {'mean':>10} {'min':>10} {'max':>10} {'std':>10}")
    print(
        f"{t['median_ms']:10.4f} {t['mean_ms']:10.4f} {t['min_ms']:10.4f} "
        f"{t['max_ms']:10.4f} {t['std_ms']:10.4f}"
    )


def cmd_version(_args: argparse.Namespace) -> int:
    print(_version_text())
    return 0


# ------------------------------------------------------------------------------------------
# argument parsing
# ------------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_model_options(p: argparse._ActionsContainer) -> None:
    """How an .onnx model is read and lowered: input shapes, target, graph opt level (shared
    by ``compile``, ``run`` on an .onnx model and ``tune``)."""
    p.add_argument(
        "--input-shapes",
        metavar="SHAPES",
        help='input shapes, e.g. "x:[1,3,224,224] y:[1,8]" (needed for symbolic dims)',
    )
    p.add_argument(
        "--target",
        default="llvm",
        help='LLVM target: "llvm [-mtriple=T] [-mcpu=C] [-mattr=+a,-b] [-opt-level=N]" '
        "(default: this machine; cross-compile with -mtriple=aarch64-linux-gnu or "
        "riscv64-linux-gnu, linked by $CC or <triple>-gcc), or an NVIDIA GPU: "
        '"cuda [-arch=sm_80]" (sm_75 and newer)',
    )
    p.add_argument(
        "-O",
        "--opt-level",
        type=int,
        choices=range(4),
        default=3,
        metavar="{0,1,2,3}",
        help="graph optimization level: -O0 (no folding, no fusion) .. -O3 (default)",
    )


def _add_build_options(p: argparse._ActionsContainer) -> None:
    """Options of ``compile`` (and of ``run`` on an .onnx model, which compiles first)."""
    add_model_options(p)
    p.add_argument("--pipeline", help="a pass pipeline string replacing the -O pipeline")
    p.add_argument(
        "--time-passes",
        action="store_true",
        help="print the time each stage took (import, passes, LLVM, cache)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="compile from scratch: neither read nor write the build cache (XTVM_CACHE_DIR)",
    )
    p.add_argument(
        "--verify-ir",
        action="store_true",
        help="verify the IR after every pass, naming the pass that breaks it (slower; "
        "also XTVM_VERIFY_IR=1)",
    )
    p.add_argument(
        "--tuning-records",
        metavar="JSON",
        help="apply the best record per kernel from this file (written by 'xtvm tune')",
    )


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xtvm",
        description="Compile ONNX models with xtvm and run the compiled libraries.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{compile,run,tune,rpc,version}")
    sub.required = True

    c = sub.add_parser("compile", help="compile an ONNX model to a shared library")
    c.add_argument("model", help="path of the .onnx model")
    _add_build_options(c)
    c.add_argument(
        "--profile",
        action="store_true",
        help="time every kernel call (for 'xtvm run --profile'; costs a clock read per call)",
    )
    c.add_argument(
        "--dump-ir",
        metavar="DIR",
        help="write the IR at each level (relay/te/tir/llvm .mlir, model.ll, model.s) to DIR",
    )
    c.add_argument(
        "-o",
        "--output",
        help="output shared library (default: <model>.so), or a package if it ends in .tar "
        "(library, metadata.json and relay source)",
    )
    c.add_argument(
        "--bundle",
        metavar="DIR",
        help="write a static bundle for C programs into DIR: lib<name>.a, <name>.h and "
        "xtvm_runtime.h, <name> from -o or the model's file name (no .so unless -o is given)",
    )
    c.set_defaults(func=cmd_compile)

    r = sub.add_parser("run", help="run a compiled library on inputs")
    r.add_argument(
        "module",
        help="a library or .tar package made by 'xtvm compile', or an .onnx model (compiled "
        "in memory first)",
    )
    r.add_argument("--inputs", metavar="NPZ", help=".npz file with one array per input name")
    r.add_argument("--outputs", metavar="NPZ", help="save the outputs to this .npz file")
    r.add_argument(
        "--fill-mode",
        choices=FILL_MODES,
        default="random",
        help="how to make inputs when --inputs is absent (default: random)",
    )
    r.add_argument("--seed", type=int, default=0, help="seed for --fill-mode random")
    r.add_argument("--print-time", action="store_true", help="benchmark and print timings")
    r.add_argument("--repeat", type=_positive, default=10, help="timed runs (default 10)")
    r.add_argument("--number", type=_positive, default=1, help="calls per timed run")
    r.add_argument(
        "--profile",
        action="store_true",
        help="print each kernel's time over --repeat runs (an .onnx model is built for it; "
        "a library must come from 'xtvm compile --profile')",
    )
    build_opts = r.add_argument_group("compiling an .onnx model")
    _add_build_options(build_opts)
    r.set_defaults(func=cmd_run)
    add_rpc_run_option(r)
    add_tune_parser(sub)
    add_rpc_parser(sub)

    v = sub.add_parser("version", help="print xtvm's version and its dependencies'")
    v.set_defaults(func=cmd_version)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.split()) if text else type(exc).__name__


_WARNED: set[str] = set()  # TuningWarning lines already printed (a summary is said once)
_show_other_warning = warnings.showwarning


def _show_warning(message: Any, category: type[Warning], *rest: Any, **kw: Any) -> None:
    """A TuningWarning or ShapeWarning is a summary meant for the user: ``warning: <line>``,
    no source line."""
    if issubclass(category, (TuningWarning, ShapeWarning)):
        print(f"warning: {_one_line(message)}", file=sys.stderr)
        _WARNED.add(str(message))
    else:
        _show_other_warning(message, category, *rest, **kw)


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except XTVMError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return getattr(exc, "exit_code", 1) or 1
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or ''}: no such file or directory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`xtvm run m.so | head`): stop quietly, as cat does; point
        # stdout at /dev/null so the interpreter's final flush does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the pipe


if __name__ == "__main__":
    sys.exit(main())
