"""Loads an `ism export --format llamacpp` file and checks it.

    python3 load_llamacpp.py kq_mask.npy --intervals mask.npz

The file is ggml's KQ mask, float16 (or float32) [rows, N]: one row per query
token, one column per KV-cache cell, key index contiguous (ggml's ne[0] is the
last NumPy axis), 0 where visible and -inf where hidden. With --pad 64 the rows
are padded to a multiple of 64 (GGML_KQ_MASK_PAD of older ggml builds) with
all -inf rows. Columns are positions 0..N-1, which is cell j holding position j:
a contiguous cache filled from position 0.

llama.cpp builds this mask inside its C++ graph (ggml_soft_max_ext,
ggml_flash_attn_ext); no Python API takes one, so this example checks the
arrays with NumPy only.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np


def decode(kq_mask: np.ndarray, n: int) -> np.ndarray:
    ie.expect_array(kq_mask, "kq_mask", ("<f2", "<f4"), 2)
    rows, keys = kq_mask.shape
    if keys != n or rows < n:
        raise ie.CheckFailed(f"kq_mask: shape {kq_mask.shape}, expected ({n} or more, {n})")
    hidden = np.isneginf(kq_mask)
    if not np.all(hidden | (kq_mask == 0)):
        raise ie.CheckFailed("kq_mask: holds a value other than 0 and -inf")
    if not np.all(hidden[n:]):
        raise ie.CheckFailed(f"kq_mask: a padding row past row {n - 1} is not all -inf")
    return ~hidden[:n]


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the llamacpp .npy export")
    args = ie.parse_args(parser)
    kq_mask = ie.load_npy(args.export)
    lo, hi = ie.read_intervals(args.intervals)
    visible = decode(kq_mask, lo.size)
    ie.check_equal("llamacpp kq_mask vs intervals", visible, ie.visible_from_intervals(lo, hi))
    ie.ok(f"llamacpp kq_mask {kq_mask.dtype.str} {kq_mask.shape} "
          f"({kq_mask.shape[0] - lo.size} padding rows) matches the intervals")
    if ie.engine_enabled():
        ie.skipped("llama.cpp", "takes the KQ mask in C++ only (no Python API)")


if __name__ == "__main__":
    ie.run(main)
