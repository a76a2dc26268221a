"""ctypes declarations of xtvm_runtime.h, for driving the C runtime from tests."""

from __future__ import annotations

import ctypes

ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)


class Bundle(ctypes.Structure):
    """``XtvmBundle`` of xtvm_runtime.h."""

    _fields_ = [
        ("abi_version", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("entry", ENTRY),
        ("metadata", ctypes.c_char_p),
        ("metadata_size", ctypes.c_size_t),
        ("num_threads", ctypes.POINTER(ctypes.c_int32)),
    ]


class TensorInfo(ctypes.Structure):
    """``XtvmTensorInfo`` of xtvm_runtime.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_char_p),
        ("dtype_bytes", ctypes.c_int32),
        ("ndim", ctypes.c_int32),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("dynamic_axis", ctypes.c_int32),
        ("nbytes", ctypes.c_size_t),
    ]


def declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    sigs = {
        "xtvm_model_attach": (i, [ctypes.POINTER(Bundle), ctypes.POINTER(p), ctypes.c_char_p, sz]),
        "xtvm_model_open": (i, [ctypes.c_char_p, ctypes.POINTER(p), ctypes.c_char_p, sz]),
        "xtvm_model_free": (None, [p]),
        "xtvm_model_error": (ctypes.c_char_p, [p]),
        "xtvm_model_num_inputs": (i, [p]),
        "xtvm_model_num_outputs": (i, [p]),
        "xtvm_model_input_info": (ctypes.POINTER(TensorInfo), [p, i]),
        "xtvm_model_output_info": (ctypes.POINTER(TensorInfo), [p, i]),
        "xtvm_model_find_input": (i, [p, ctypes.c_char_p]),
        "xtvm_model_find_output": (i, [p, ctypes.c_char_p]),
        "xtvm_model_workspace_bytes": (sz, [p]),
        "xtvm_model_set_num_threads": (i, [p, i]),
        "xtvm_model_num_threads": (i, [p]),
        "xtvm_model_set_input": (i, [p, i, p, sz]),
        "xtvm_model_set_output": (i, [p, i, p, sz]),
        "xtvm_model_run": (i, [p]),
        "xtvm_model_output_data": (p, [p, i]),
        "xtvm_model_output_shape": (i, [p, i, ctypes.POINTER(ctypes.c_int64), i]),
        "xtvm_model_output_nbytes": (sz, [p, i]),
        "xtvm_status_string": (ctypes.c_char_p, [i]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib
