"""relay -> te: fused relay groups become scheduled ``te.kernel`` ops (``convert-relay-to-te``).

Lowerings of op families live in modules of this package (``@lowers`` in ``ops.py`` and any
``ops_<family>.py``); all of them are imported here so that their registrations take effect.
"""

import importlib
import pkgutil

from xtvm.lowering.relay_to_te.convert import ConvertRelayToTePass, build_kernel
from xtvm.lowering.relay_to_te.ops import LOWERINGS

for _info in pkgutil.iter_modules(__path__):
    if _info.name.startswith("ops_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["LOWERINGS", "ConvertRelayToTePass", "build_kernel"]
