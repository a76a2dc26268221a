"""``xtvm-opt``: an opt-like driver over xtvm's dialects and passes (xDSL's opt main).

On top of ``xdsl-opt`` it reads ``.onnx`` models (``--input-shapes`` binds their inputs),
expands named pipelines (``-p O3``), prints the IR after every pass with
``--print-ir-after-all`` (on stderr, as MLIR does) and turns user errors into one line
``error: ...`` with exit status 1 instead of a traceback. ``--verify-diagnostics`` and
``--parsing-diagnostics`` keep xDSL's behaviour (print the diagnostic, exit 0).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.printer import Printer
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from xtvm.context import make_context
from xtvm.errors import IRError, XTVMError
from xtvm.passes.registry import PIPELINES, all_passes, available_pass_factories


def expand_named_pipelines(spec: str) -> str:
    """Replace each top-level item of ``spec`` that names a pipeline (``O3``) by its string."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(spec):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(spec[start:i])
            start = i + 1
    items.append(spec[start:])
    return ",".join(PIPELINES.get(item.strip(), item) for item in items)


def _first_doc_line(cls: type) -> str:
    """First line of the class docstring, without pointers such as "(see the module doc...)"."""
    doc = (cls.__doc__ or "").strip()
    line = doc.splitlines()[0].strip() if doc else ""
    return re.sub(r"\s*\(see the module doc\w*\)", "", line)


def help_epilog() -> str:
    """The xtvm passes and named pipelines, for ``--help``."""
    lines = ["xtvm passes (xDSL's own passes such as canonicalize and cse work too):"]
    passes = all_passes()
    width = max((len(n) for n in passes), default=0)
    for name, cls in passes.items():
        lines.append(f"  {name:<{width}}  {_first_doc_line(cls)}")
    lines.append("")
    lines.append("named pipelines (-p NAME):")
    for name, spec in PIPELINES.items():
        lines.append(f"  {name}  {spec}")
    lines.append("")
    lines.append("examples:")
    lines.append("  xtvm-opt model.onnx --input-shapes 'x:[1,3,32,32]'          # relay IR")
    lines.append("  xtvm-opt model.onnx -p O3 --print-ir-after-all -o out.mlir")
    lines.append("  xtvm-opt in.mlir -p relay-fold-constant,relay-fuse-ops")
    return "\n".join(lines)


class XTVMOptMain(xDSLOptMain):
    version_format = "xtvm-opt built on xdsl version {xdsl_version}"

    def register_all_dialects(self) -> None:
        # one Context built in one place (xtvm.context); replaces xDSL's universe of dialects
        self.ctx = make_context()

    def register_all_passes(self) -> None:
        for name, factory in available_pass_factories().items():
            self.register_pass(name, factory)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()
        self.available_frontends["onnx"] = self._parse_onnx

    def _parse_onnx(self, io: IO[bytes]) -> ModuleOp:
        from xtvm.cli.shapes import parse_input_shapes
        from xtvm.frontend.onnx import from_onnx

        text = self.args.input_shapes
        shapes = parse_input_shapes(text) if text is not None else None
        return from_onnx(io.read(), shape_dict=shapes)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = help_epilog()
        for action in arg_parser._actions:
            if "--passes" in action.option_strings:
                action.help = (
                    "comma-separated pass pipeline, e.g. 'relay-fuse-ops{max-depth=1},cse', "
                    "or a named pipeline (O0..O3); see the list below"
                )
        arg_parser.add_argument(
            "--input-shapes",
            metavar="SHAPES",
            help='shapes of an .onnx input\'s inputs, e.g. "x:[1,3,224,224] y:[1,8]"',
        )
        arg_parser.add_argument(
            "--print-ir-after-all",
            action="store_true",
            help="print the IR after every pass (including the last) on stderr",
        )

    def parse_chunk(self, chunk: IO[bytes], file_extension: str, start_offset: int = 0):  # type: ignore[override]
        """Parse (or import an .onnx model), timed under --time-passes like the passes."""
        start = time.perf_counter()
        module = super().parse_chunk(chunk, file_extension, start_offset)
        if self.args.time_passes:
            print(f"Parse input ({file_extension}) took {time.perf_counter() - start} seconds")
        return module

    def output_resulting_program(self, prog: ModuleOp) -> str:
        start = time.perf_counter()
        text = super().output_resulting_program(prog)
        if self.args.time_passes:
            print(f"Print output took {time.perf_counter() - start} seconds")
        return text

    def prepare_input(self):  # type: ignore[override]
        try:
            return super().prepare_input()
        except ValueError as exc:  # unknown file extension
            raise IRError(f"{exc}; use -f mlir or -f onnx") from None

    def setup_pipeline(self) -> None:
        """Like xDSL's, plus named pipelines and --print-ir-after-all."""
        args = self.args
        start = time.perf_counter()
        verify_seconds = 0.0

        def callback(prev: ModulePass | None, module: ModuleOp, nxt: ModulePass | None) -> None:
            nonlocal start, verify_seconds
            if args.time_passes and prev is not None:
                print(f"Pass {prev.name} took {time.perf_counter() - start} seconds")
            if not args.disable_verify:
                verify_start = time.perf_counter()
                module.verify()
                verify_seconds += time.perf_counter() - verify_start
                if args.time_passes and nxt is None:
                    print(f"Verify (after every pass) took {verify_seconds} seconds")
            if prev is not None and args.print_ir_after_all:
                print(f"// -----// IR Dump After {prev.name} //----- //", file=sys.stderr)
                Printer(stream=sys.stderr).print_op(module)
                print("\n", file=sys.stderr)
            elif prev and nxt and args.print_between_passes:
                print(f"IR after {prev.name}:")
                Printer(stream=sys.stdout).print_op(module)
                print("\n\n\n")
            if args.time_passes and nxt is not None:
                start = time.perf_counter()

        spec = expand_named_pipelines(args.passes) if args.passes else ""
        self.pipeline = PassPipeline.parse_spec(self.available_passes, spec, callback)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_error(exc: BaseException) -> str:
    """A one-line message for a user-facing failure."""
    if isinstance(exc, ParseError):
        return _one_line(f"{exc.span.get_location()}: {exc.msg}")
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or exc}: no such file or directory"
    if isinstance(exc, DiagnosticException):
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        return _one_line(lines[0]) if lines else type(exc).__name__
    return _one_line(str(exc)) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # ValueError here means a bad pipeline string (unknown pass, bad option)
        opt = XTVMOptMain(description="xtvm modular optimizer driver", args=argv)
    except (XTVMError, ValueError) as exc:
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 1
    try:
        opt.run()
    except (XTVMError, ParseError, DiagnosticException, OSError) as exc:
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
