"""The ``.npy`` member helpers: bytes identical to ``np.save``, reads identical to ``np.load`` (fast path or not),
broken members rejected with the same reason as before."""

from __future__ import annotations

import io

import numpy as np
import pytest

from onellm_data.codecs._npy import is_npy_of, npy_bytes, read_npy
from onellm_data.errors import CodecError

ARRAYS = [np.zeros((6, 400), np.float32), np.arange(12, dtype=">f8").reshape(3, 4), np.zeros((0, 6)),
          np.ones((3, 15724), np.float16), np.array(3.0), np.arange(12.0).reshape(3, 4).T,
          np.arange(24.0).reshape(4, 6)[:, ::2], np.arange(10, dtype=np.uint8)]


def saved(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_bytes_and_reads_equal_numpys(arr: np.ndarray) -> None:
    assert npy_bytes(arr) == saved(arr)
    back = read_npy(saved(arr), "x")
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)


def test_broken_members_are_rejected() -> None:
    good = saved(np.zeros((6, 400), np.float32))
    for bad in (good[:-4], good[:60], b"\x93NUMPY garbage", b""):
        with pytest.raises(CodecError) as err:
            read_npy(bad, "imu window")
        assert err.value.reason == "undecodable imu window array"
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CodecError):
        read_npy(buf.getvalue(), "point cloud")  # pickles are never loaded
    with pytest.raises(ValueError):
        npy_bytes(np.array([{"a": 1}], dtype=object))


def test_fortran_order_members_read_fast_and_right() -> None:
    arr = np.asfortranarray(np.arange(2400, dtype=np.float32).reshape(6, 400))
    data = saved(arr)
    assert b"'fortran_order': True" in data[:128]
    back = read_npy(data, "x")
    assert np.array_equal(back, arr) and not back.flags.writeable  # a view: the fast path, not np.load


def test_is_npy_of_only_for_canonical_files() -> None:
    arr = np.ones((3, 15724), np.float16)
    data = saved(arr)
    assert is_npy_of(data, read_npy(data, "fmri"))
    assert not is_npy_of(data + b"\0", arr)  # trailing bytes
    assert not is_npy_of(saved(arr.astype(">f2")), arr)  # another byte order
    assert not is_npy_of(saved(np.asfortranarray(arr[:2].T)), np.asfortranarray(arr[:2].T))
