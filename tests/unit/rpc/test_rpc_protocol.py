"""The wire format's arrays: every allowed dtype and shape survives the trip bit for bit,
and what is not allowed is refused."""

from __future__ import annotations

import numpy as np
import pytest

from xtvm.errors import InputError, RPCError
from xtvm.rpc.protocol import DTYPES, decode_arrays, encode_arrays, raise_for_error


def _trip(arrays, names=None):
    specs, bufs = encode_arrays(arrays, names)
    return decode_arrays(specs, bytearray(b"".join(bytes(b) for b in bufs)))


@pytest.mark.parametrize("dtype", sorted(DTYPES - {"bfloat16"}))
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
def test_round_trip(dtype, shape):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal(shape) * 50).astype(dtype)
    _names, (got,) = _trip([arr])
    assert got.shape == arr.shape and got.dtype == arr.dtype
    np.testing.assert_array_equal(got, arr)


def test_bfloat16_and_byte_order_and_names():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf = np.linspace(-2, 2, 6, dtype=np.float32).astype(ml_dtypes.bfloat16)
    big = np.arange(5, dtype=">i4")
    view = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]  # not contiguous
    names, (a, b, c) = _trip([bf, big, view], ["a", "b", None])
    assert names == ["a", "b", None]
    np.testing.assert_array_equal(a.view(np.uint16), bf.view(np.uint16))
    np.testing.assert_array_equal(b, big)
    np.testing.assert_array_equal(c, view)


@pytest.mark.parametrize("value", [np.array(["text"]), np.array([1 + 2j]), np.array([None])])
def test_unsendable_dtypes(value):
    with pytest.raises(InputError, match="cannot be sent"):
        encode_arrays([value])


def test_decoded_arrays_use_every_byte():
    with pytest.raises(RPCError, match="no array spec accounts for"):
        decode_arrays([{"dtype": "uint8", "shape": [2]}], bytearray(3))


@pytest.mark.parametrize(
    "header,cls",
    [
        ({"status": "error", "error": "InputError", "message": "m"}, InputError),
        ({"status": "error", "error": "UnsupportedOperatorError", "message": "m"}, RPCError),
        ({"status": "error", "error": "os.system", "message": "m"}, RPCError),
        ({"status": "error", "error": "KeyboardInterrupt", "message": "m"}, RPCError),
        ({"status": "error"}, RPCError),
        ({}, RPCError),
    ],
)
def test_error_replies_map_to_xtvm_errors_only(header, cls):
    with pytest.raises(cls) as info:
        raise_for_error(header)
    assert type(info.value) is cls
