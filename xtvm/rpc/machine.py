"""What the RPC server tells clients about its machine, so they compile for it.

Read without the compiler (a board has only numpy): the architecture from
``platform.machine()`` and the CPU features, in LLVM's names, from ``/proc/cpuinfo``
(:mod:`xtvm.runtime.cpu_features`). The client turns this into a target string
(:func:`xtvm.rpc.client.target_for`).
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

from xtvm.runtime.cpu_features import host_features

# Linux triples as the toolchains spell them; x86_64 as LLVM spells its own host
_TRIPLES = {
    "x86_64": "x86_64-unknown-linux-gnu",
    "amd64": "x86_64-unknown-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xtvm")
    except PackageNotFoundError:
        return "0+unknown"


def describe_machine() -> dict[str, Any]:
    """``{"machine", "triple", "features", "cpus", "system", "python", "numpy", "xtvm"}``;
    ``features`` is an LLVM ``-mattr`` list of the checkable features, "" if unreadable."""
    machine = platform.machine().lower()
    triple = _TRIPLES.get(machine, f"{machine}-unknown-linux-gnu")
    arch = triple.split("-", 1)[0]
    feats = host_features(arch)
    return {
        "machine": machine,
        "triple": triple,
        "features": ",".join(f"+{f}" for f in sorted(feats or ())),
        "features_known": feats is not None,
        "cpus": os.cpu_count() or 1,
        "system": platform.system(),
        "python": ".".join(str(v) for v in sys.version_info[:3]),
        "numpy": np.__version__,
        "xtvm": _version(),
    }
