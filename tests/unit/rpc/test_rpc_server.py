"""The RPC server and client working as meant: remote results equal local ones, timings,
the key, the loopback rule and the session limit."""

from __future__ import annotations

import numpy as np
import pytest
from rpc_config import KEY, fast_config

import xtvm.runtime
from xtvm.errors import InputError, RPCError
from xtvm.rpc import connect, parse_address
from xtvm.rpc.server import RPCServer


def _inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal((2, 8)).astype(np.float32) for k in ("x", "w")}


def test_remote_run_equals_local(server, tiny_library):
    feeds = _inputs()
    local = xtvm.runtime.load(tiny_library).run(feeds)
    want = np.maximum(feeds["x"], 0) + feeds["x"] * feeds["w"]  # numpy's own answer
    with connect("127.0.0.1", server.port) as sess:
        mod = sess.upload(tiny_library)
        assert [i["name"] for i in mod.input_info] == ["x", "w"]
        assert mod.output_info == [{"name": "y", "shape": (2, 8), "dtype": "float32"}]
        (by_name,) = mod.run(feeds)
        (by_order,) = mod.run([feeds["x"], feeds["w"]])
    np.testing.assert_array_equal(by_name, local[0])  # bit for bit
    np.testing.assert_array_equal(by_order, local[0])
    np.testing.assert_allclose(by_name, want, rtol=1e-6)


def test_remote_benchmark_and_info(server, tiny_library):
    with connect("127.0.0.1", server.port) as sess:
        info = sess.info()
        assert info["triple"] and info["cpus"] >= 1 and info["limits"]["max_payload"] > 0
        mod = sess.upload(tiny_library.read_bytes(), name="tiny")
        t = mod.benchmark(_inputs(), repeat=4, number=3)
        assert t["repeat"] == 4 and t["number"] == 3 and len(t["costs_ms"]) == 4
        assert 0 < t["min_ms"] <= t["median_ms"] <= t["max_ms"]
        auto = mod.benchmark(_inputs(), repeat=2, number=0, min_repeat_ms=2.0)
        assert auto["number"] >= 1
        mod.free()
        with pytest.raises(RPCError, match="no module"):
            mod.run(_inputs())


def test_model_input_errors_are_typed(server, tiny_library):
    with connect("127.0.0.1", server.port) as sess:
        mod = sess.upload(tiny_library)
        with pytest.raises(InputError, match="missing input 'w'"):
            mod.run({"x": _inputs()["x"]})
        with pytest.raises(InputError, match="shape"):
            mod.run({"x": np.zeros((3, 8), np.float32), "w": np.zeros((2, 8), np.float32)})
        with pytest.raises(InputError, match="float32"):
            mod.run({"x": np.zeros((2, 8)), "w": np.zeros((2, 8))})  # float64
        (out,) = mod.run(_inputs(1))  # the session goes on
        assert out.shape == (2, 8)


def test_key_proves_both_ways(keyed_server, tiny_library):
    with connect("127.0.0.1", keyed_server.port, key=KEY) as sess:
        (out,) = sess.upload(tiny_library).run(_inputs())
    np.testing.assert_array_equal(out, xtvm.runtime.load(tiny_library).run(_inputs())[0])
    with pytest.raises(RPCError, match="wrong key"):
        connect("127.0.0.1", keyed_server.port, key=b"not the key")
    with pytest.raises(RPCError, match="requires a key"):
        connect("127.0.0.1", keyed_server.port, key=b"")


def test_key_from_environment(keyed_server, monkeypatch):
    monkeypatch.setenv("XTVM_RPC_KEY", KEY.decode())
    with connect("127.0.0.1", keyed_server.port) as sess:
        assert sess.info()["machine"]


def test_client_with_key_refuses_a_keyless_server(server):
    with pytest.raises(RPCError, match="cannot prove"):
        connect("127.0.0.1", server.port, key=KEY)


def test_short_keys_are_refused():
    with pytest.raises(InputError, match="at least 16 bytes"):
        RPCServer(fast_config(host="0.0.0.0", key=b"hunter2"))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_binding_beyond_loopback_needs_a_key(host):
    with pytest.raises(InputError, match="refusing to bind"):
        RPCServer(fast_config(host=host))


def test_session_limit(tiny_library):
    with RPCServer(fast_config(max_sessions=1)).start() as srv:
        first = connect("127.0.0.1", srv.port)
        with pytest.raises(RPCError, match="busy"):
            connect("127.0.0.1", srv.port)
        first.close()
        for _ in range(50):  # the slot frees when the server thread finishes the session
            try:
                with connect("127.0.0.1", srv.port) as again:
                    assert again.info()
                break
            except RPCError:
                import time

                time.sleep(0.05)
        else:
            pytest.fail("the session slot was never released")


