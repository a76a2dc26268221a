"""Shared settings of the RPC tests: the key, short limits and server configurations.

A module with its own name, not conftest.py: the test packages have several conftest.py
files, and ``from conftest import ...`` may get another folder's one under xdist.
"""

from __future__ import annotations

from xtvm.rpc.protocol import Limits
from xtvm.rpc.server import ServerConfig

KEY = b"test-key-0123456789"
# short enough that the slowloris cases end fast, long enough for a loaded 2-core machine
FAST_LIMITS = Limits(max_header=1 << 16, max_payload=8 << 20, idle_timeout=5.0, frame_timeout=1.0)


def fast_config(**kw: object) -> ServerConfig:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "limits": FAST_LIMITS,
        "request_timeout": 20.0,
        "handshake_timeout": 1.0,
        "auth_failure_delay": 0.0,
        "max_sessions": 8,
    }
    base.update(kw)
    return ServerConfig(**base)  # type: ignore[arg-type]


SIGNATURE = {
    "inputs": [{"name": "x", "shape": [4], "dtype": "float32"}],
    "outputs": [{"name": "y", "shape": [4], "dtype": "float32"}],
    "workspace_bytes": 0,
}
