"""LLVM backend: llvm-dialect ModuleOp -> llvmlite IR -> JIT or shared library."""

from xtvm.backends.llvm.export import export_library, find_c_compiler
from xtvm.backends.llvm.jit import (
    compile_and_load,
    emit_assembly,
    emit_object,
    optimize,
    parse_and_verify,
)
from xtvm.backends.llvm.target import Target, create_target_machine
from xtvm.backends.llvm.translate import (
    EXTRA_CONVERTERS,
    EXTRA_CONVERTERS_BY_NAME,
    add_metadata_global,
    register_converter,
    translate_module,
)

__all__ = [
    "EXTRA_CONVERTERS",
    "EXTRA_CONVERTERS_BY_NAME",
    "Target",
    "add_metadata_global",
    "compile_and_load",
    "create_target_machine",
    "emit_assembly",
    "emit_object",
    "export_library",
    "find_c_compiler",
    "optimize",
    "parse_and_verify",
    "register_converter",
    "translate_module",
]
