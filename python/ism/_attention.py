"""Attention on the CPU under a layout's mask."""

from typing import Optional

import numpy as np

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from ._arrays import bfloat16, is_torch_tensor, to_numpy
from .errors import ArgumentError



def attention(q, k, v, layout: LayoutLike, paradigm: ParadigmLike, *, scale: Optional[float] = None,
              threads: Optional[int] = None, return_lse: bool = False,
              q_start: int = 0, k_start: int = 0):
    """The tiled attention: softmax(scale * Q K^T + mask) V, visiting only the
    tiles the mask does not hide and masking elements only in partial tiles.

    ``q`` is (Nq, H, D), ``k`` and ``v`` (Nk, Hkv, D) with H a multiple of Hkv
    (grouped KV heads), all float32 or all bfloat16, C-contiguous, NumPy arrays
    (``ml_dtypes.bfloat16`` for bfloat16) or CPU torch tensors, read in place.
    Query row r is token ``q_start + r`` and key column c token ``k_start + c``
    of the layout (a chunk of queries against a KV cache). ``scale`` defaults
    to 1/sqrt(D); ``threads`` to one per core; the GIL is released meanwhile.

    Returns the float32 output (Nq, H, D), and with ``return_lse`` also the
    log-sum-exp (Nq, H); torch tensors when the inputs are. A row that sees no
    key gives zeros and -inf."""
    torch_inputs = is_torch_tensor(q)
    tensors = [_attention_input(x, name) for x, name in ((q, "Q"), (k, "K"), (v, "V"))]
    if threads is not None and threads < 1:
        raise ArgumentError(f"attention: threads is {threads}; it must be at least 1")
    out, lse = _ism.attention(*tensors, as_layout(layout), as_paradigm(paradigm), scale=scale,
                              threads=threads, q_start=q_start, k_start=k_start)
    return _result(out, lse, return_lse, torch_inputs)


def reference_attention(q, k, v, layout: LayoutLike, paradigm: ParadigmLike, *,
                        scale: Optional[float] = None, return_lse: bool = False,
                        q_start: int = 0, k_start: int = 0):
    """The exact attention in float64, the oracle engines are tested against.

    Takes the arguments of :func:`attention` in any float dtype (converted to
    float64 exactly) and returns float64 arrays."""
    torch_inputs = is_torch_tensor(q)
    tensors = []
    for x, name in ((q, "Q"), (k, "K"), (v, "V")):
        a = to_numpy(x, name)
        if a.dtype != bfloat16 and a.dtype.kind != "f":
            raise ArgumentError(f"reference_attention: {name} has dtype {a.dtype}; expected floats")
        tensors.append(np.ascontiguousarray(a, dtype=np.float64))
    out, lse = _ism.reference_attention(*tensors, as_layout(layout), as_paradigm(paradigm),
                                        scale=scale, q_start=q_start, k_start=k_start)
    return _result(out, lse, return_lse, torch_inputs)


def _attention_input(x, name: str):
    """CPU torch tensors pass as they are (the native module reads them through
    DLPack); NumPy arrays must be float32 or ml_dtypes.bfloat16."""
    if is_torch_tensor(x):
        import torch
        if x.device.type != "cpu":
            raise ArgumentError(f"attention: {name} is on {x.device}; ism.attention runs on "
                                "the CPU")
        if x.dtype not in (torch.float32, torch.bfloat16):
            raise ArgumentError(f"attention: {name} has dtype {x.dtype}; expected float32 or "
                                "bfloat16")
        if x.requires_grad:
            x = x.detach()
        return x
    if not isinstance(x, np.ndarray):
        raise ArgumentError(f"attention: {name} is a {type(x).__name__}; expected a NumPy array "
                            "or a torch tensor")
    if x.dtype == bfloat16:
        return x.view(np.uint16)
    if x.dtype != np.float32:
        raise ArgumentError(f"attention: {name} has dtype {x.dtype}; expected float32 or bfloat16")
    return x


def _result(out: np.ndarray, lse: np.ndarray, return_lse: bool, torch_outputs: bool):
    if torch_outputs:
        import torch
        out, lse = torch.from_numpy(out), torch.from_numpy(lse)
    return (out, lse) if return_lse else out
