"""Loads an `ism export --format fa4_block_sparse` file and checks it.

    python3 load_fa4_block_sparse.py blocks.npz --intervals mask.npz

The archive holds FlashAttention-4's block-sparse tensors (flash_attn.cute's
BlockSparseTensorsTorch) for the packed sequence as one batch of one head, all
int32: mask_block_cnt [1, 1, M] and mask_block_idx [1, 1, M, K], the partial key
blocks of each query block, full_block_cnt and full_block_idx, the full ones,
and block_size [2] = (Bq, Bk), multiples of 128. Listed indices come first,
ascending; ism writes 0 past each count. The kernel attends to full tiles whole
and applies its mask_mod inside partial ones, so a caller must pass a mask_mod
that computes the mask; here it is built from the intervals.

The kernels run on SM90 and SM100-class GPUs only, so this example checks the
arrays with NumPy and has no engine step on a CPU.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np
from load_flex import expand, expected_blocks, lists_to_dense

NAMES = ("mask_block_cnt", "mask_block_idx", "full_block_cnt", "full_block_idx", "block_size")
BLOCK_MULTIPLE = 128


def decode(arrays, visible: np.ndarray) -> np.ndarray:
    for name in NAMES:
        ie.expect_array(arrays[name], name, ("<i4",),
                        {"block_size": 1, "mask_block_idx": 4, "full_block_idx": 4}.get(name, 3))
    bq, bk = (int(x) for x in arrays["block_size"])
    if bq < 1 or bk < 1 or bq % BLOCK_MULTIPLE or bk % BLOCK_MULTIPLE:
        raise ie.CheckFailed(f"block_size ({bq}, {bk}) is not a multiple of {BLOCK_MULTIPLE}")
    n = visible.shape[0]
    qb, kb = -(-n // bq), -(-n // bk)
    tiles = {}
    for kind in ("mask", "full"):
        counts, indices = arrays[f"{kind}_block_cnt"], arrays[f"{kind}_block_idx"]
        ie.expect_shape(counts, f"{kind}_block_cnt", (1, 1, qb))
        ie.expect_shape(indices, f"{kind}_block_idx", (1, 1, qb, kb))
        tiles[kind] = lists_to_dense(counts[0, 0], indices[0, 0], f"{kind}_block")
    partial, full = tiles["mask"], tiles["full"]
    expected_partial, expected_full = expected_blocks(visible, bq, bk)
    ie.check_equal("partial blocks vs intervals", partial, expected_partial)
    ie.check_equal("full blocks vs intervals", full, expected_full)
    # What the kernel computes: full tiles whole, partial tiles through mask_mod.
    return expand(full, bq, bk, visible.shape) | (expand(partial, bq, bk, visible.shape) & visible)


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the fa4_block_sparse .npz export")
    args = ie.parse_args(parser)
    arrays = ie.load_npz(args.export, NAMES)
    lo, hi = ie.read_intervals(args.intervals)
    visible = ie.visible_from_intervals(lo, hi)
    ie.check_equal("fa4 block-sparse tensors with the interval mask_mod vs intervals",
                   decode(arrays, visible), visible)
    ie.ok(f"fa4_block_sparse block_size {tuple(arrays['block_size'].tolist())} matches the "
          "intervals")
    if ie.engine_enabled():
        ie.skipped("flash_attn.cute (FlashAttention-4)", "runs on SM90 and SM100-class GPUs only")


if __name__ == "__main__":
    ie.run(main)
