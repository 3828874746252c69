"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

Layout (all integers big-endian), as described on http://yann.lecun.com/exdb/mnist/ :

=========  ==========================================================================
bytes 0-1  always ``0x00 0x00``
byte 2     type code: ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32,
           ``0x0D`` float32, ``0x0E`` float64
byte 3     number of dimensions ``d``
then       ``d`` uint32 sizes ``n_1, ..., n_d``
then       ``n_1 * ... * n_d`` values of the type, big-endian, C (row-major) order
=========  ==========================================================================

So MNIST images have magic number ``0x00000803`` (uint8, 3 dims: N x 28 x 28) and labels
``0x00000801`` (uint8, 1 dim: N). Files may be gzipped (recognised by their content, not their
name). Any deviation (short header, unknown type code, sizes whose product overflows, too few or
too many data bytes, a broken gzip stream) raises :class:`~minigrad.data.errors.DataError`
naming the file; so does a split with no images (:mod:`minigrad.data.idx_datasets`).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_writer
from .errors import DataError

__all__ = ["IDX_DTYPES", "read_idx", "write_idx"]

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"IDX file {path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        # EOFError: stream ends early (truncated); BadGzipFile (an OSError) / zlib.error: corrupt.
        raise DataError(
            f"{path} is a corrupt or truncated gzip file ({type(exc).__name__}: {exc}); "
            "delete it and download or copy it again"
        ) from exc


def read_idx(path, *, expected_dtype=None, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a native-endian NumPy array of its own shape.

    ``expected_dtype`` / ``expected_ndim`` make a wrong magic number an error, e.g.
    ``read_idx(p, expected_dtype=np.uint8, expected_ndim=3)`` accepts only ``0x00000803``.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes, no 4-byte magic number)")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or code not in IDX_DTYPES:
        raise DataError(
            f"{path}: not an IDX file: magic number 0x{magic:08X}; expected 0x0000TTDD with type "
            f"code TT in {{{', '.join(f'{c:02X}' for c in IDX_DTYPES)}}} and DD dimensions"
        )
    dtype = IDX_DTYPES[code]
    if expected_dtype is not None or expected_ndim is not None:
        want_code = code if expected_dtype is None else _code_of(np.dtype(expected_dtype))
        want_ndim = ndim if expected_ndim is None else expected_ndim
        if (code, ndim) != (want_code, want_ndim):
            raise DataError(
                f"{path}: wrong IDX magic number 0x{magic:08X} ({dtype.name}, {ndim} dims); "
                f"expected 0x{(want_code << 8) | want_ndim:08X} "
                f"({IDX_DTYPES[want_code].name}, {want_ndim} dims)"
            )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = math.prod(shape)  # Python integers: a header of huge sizes cannot wrap around
    need = header + count * dtype.itemsize
    if len(data) != need:
        problem = "truncated" if len(data) < need else "has trailing bytes"
        raise DataError(
            f"{path}: IDX data {problem}: header says shape {shape} of {dtype.name} "
            f"({need:,} bytes in all) but the file holds {len(data):,} bytes"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _code_of(dtype: np.dtype) -> int:
    for code, dt in IDX_DTYPES.items():
        if dt.kind == dtype.kind and dt.itemsize == dtype.itemsize:
            return code
    raise DataError(f"IDX has no type code for dtype {dtype}; expected one of "
                    f"{', '.join(dt.name for dt in IDX_DTYPES.values())}")


def write_idx(path, array, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file, gzipped if ``compress`` (default: name ends in ``.gz``).

    The file appears atomically (written to a temporary file in the same folder, then
    ``os.replace``): a reader never sees half a file.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _code_of(array.dtype)
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with atomic_writer(path) as f:
        f.write(payload)
    return path
