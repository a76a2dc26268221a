"""xtvm: an end-to-end machine-learning compiler (ONNX -> relay -> te -> tir -> LLVM) on xDSL.

    import xtvm
    mod = xtvm.from_onnx("model.onnx", shape_dict={"x": (1, 3, 32, 32)})
    lib = xtvm.build(mod, target="llvm")
    y = lib(x=array)
    lib.export_library("model.so"); lib2 = xtvm.runtime.load("model.so")
    xtvm.tune(mod, "r.json", trials=200)            # measure schedules on this machine
    lib = xtvm.build(mod, tuning_records="r.json")   # and build with the best of them

Names are loaded on first use, so ``import xtvm.runtime`` (deployment: ctypes + numpy)
never pulls in the compiler (xDSL, llvmlite).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CompiledModule",
    "__version__",
    "build",
    "errors",
    "from_onnx",
    "from_pytorch",
    "load",
    "runtime",
    "tune",
]

# name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "from_onnx": ("xtvm.frontend.onnx", "from_onnx"),
    "from_pytorch": ("xtvm.frontend.pytorch", "from_pytorch"),
    "build": ("xtvm.driver", "build"),
    "CompiledModule": ("xtvm.driver", "CompiledModule"),
    "load": ("xtvm.runtime", "load"),
    "runtime": ("xtvm.runtime", None),
    "errors": ("xtvm.errors", None),
    "tune": ("xtvm.autotune.tune", "tune"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xtvm")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attr is None else getattr(module, attr)
    else:
        raise AttributeError(f"module 'xtvm' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
