"""Models that crash or hang the session's process: the client gets a typed error, the
session and the server go on."""

from __future__ import annotations

import numpy as np
import pytest
from rpc_config import fast_config

import xtvm.runtime
from xtvm.errors import RPCError, XTVMError
from xtvm.rpc import connect
from xtvm.rpc.server import RPCServer

X = np.arange(4, dtype=np.float32)


@pytest.fixture(scope="module")
def impatient_server():
    """Requests may take 1 s before the session's process is killed."""
    with RPCServer(fast_config(request_timeout=1.0)).start() as srv:
        yield srv


def _still_serves(port: int, library) -> None:
    with connect("127.0.0.1", port) as sess:
        (out,) = sess.upload(library).run([X])
    np.testing.assert_array_equal(out, X * 2)


@pytest.fixture(scope="module")
def doubler(c_library):
    return c_library("doubler", "for (int i = 0; i < 4; i++) y[i] = 2 * x[i];")


@pytest.mark.parametrize(
    "name,body,why",
    [
        ("segv", "volatile int *p = 0; *p = 1;", "SIGSEGV"),
        ("abort", "abort();", "SIGABRT"),
        ("exit", "exit(3);", "status 3"),
    ],
)
def test_crashing_model(impatient_server, c_library, doubler, name, body, why):
    lib = c_library(name, body)
    with connect("127.0.0.1", impatient_server.port) as sess:
        good = sess.upload(doubler)
        bad = sess.upload(lib)
        with pytest.raises(RPCError, match=f"died during 'run'.*{why}"):
            bad.run([X])
        with pytest.raises(RPCError, match="unloaded"):
            good.run([X])  # it lived in the process that died: said so, not a wrong answer
        (out,) = sess.upload(doubler).run([X])  # the same session, a new process
        np.testing.assert_array_equal(out, X * 2)


def test_hanging_model_is_killed(impatient_server, c_library, doubler):
    lib = c_library("hang", "for (;;) { }")
    with connect("127.0.0.1", impatient_server.port) as sess:
        with pytest.raises(RPCError, match="ran past the server's limit of 1 s"):
            sess.upload(lib).run([X])
        (out,) = sess.upload(doubler).run([X])
    np.testing.assert_array_equal(out, X * 2)


def test_crash_while_loading(impatient_server, c_library, doubler):
    lib = c_library(
        "ctor_abort", "", extra="__attribute__((constructor)) static void boom(void) { abort(); }"
    )
    with connect("127.0.0.1", impatient_server.port) as sess:
        with pytest.raises(RPCError, match="died during 'load'.*SIGABRT"):
            sess.upload(lib)
    _still_serves(impatient_server.port, doubler)


def test_server_serves_after_the_crashes(impatient_server, doubler):
    _still_serves(impatient_server.port, doubler)


def test_doubler_reference(doubler):
    """The hand-written library does what the tests above expect, run locally."""
    np.testing.assert_array_equal(xtvm.runtime.load(doubler).run([X])[0], X * 2)


def test_session_memory_cap(c_library, doubler):
    """With a cap, a model that asks for more memory fails in its own process (here its
    malloc returns NULL and it says so by its status); normal models still run."""
    greedy = c_library(
        "greedy",
        "size_t n = (size_t)8 << 30; char *p = malloc(n); if (!p) return 7;"
        " for (size_t i = 0; i < n; i += 4096) p[i] = 1; free(p);",
    )
    with RPCServer(fast_config(session_memory_mb=2048)).start() as srv:
        with connect("127.0.0.1", srv.port) as sess:
            with pytest.raises(XTVMError, match="status 7"):
                sess.upload(greedy).run([X])
            (out,) = sess.upload(doubler).run([X])
    np.testing.assert_array_equal(out, X * 2)
