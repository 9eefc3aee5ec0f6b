"""Loads an `ism export --format cu_seqlens` file and checks it.

    python3 load_cu_seqlens.py cu_seqlens.npy --intervals mask.npz

The file is int32 cu_seqlens [D+1]: the start of each document of the packed
sequence, then N. It is the varlen convention of FlashAttention
(flash_attn_varlen_func with cu_seqlens_q = cu_seqlens_k) and of xformers'
block-diagonal masks. It carries the documents only: with causal=True the
engine reproduces the `causal` paradigm, with causal=False `bidirectional`.
So ism exports it only for a mask that is causal or fully bidirectional within
every document, and refuses `prefix` and `ism`; for those, export it under
--paradigm causal for the documents alone and add the block overlay of the hf
or vllm export. Given the intervals of such a paradigm, this example checks the
documents and says that the overlay is needed.

With flash_attn and a CUDA device, and a causal or bidirectional mask, the
example runs flash_attn_varlen_func and compares it with a reference.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np


def engine_causal_flag(lo: np.ndarray, hi: np.ndarray, cu_seqlens: np.ndarray):
    """True or False when the intervals are causal or bidirectional attention
    within each document, None when cu_seqlens alone cannot express them."""
    positions = np.arange(lo.size)
    if np.array_equal(hi, positions):
        return True
    document_end = cu_seqlens[np.searchsorted(cu_seqlens, positions, side="right")] - 1
    if np.array_equal(hi, document_end):
        return False
    return None


def run_flash_attn(cu_seqlens: np.ndarray, causal: bool, visible: np.ndarray) -> None:
    flash_attn = ie.import_optional("flash_attn")
    if flash_attn is None:
        ie.skipped("flash_attn")
        return
    import torch
    if not torch.cuda.is_available():
        ie.skipped("flash_attn", "needs a CUDA device")
        return
    heads, dim = 2, 64
    q, k, v = ie.random_qkv(visible.shape[0], heads, dim)
    cu = torch.from_numpy(cu_seqlens).cuda()
    longest = int(np.max(np.diff(cu_seqlens)))
    # FlashAttention's varlen layout is [tokens, heads, dim].
    out = flash_attn.flash_attn_varlen_func(
        *(torch.from_numpy(x[0].transpose(1, 0, 2).copy()).cuda().half() for x in (q, k, v)),
        cu, cu, longest, longest, causal=causal)
    ie.check_close(f"flash_attn {flash_attn.__version__} flash_attn_varlen_func causal={causal}",
                   out.float().cpu().numpy().transpose(1, 0, 2)[None],
                   ie.reference_attention(q, k, v, visible), 2e-2)


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the cu_seqlens .npy export")
    args = ie.parse_args(parser)
    cu_seqlens = ie.load_npy(args.export)
    lo, hi = ie.read_intervals(args.intervals)
    ie.expect_array(cu_seqlens, "cu_seqlens", ("<i4",), 1)
    ie.check_equal("cu_seqlens vs document starts", cu_seqlens, ie.cu_seqlens_from_intervals(lo))
    ie.ok(f"cu_seqlens of {cu_seqlens.size - 1} documents matches the intervals")
    causal = engine_causal_flag(lo, hi, cu_seqlens)
    if causal is None:
        print("note: this mask is neither causal nor bidirectional within its documents; "
              "cu_seqlens only keeps the documents apart (add the hf or vllm overlay), "
              "which is why ism export refuses cu_seqlens for it")
        return
    if ie.engine_enabled():
        run_flash_attn(cu_seqlens, causal, ie.visible_from_intervals(lo, hi))


if __name__ == "__main__":
    ie.run(main)
