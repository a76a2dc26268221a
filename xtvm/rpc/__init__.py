"""Remote run and measurement: an RPC server on the device, a client on the host.

``xtvm rpc server`` (:mod:`xtvm.rpc.server`) runs uploaded libraries in a child process
per session; :func:`connect` (:mod:`xtvm.rpc.client`) uploads, runs and times them. The
wire format is :mod:`xtvm.rpc.protocol`. Nothing here imports the compiler: a board runs
the server with numpy alone.
"""

from __future__ import annotations

from xtvm.rpc.client import RemoteModule, RPCSession, connect, parse_address

__all__ = ["RPCSession", "RemoteModule", "connect", "parse_address"]
