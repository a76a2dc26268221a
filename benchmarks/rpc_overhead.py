"""RPC round-trip overhead on loopback: a tiny model run over RPC minus the same run local.

    python benchmarks/rpc_overhead.py [--calls 500] [--size 16] [--key]

Builds ``y = relu(x) + x`` on float32[1, SIZE], starts an RPC server on an ephemeral
loopback port in this process (its session runs in a child process, as always), uploads
the library and times ``RemoteModule.run`` (client encode, socket, server checks, child,
and back) against ``Module.run`` of the same library loaded locally. Prints the medians
and their difference over ``--calls`` calls each, alternating in blocks so a busy phase
of the machine hits both. The target is an overhead under 5 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def _model(size: int):  # -> onnx.ModelProto
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, size])
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "x"], ["y"])]
    graph = helper.make_graph(nodes, "tiny", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _time(fn, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per side (default 500)")
    parser.add_argument("--size", type=int, default=16, help="elements of x (default 16)")
    parser.add_argument("--key", action="store_true", help="authenticate with a shared key")
    args = parser.parse_args()

    import xtvm
    import xtvm.runtime
    from xtvm.rpc import connect
    from xtvm.rpc.server import RPCServer, ServerConfig

    key = os.urandom(16).hex().encode() if args.key else None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.so")
        xtvm.build(xtvm.from_onnx(_model(args.size))).export_library(path)
        local = xtvm.runtime.load(path)
        x = np.random.default_rng(0).standard_normal((1, args.size)).astype(np.float32)
        with RPCServer(ServerConfig(port=0, key=key)).start() as server:
            t0 = time.perf_counter()
            session = connect("127.0.0.1", server.port, key=key)
            connect_ms = (time.perf_counter() - t0) * 1e3
            t0 = time.perf_counter()
            remote = session.upload(path)
            upload_ms = (time.perf_counter() - t0) * 1e3
            (got,) = remote.run([x])
            np.testing.assert_array_equal(got, local.run([x])[0])
            for _ in range(20):  # warm both paths
                remote.run([x])
                local.run([x])
            remote_s: list[float] = []
            local_s: list[float] = []
            block = max(1, args.calls // 10)
            for _ in range(10):
                remote_s += _time(lambda: remote.run([x]), block)
                local_s += _time(lambda: local.run([x]), block)
            session.close()
    r, loc = statistics.median(remote_s) * 1e3, statistics.median(local_s) * 1e3
    p90 = sorted(remote_s)[int(0.9 * len(remote_s))] * 1e3
    print(f"connect (handshake{' + key' if key else ''}): {connect_ms:.2f} ms")
    print(f"upload + load (new session process): {upload_ms:.1f} ms")
    print(f"run, local:  median {loc:.4f} ms over {len(local_s)} calls")
    print(f"run, remote: median {r:.4f} ms (p90 {p90:.4f} ms) over {len(remote_s)} calls")
    verdict = "under" if r - loc < 5.0 else "OVER"
    print(f"RPC round-trip overhead: {r - loc:.3f} ms ({verdict} the 5 ms target)")


if __name__ == "__main__":
    main()
