"""Masks of a layout under a paradigm, and the engine formats' arrays."""

import os
import tempfile
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from ._arrays import from_native
from ._ism import BlockMask
from .errors import ArgumentError, IOError

# Read once: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

Chunk = Tuple[int, int, int, int]
BlockSize = Union[int, Tuple[int, int]]

DENSE_DTYPES = ("bool", "float32", "float16", "bfloat16")


def intervals(layout: LayoutLike, paradigm: ParadigmLike) -> Tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)``, int64 arrays of shape (N,): row q sees keys lo[q]..hi[q]
    inclusive, and ``hi`` is the segment function f (docs/semantics.md#visibility).
    A row that sees nothing has lo > hi. The arrays are the library's own, not copies."""
    return _ism.intervals(as_layout(layout), as_paradigm(paradigm))


def dense(layout: LayoutLike, paradigm: ParadigmLike, chunk: Optional[Chunk] = None,
          dtype: Union[str, np.dtype, type] = "bool") -> np.ndarray:
    """The mask as a (rows, keys) array for chunk ``(q0, q1, k0, k1)`` (queries
    [q0, q1) against keys [k0, k1), absolute positions; the whole row when None).

    ``dtype`` "bool" gives True for visible pairs; "float32", "float16" or
    "bfloat16" give an additive mask, 0 where visible and -inf where hidden,
    to add to the logits (bfloat16 as ``ml_dtypes.bfloat16``)."""
    name = _dtype_name(dtype)
    if name not in DENSE_DTYPES:
        raise ArgumentError(f"dense: dtype {name!r} is not one of {', '.join(DENSE_DTYPES)}")
    return from_native(_ism.dense(as_layout(layout), as_paradigm(paradigm), _chunk(chunk),
                                  name))


def block_mask(layout: LayoutLike, paradigm: ParadigmLike, block_size: BlockSize = (128, 128),
               chunk: Optional[Chunk] = None) -> BlockMask:
    """The tiles of the mask classified empty, partial or full, in time
    proportional to the tiles (docs/semantics.md#block-classification). The
    returned :class:`BlockMask` holds CSR lists in both directions
    (``full_kv``, ``partial_kv``, ``full_q``, ``partial_q``: each an
    ``(offsets, indices)`` pair viewing the library's arrays)."""
    return _ism.block_mask(as_layout(layout), as_paradigm(paradigm), block_size,
                           _chunk(chunk))


def formats() -> list:
    """Every export format: name, summary, arrays, dtypes and options taken."""
    return _ism.formats()


def export(layout: LayoutLike, paradigm: ParadigmLike, format: str, *,
           block_size: Optional[BlockSize] = None, dtype: Optional[str] = None,
           pad: Optional[int] = None, causal: Optional[bool] = None) -> dict:
    """The arrays of an engine format by name (docs/formats.md), as
    ``{array name: numpy.ndarray}`` with the names of the CLI's files. Options
    a format does not take raise :class:`ism.ArgumentError`; a mask a format
    cannot hold raises :class:`ism.FormatError`. No copy is made."""
    arrays = _ism.export(as_layout(layout), as_paradigm(paradigm), format,
                         block_size=block_size, dtype=_optional_dtype(dtype), pad=pad,
                         causal=causal)
    return {name: from_native(a) for name, a in arrays.items()}


def save(path: Union[str, os.PathLike], layout: LayoutLike, paradigm: ParadigmLike, format: str, *,
         block_size: Optional[BlockSize] = None, dtype: Optional[str] = None,
         pad: Optional[int] = None, causal: Optional[bool] = None) -> None:
    """Writes the ``.npy`` (one array) or ``.npz`` file ``ism export`` writes
    for the same arguments. The file appears whole or not at all: it is
    written beside ``path`` under a temporary name and renamed."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".ism-", suffix=".partial", dir=directory)
    except OSError as e:
        raise IOError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    try:
        _ism.write_export(temporary, as_layout(layout), as_paradigm(paradigm), format,
                          block_size=block_size, dtype=_optional_dtype(dtype), pad=pad,
                          causal=causal)
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp's 0600 is not what open() would give
        os.replace(temporary, path)
    except OSError as e:
        os.unlink(temporary)
        if isinstance(e, IOError):
            raise
        raise IOError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        os.unlink(temporary)
        raise


def _dtype_name(dtype) -> str:
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        raise ArgumentError(f"{dtype!r} is not a dtype") from None


def _optional_dtype(dtype) -> Optional[str]:
    return None if dtype is None else _dtype_name(dtype)


def _chunk(chunk: Optional[Sequence[int]]) -> Optional[Chunk]:
    if chunk is None:
        return None
    values = tuple(chunk)
    if len(values) != 4 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ArgumentError(f"chunk must be (q0, q1, k0, k1), four integers; got {chunk!r}")
    return tuple(int(v) for v in values)
