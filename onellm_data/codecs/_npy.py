"""The ``.npy`` members (point, IMU, fMRI) written and read without numpy's per-call header work.

``np.save`` and ``np.load`` format and parse the header text (a Python dict literal) on every call, which costs
more than copying a [6, 400] window. A member's header depends only on dtype and shape, so both sides cache it:
the bytes written are exactly ``np.save``'s (tested), and reading accepts exactly what ``np.load`` accepts with
``allow_pickle=False`` (anything unusual, e.g. Fortran order or format 2.0, goes through ``np.load`` itself)."""

from __future__ import annotations

import ast
import io
import math
from functools import lru_cache

import numpy as np

from onellm_data.codecs._detail import exc_detail
from onellm_data.errors import CodecError

MAGIC_V1 = b"\x93NUMPY\x01\x00"


@lru_cache(maxsize=64)
def _header(dtype: str, shape: tuple[int, ...], fortran: bool) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": fortran, "shape": shape})
    return buf.getvalue()


def npy_bytes(arr: np.ndarray) -> bytes:
    """``np.save(buf, arr, allow_pickle=False)``'s bytes for a numeric array."""
    arr = np.asarray(arr)
    if arr.dtype.hasobject:
        raise ValueError("object arrays are not stored")
    fortran = bool(arr.flags.f_contiguous and not arr.flags.c_contiguous)  # np.save keeps Fortran order
    header = _header(np.lib.format.dtype_to_descr(arr.dtype), arr.shape, fortran)
    return header + (arr.T.tobytes() if fortran else arr.tobytes())


def is_npy_of(data: bytes, arr: np.ndarray) -> bool:
    """Whether ``data`` are exactly ``npy_bytes(arr)``, for ``arr`` read from ``data`` by :func:`read_npy`: then
    its canonical header and length say so (the rest is ``arr``'s own bytes), and ``data`` can be stored as is."""
    if arr.dtype.hasobject or not arr.flags.c_contiguous:
        return False
    header = _header(np.lib.format.dtype_to_descr(arr.dtype), arr.shape, False)
    return len(data) == len(header) + arr.nbytes and data.startswith(header)


@lru_cache(maxsize=64)
def _parse(header: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int] | None:
    """(dtype, shape, Fortran order, element count) of a version-1.0 header, or None when ``np.load`` should
    handle the file."""
    try:
        info = ast.literal_eval(header.decode("latin1"))
        dtype = np.dtype(info["descr"])
        shape = tuple(int(v) for v in info["shape"])
        fortran = info["fortran_order"]
    except (ValueError, SyntaxError, KeyError, TypeError):
        return None
    if not isinstance(fortran, bool) or dtype.hasobject or any(v < 0 for v in shape):
        return None
    return dtype, shape, fortran, math.prod(shape)


def read_npy(data: bytes, what: str) -> np.ndarray:
    """The array of an ``.npy`` member (read-only view of ``data`` when it takes the fast path)."""
    if data[:8] == MAGIC_V1 and len(data) >= 10:
        end = 10 + int.from_bytes(data[8:10], "little")
        parsed = _parse(bytes(data[10:end])) if len(data) >= end else None
        if parsed is not None:
            dtype, shape, fortran, count = parsed
            if len(data) - end == count * dtype.itemsize:
                flat = np.frombuffer(data, dtype=dtype, count=count, offset=end)
                return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CodecError(f"undecodable {what} array", exc_detail(exc)) from exc