@pytest.mark.parametrize(
    "text,want",
    [("host:1234", ("host", 1234)), ("[::1]:99", ("::1", 99)), ("board", ("board", 9090))],
)
def test_parse_address(text, want):
    assert parse_address(text) == want


@pytest.mark.parametrize("text", ["host:0", "host:99999", ":80", "host:abc"])
def test_parse_address_rejects(text):
    with pytest.raises(InputError):
        parse_address(text)


def test_connection_refused_is_typed():
    with RPCServer(fast_config()) as srv:
        port = srv.port
    with pytest.raises(RPCError, match="cannot connect"):
        connect("127.0.0.1", port, timeout=2)


def test_idle_session_is_ended_and_the_tuner_reconnects():
    import time

    from rpc_config import FAST_LIMITS

    from xtvm.autotune.rpc_runner import RPCRunExecutor
    from xtvm.rpc.protocol import Limits

    limits = Limits(**{**FAST_LIMITS.__dict__, "idle_timeout": 0.3})
    with RPCServer(fast_config(limits=limits)).start() as srv:
        sess = connect("127.0.0.1", srv.port)
        time.sleep(0.6)
        assert not sess.alive()
        with pytest.raises(RPCError, match="ended the session"):
            sess.info()
        with RPCRunExecutor(f"127.0.0.1:{srv.port}") as ex:
            time.sleep(0.6)
            assert ex.info()["machine"]  # a new session behind the scenes


def test_server_side_needs_no_compiler():
    """A board has numpy and xtvm's runtime only: the server, the session process and
    'xtvm rpc server' import neither xdsl nor llvmlite."""
    import subprocess
    import sys

    code = (
        "import sys, xtvm.rpc.server, xtvm.rpc.session, xtvm.cli.main, xtvm.rpc;"
        "bad = [m for m in ('xdsl', 'llvmlite') if m in sys.modules];"
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_unauthenticated_connections_hold_no_session_slot():
    import socket

    with RPCServer(fast_config(max_sessions=1)).start() as srv:
        idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(5)]
        try:
            with connect("127.0.0.1", srv.port) as sess:  # the one slot is still free
                assert sess.info()
        finally:
            for s in idle:
                s.close()


def test_concurrent_sessions_get_their_own_answers(server, tiny_library):
    import threading

    local = xtvm.runtime.load(tiny_library)
    failures: list[str] = []

    def client(seed: int) -> None:
        try:
            with connect("127.0.0.1", server.port) as sess:
                mod = sess.upload(tiny_library)
                for k in range(10):
                    feeds = _inputs(seed * 100 + k)
                    (got,) = mod.run(feeds)
                    np.testing.assert_array_equal(got, local.run(feeds)[0])
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(f"client {seed}: {exc}")

    threads = [threading.Thread(target=client, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures


def test_closing_the_server_ends_open_sessions(tiny_library):
    import os

    srv = RPCServer(fast_config()).start()
    sess = connect("127.0.0.1", srv.port)
    sess.upload(tiny_library)
    root = srv.root
    srv.close()
    with pytest.raises(RPCError):
        sess.info()
    assert not os.path.exists(root)


def test_ipv6_loopback():
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        srv = RPCServer(fast_config(host="::1")).start()
    except RPCError as exc:
        pytest.skip(f"cannot bind ::1 here: {exc}")
    with srv, connect("::1", srv.port) as sess:
        assert sess.info()["machine"]


def test_python_lists_take_the_declared_dtype(server, tiny_library):
    feeds = _inputs(3)
    with connect("127.0.0.1", server.port) as sess:
        mod = sess.upload(tiny_library)
        (got,) = mod.run({"x": feeds["x"].tolist(), "w": feeds["w"].tolist()})
        (by_order,) = mod.run([feeds["x"].tolist(), feeds["w"]])
        with pytest.raises(InputError, match="not float32"):
            mod.run({"x": [["a"] * 8] * 2, "w": feeds["w"]})
    want = xtvm.runtime.load(tiny_library).run(feeds)[0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(by_order, want)


def test_port_in_use_or_out_of_range_is_typed(server):
    with pytest.raises(RPCError, match="cannot listen"):
        RPCServer(fast_config(port=server.port))
    with pytest.raises(RPCError, match="cannot listen"):
        RPCServer(fast_config(port=70000))
