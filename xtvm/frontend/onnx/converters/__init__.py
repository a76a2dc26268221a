"""ONNX op converters, one module per op family; importing them registers them.

Every module of this package is imported, so a new family needs only a new file.
"""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
