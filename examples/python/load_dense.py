"""Loads an `ism export --format dense` file and checks it.

    python3 load_dense.py mask.npy --intervals mask.npz

The file is a bool (or, with --dtype uint8, 0/1 byte) [N, N] matrix: row =
query, column = key, true = visible. That is the convention of PyTorch's
scaled_dot_product_attention for a boolean attn_mask (True takes part in
attention), which is what this example hands it to when torch is installed.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np


def decode(mask: np.ndarray) -> np.ndarray:
    ie.expect_array(mask, "mask", ("|b1", "|u1"), 2)
    if mask.dtype == np.uint8 and np.any(mask > 1):
        raise ie.CheckFailed("mask: a uint8 dense mask holds only 0 and 1")
    return mask.astype(bool)


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the dense .npy export")
    args = ie.parse_args(parser)
    visible = decode(ie.load_npy(args.export))
    lo, hi = ie.read_intervals(args.intervals)
    ie.check_equal("dense mask vs intervals", visible, ie.visible_from_intervals(lo, hi))
    ie.ok(f"dense {visible.shape} matches the intervals ({int(visible.sum())} visible pairs)")
    if ie.engine_enabled():
        ie.check_sdpa(visible, lambda torch: torch.from_numpy(visible), "the bool mask")


if __name__ == "__main__":
    ie.run(main)
