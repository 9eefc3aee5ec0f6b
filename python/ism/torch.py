"""ism masks as PyTorch objects: FlexAttention block masks, the arguments of
HF transformers' mask builder, and dense masks for scaled_dot_product_attention.

Every function takes one layout or a list of them (a batch). A batch is padded
to its longest layout: padded keys are never visible, and padded query rows see
nothing (drop their outputs). Importing this module needs torch.
"""

from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from torch.nn.attention.flex_attention import BlockMask

from . import _ism
from ._args import LayoutLike, ParadigmLike, as_layout, as_paradigm
from ._masks import dense, export, intervals
from .errors import ArgumentError

Layouts = Union[LayoutLike, Sequence[LayoutLike]]

# FlexAttention's index arrays and the mask_mod's bounds, in the order of
# BlockMask's constructor.
_KV_LISTS = ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices")
_Q_LISTS = ("q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices")


def flex_block_mask(layouts: Layouts, paradigm: ParadigmLike, block_size=128,
                    device: Optional[Union[str, torch.device]] = None) -> BlockMask:
    """A FlexAttention ``BlockMask`` of the paradigm's mask, shape (B, 1, L, L).

    ism classifies the tiles and builds both directions of the lists (torch
    recomputes nothing), and the ``mask_mod`` reads each row's interval
    ``lo <= kv <= hi`` from two (B, L) tensors, so partial tiles are exact in
    eager and compiled ``flex_attention`` and on any device. ``block_size`` is
    B or (Bq, Bk) (FlexAttention's kernels want 128 or a multiple of 16)."""
    batch = _layouts(layouts)
    length = max(len(x) for x in batch)
    lo, hi = _padded_intervals(batch, as_paradigm(paradigm), length)
    per_layout = [_ism.flex_arrays(lo[row], hi[row], block_size) for row in range(len(batch))]

    def stacked(name: str) -> torch.Tensor:
        # (B, 1, ...): one head dimension of size 1, which broadcasts over heads.
        return torch.from_numpy(np.stack([a[name] for a in per_layout])[:, None]).to(device)

    lo, hi = torch.from_numpy(lo).to(device), torch.from_numpy(hi).to(device)

    def mask_mod(b, h, q_idx, kv_idx):
        return (lo[b, q_idx] <= kv_idx) & (kv_idx <= hi[b, q_idx])

    bq, bk = (int(v) for v in per_layout[0]["block_size"])
    return BlockMask(
        (length, length), *(stacked(n) for n in _KV_LISTS), *(stacked(n) for n in _Q_LISTS),
        BLOCK_SIZE=(bq, bk), mask_mod=mask_mod)


def hf_mask_kwargs(layouts: Layouts, paradigm: ParadigmLike,
                   device: Optional[Union[str, torch.device]] = None) -> dict:
    """The arguments that make transformers' ``masking_utils.create_causal_mask``
    build the paradigm's mask: ``block_sequence_ids`` (B, L) int64, every token
    of a bidirectional block carrying the block's id and others -1, and
    ``position_ids`` (B, L) restarting at 0 in every document, from which
    transformers finds the packed documents (without them, packed documents see
    each other). Pass them with ``attention_mask=None`` (transformers looks for
    packed documents only then); padding is one more packed sequence.

    Raises :class:`ism.FormatError` for a paradigm HF's overlay cannot express
    (one that is neither causal nor bidirectional inside each block)."""
    batch = _layouts(layouts)
    p = as_paradigm(paradigm)
    length = max(len(x) for x in batch)
    ids = np.full((len(batch), length), -1, dtype=np.int64)
    positions = np.zeros((len(batch), length), dtype=np.int64)
    for row, layout in enumerate(batch):
        n = len(layout)
        ids[row, :n] = export(layout, p, "hf")["block_sequence_ids"]
        positions[row, :n] = layout.positions
        positions[row, n:] = np.arange(length - n)
    return {"block_sequence_ids": torch.from_numpy(ids).to(device),
            "position_ids": torch.from_numpy(positions).to(device)}


def sdpa_mask(layouts: Layouts, paradigm: ParadigmLike, dtype: torch.dtype = torch.bool,
              device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
    """The dense mask as ``attn_mask`` for ``scaled_dot_product_attention``,
    shape (B, 1, L, L): bool (True = attend) or an additive mask of float
    dtype ``dtype`` (0 visible, -inf hidden). Padded rows see nothing; SDPA
    gives NaN for such rows."""
    batch = _layouts(layouts)
    p = as_paradigm(paradigm)
    length = max(len(x) for x in batch)
    if dtype == torch.bool:
        out = torch.zeros((len(batch), 1, length, length), dtype=torch.bool)
    elif dtype.is_floating_point:
        out = torch.full((len(batch), 1, length, length), float("-inf"), dtype=dtype)
    else:
        raise ArgumentError(f"sdpa_mask: dtype {dtype} is neither torch.bool nor a float dtype")
    for row, layout in enumerate(batch):
        n = len(layout)
        visible = torch.from_numpy(dense(layout, p))
        if dtype == torch.bool:
            out[row, 0, :n, :n] = visible
        else:
            out[row, 0, :n, :n].masked_fill_(visible, 0.0)
    return out.to(device)


def _layouts(layouts: Layouts) -> List[_ism.Layout]:
    if isinstance(layouts, (str, _ism.Layout)):
        return [as_layout(layouts)]
    batch = [as_layout(x, f"layouts[{i}]") for i, x in enumerate(layouts)]
    if not batch:
        raise ArgumentError("the batch of layouts is empty")
    return batch


def _padded_intervals(batch, paradigm, length: int):
    """(B, length) int64 bounds; padded rows get lo = 1 > hi = 0 (see nothing)."""
    lo = np.ones((len(batch), length), dtype=np.int64)
    hi = np.zeros((len(batch), length), dtype=np.int64)
    for row, layout in enumerate(batch):
        lo[row, :len(layout)], hi[row, :len(layout)] = intervals(layout, paradigm)
    return lo, hi


__all__ = ["flex_block_mask", "hf_mask_kwargs", "sdpa_mask"]
