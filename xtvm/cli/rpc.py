"""``xtvm rpc server`` and ``xtvm run --rpc HOST:PORT``: the command line of :mod:`xtvm.rpc`.

Neither imports the compiler: a board runs the server with numpy alone, and a host runs
a library remotely without building anything.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from xtvm.errors import InputError

KEY_HELP = "the shared key (visible in ps: prefer $XTVM_RPC_KEY)"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 86400], got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def cmd_rpc_server(args: argparse.Namespace) -> int:
    from xtvm.rpc.auth import key_from_env
    from xtvm.rpc.protocol import Limits
    from xtvm.rpc.server import RPCServer, ServerConfig

    key = args.key.encode("utf-8") if args.key else key_from_env()
    limits = Limits(
        max_payload=args.max_upload_mb << 20,
        idle_timeout=args.idle_timeout,
        frame_timeout=args.read_timeout,
    )
    config = ServerConfig(
        host=args.host,
        port=args.port,
        key=key,
        limits=limits,
        max_sessions=args.max_sessions,
        request_timeout=args.timeout,
        session_memory_mb=max(0, args.session_memory_mb),
    )
    server = RPCServer(config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    m = server.machine
    print(
        f"xtvm rpc server on {server.host}:{server.port} ({m['triple']}, {m['cpus']} cpus), "
        f"key {'required' if key else 'not required (loopback only)'}; Ctrl-C stops it",
        flush=True,
    )
    # SIGTERM ends it as Ctrl-C does: sessions closed, uploads deleted
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def add_rpc_parser(subparsers: Any) -> None:
    """``xtvm rpc server ...``"""
    rpc = subparsers.add_parser("rpc", help="run compiled libraries for remote clients")
    sub = rpc.add_subparsers(dest="rpc_command", metavar="{server}")
    sub.required = True
    s = sub.add_parser(
        "server",
        help="serve uploads, runs and timings (xtvm run --rpc, xtvm tune --rpc)",
        description="Run libraries that clients upload, each session in a child process. "
        "Binds loopback unless --host says otherwise; any other address needs a key "
        "($XTVM_RPC_KEY or --key), which clients prove without sending it.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=9090, help="port (default 9090; 0: any free)")
    s.add_argument("--key", help=KEY_HELP)
    s.add_argument(
        "--max-sessions", type=_count, default=4, metavar="N", help="concurrent sessions (4)"
    )
    s.add_argument(
        "--max-upload-mb",
        type=_count,
        default=256,
        metavar="MB",
        help="largest upload or request (256 MiB)",
    )
    s.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="seconds a load/run/time may take (60)",
    )
    s.add_argument(
        "--read-timeout",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="seconds to receive one message (60)",
    )
    s.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=300.0,
        metavar="S",
        help="seconds a session may idle (300)",
    )
    s.add_argument(
        "--session-memory-mb",
        type=int,
        default=0,
        metavar="MB",
        help="cap each session process's address space (default 0: no cap)",
    )
    s.set_defaults(func=cmd_rpc_server)


def add_rpc_run_option(p: argparse._ActionsContainer) -> None:
    """``xtvm run --rpc HOST:PORT``."""
    p.add_argument(
        "--rpc",
        metavar="HOST:PORT",
        help="run on an 'xtvm rpc server' (key from $XTVM_RPC_KEY); an .onnx model is "
        "compiled for the server's CPU first",
    )


def run_remote(args: argparse.Namespace) -> int:
    """``xtvm run --rpc``: upload the library (an .onnx model is compiled for the server's
    CPU first), run it once, print outputs (and timings)."""
    import tempfile

    from xtvm.cli.main import _build_onnx, run_and_report
    from xtvm.rpc import connect, parse_address

    if not os.path.isfile(args.module):
        raise InputError(f"cannot read '{args.module}': no such file")
    host, port = parse_address(args.rpc)
    with connect(host, port) as session:
        info = session.info()
        print(f"running on {session.address} ({info.get('triple', '?')})")
        if not args.module.lower().endswith(".onnx"):
            run_and_report(session.upload(args.module), args)
            return 0
        from xtvm.rpc.client import target_for

        if args.target == "llvm":
            args.target = target_for(info)
        lib = _build_onnx(args.module, args)
        with tempfile.TemporaryDirectory(prefix="xtvm-rpc-run-") as tmp:
            path = os.path.join(tmp, os.path.basename(args.module)[:-5] + ".so")
            lib.export_library(path)
            module = session.upload(path)
        run_and_report(module, args)
    return 0


# ------------------------------------------------------------------------------------------
# xtvm tune --rpc
# ------------------------------------------------------------------------------------------


def open_tuning_executor(args: argparse.Namespace) -> Any:
    """Connect to the server of ``xtvm tune --rpc``; without an explicit ``--target``,
    ``args.target`` becomes the server's (built here, run there)."""
    from xtvm.autotune.rpc_runner import RPCRunExecutor
    from xtvm.rpc.client import target_for

    executor = RPCRunExecutor(args.rpc)
    info = executor.info()
    if args.target == "llvm":
        args.target = target_for(info)
    from xtvm.backends.llvm import Target

    same = args.target == str(Target.host())
    shown = "llvm (this machine's CPU, which the server shares)" if same else args.target
    print(
        f"measuring on {executor.session.address} ({info.get('triple')}, "
        f"{info.get('cpus')} cpus); target {shown}",
        flush=True,
    )
    return executor


def compare_remote(untuned: Any, tuned: Any, feed: list[Any], rpc: Any) -> tuple[float, float]:
    """Median seconds per run of the untuned and tuned builds on ``rpc``'s server, timed
    in alternating rounds there (the model's time, not the network's)."""
    import statistics
    import tempfile

    from xtvm.cli.tune import warn_if_outputs_differ

    session = rpc.live_session()
    with tempfile.TemporaryDirectory(prefix="xtvm-compare-") as tmp:
        remote = []
        for name, lib in (("untuned", untuned), ("tuned", tuned)):
            path = os.path.join(tmp, f"{name}.so")
            lib.export_library(path)
            remote.append(session.upload(path))
    warn_if_outputs_differ(remote[0].run(feed), remote[1].run(feed))
    times: list[list[float]] = [[], []]
    for _ in range(3):
        for k, mod in enumerate(remote):
            t = mod.benchmark(feed, repeat=3, number=0, min_repeat_ms=100.0)
            times[k].extend(c / 1e3 for c in t["costs_ms"])
    return statistics.median(times[0]), statistics.median(times[1])
