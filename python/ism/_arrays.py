"""Arrays between NumPy, PyTorch and the native module.

The native module reads any C-contiguous CPU array in place and hands back
bfloat16 data as its uint16 bits (NumPy has no bfloat16 of its own); these
helpers give such arrays the ``ml_dtypes.bfloat16`` dtype on the way out, and
take NumPy, ml_dtypes and CPU torch arrays on the way in.
"""

import sys
from typing import Any

import ml_dtypes
import numpy as np

from .errors import ArgumentError

bfloat16 = np.dtype(ml_dtypes.bfloat16)


def is_torch_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def from_native(array: np.ndarray) -> np.ndarray:
    """The native module's only uint16 arrays are bfloat16 bits."""
    return array.view(bfloat16) if array.dtype == np.uint16 else array


def to_numpy(x: Any, name: str) -> np.ndarray:
    """A NumPy array of x's values for reading: torch tensors are moved to the
    CPU (bfloat16 keeps its bits), other inputs go through numpy.asarray."""
    if is_torch_tensor(x):
        import torch
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            return x.contiguous().view(torch.int16).numpy().view(bfloat16)
        return x.numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # numpy raises several types for unconvertible objects
        raise ArgumentError(f"{name} is not an array: {e}") from None


def for_native(a: np.ndarray) -> np.ndarray:
    """The C-contiguous, native-byte-order form the native module reads;
    bfloat16 as its bits."""
    if a.dtype == bfloat16:
        a = a.view(np.uint16)
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return np.ascontiguousarray(a)
