"""relay -> te: fused relay groups become scheduled ``te.kernel`` ops (``convert-relay-to-te``)."""

from xtvm.lowering.relay_to_te.convert import ConvertRelayToTePass, build_kernel
from xtvm.lowering.relay_to_te.ops import LOWERINGS

__all__ = ["LOWERINGS", "ConvertRelayToTePass", "build_kernel"]
