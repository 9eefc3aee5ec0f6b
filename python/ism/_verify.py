"""Verification of arrays an engine made against the contract."""

from typing import Mapping, Optional, Union

import numpy as np

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from ._arrays import for_native, to_numpy
from ._ism import VerifyReport
from .errors import ArgumentError



def verify(layout: LayoutLike, paradigm: ParadigmLike, format: str,
           arrays: Union[Mapping[str, object], np.ndarray], *, causal: Optional[bool] = None,
           examples: int = 5) -> VerifyReport:
    """Decodes ``arrays`` as ``format`` (exactly as the engine reads them) and
    compares every (query, key) pair with the paradigm's mask over the layout,
    in time proportional to the rows and runs of the mask.

    ``arrays`` maps the format's array names to arrays (NumPy, ml_dtypes or
    torch; copied only when not C-contiguous), or is the single array of a
    one-array format; the arrays carry their own block size, dtype and padding.
    ``causal`` is the engine's causal flag for cu_seqlens (the flag the mask
    needs when omitted).
    The report is truthy when every pair agrees; ``first_differences`` holds up
    to ``examples`` differing pairs. Malformed arrays raise
    :class:`ism.FormatError` naming the array."""
    if not isinstance(arrays, Mapping):
        arrays = {"array": arrays}
    native = {}
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise ArgumentError(f"verify: array names must be strings, got {name!r}")
        native[name] = for_native(to_numpy(value, f"array {name!r}"))
    if examples < 0:
        raise ArgumentError(f"verify: examples is {examples}; it must be at least 0")
    return _ism.verify(as_layout(layout), as_paradigm(paradigm), format, native,
                       causal=causal, examples=examples)
