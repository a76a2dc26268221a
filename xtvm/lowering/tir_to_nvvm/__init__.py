"""tir GPU kernels -> xDSL ``llvm`` dialect for NVPTX, entry -> launch plan
(``convert-tir-to-nvvm``)."""

from xtvm.lowering.tir_to_nvvm.convert import CONSTANTS_ATTR, ConvertTirToNvvmPass
from xtvm.lowering.tir_to_nvvm.kernel import KERNEL_ATTR, MAXNTID_ATTR

__all__ = ["CONSTANTS_ATTR", "KERNEL_ATTR", "MAXNTID_ATTR", "ConvertTirToNvvmPass"]
