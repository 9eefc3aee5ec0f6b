"""Loads an `ism export --format magi` file and checks it.

    python3 load_magi.py slices.npz --intervals mask.npz

The archive holds MagiAttention's mask slices, the q_ranges, k_ranges and
attn_type_map of its flex_flash_attn_func: int32 q_ranges [S, 2] and k_ranges
[S, 2], half-open [start, end) in positions of the packed sequence, and int32
attn_type_map [S]. Slice s lets query q see key k when both lie in its ranges
and, per its type,
    0 full:    always
    1 causal:  k - k_end <= q - q_end  (aligned bottom-right)
    2 inverse: k - k_start >= q - q_start  (aligned top-left)
    3 both.
Slices must not share a pair: the engine would count it twice. ism writes one
full slice per context segment and one causal slice per run of answers.

MagiAttention's kernels run on CUDA only, so this example checks the arrays with
NumPy and has no engine step on a CPU.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np

NAMES = ("q_ranges", "k_ranges", "attn_type_map")
FULL, CAUSAL, INVERSE_CAUSAL = 0, 1, 2


def decode(arrays, n: int) -> np.ndarray:
    q_ranges, k_ranges, types = (arrays[name] for name in NAMES)
    ie.expect_array(types, "attn_type_map", ("<i4",), 1)
    for name in NAMES[:2]:
        ie.expect_array(arrays[name], name, ("<i4",), 2)
        ie.expect_shape(arrays[name], name, (types.size, 2))
        ranges = arrays[name]
        if np.any((ranges[:, 0] < 0) | (ranges[:, 1] < ranges[:, 0]) | (ranges[:, 1] > n)):
            raise ie.CheckFailed(f"{name}: a range is not 0 <= start <= end <= {n}")
    if np.any((types < 0) | (types > 3)):
        raise ie.CheckFailed("attn_type_map: a type outside 0..3")
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    held = np.zeros((n, n), dtype=np.int64)
    for (q0, q1), (k0, k1), kind in zip(q_ranges.tolist(), k_ranges.tolist(), types.tolist()):
        inside = (q0 <= q) & (q < q1) & (k0 <= k) & (k < k1)
        if kind & CAUSAL:
            inside &= k - k1 <= q - q1
        if kind & INVERSE_CAUSAL:
            inside &= k - k0 >= q - q0
        held += inside
    if np.any(held > 1):
        raise ie.CheckFailed("slices share a pair, which the engine would count twice")
    return held == 1


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the magi .npz export")
    args = ie.parse_args(parser)
    arrays = ie.load_npz(args.export, NAMES)
    lo, hi = ie.read_intervals(args.intervals)
    ie.check_equal("magi slices vs intervals", decode(arrays, lo.size),
                   ie.visible_from_intervals(lo, hi))
    types = arrays["attn_type_map"]
    ie.ok(f"magi: {int(np.sum(types == FULL))} full and {int(np.sum(types == CAUSAL))} causal "
          "slices match the intervals")
    if ie.engine_enabled():
        ie.skipped("magi_attention's flex_flash_attn_func", "runs on CUDA only")


if __name__ == "__main__":
    ie.run(main)
