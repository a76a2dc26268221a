"""tir -> xDSL ``llvm`` dialect (``convert-tir-to-llvm``)."""

from xtvm.lowering.tir_to_llvm.convert import (
    ENTRY_SYMBOL,
    METADATA_ATTR,
    ConvertTirToLlvmPass,
    entry_metadata,
    module_metadata,
)

__all__ = [
    "ENTRY_SYMBOL",
    "METADATA_ATTR",
    "ConvertTirToLlvmPass",
    "entry_metadata",
    "module_metadata",
]
