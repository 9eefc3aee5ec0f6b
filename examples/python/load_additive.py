"""Loads an `ism export --format additive` file and checks it.

    python3 load_additive.py bias.npy --intervals mask.npz

The file is an [N, N] bias added to the attention scores: 0 where visible,
-inf where hidden (row = query, column = key). float32 and float16 load as they
are; bfloat16, which NumPy lacks, is stored as its raw bits in uint16 ('<u2').
A float attn_mask of PyTorch's scaled_dot_product_attention is such a bias,
which is what this example hands it to when torch is installed.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np


def bfloat16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    # A bfloat16 is the upper half of a float32.
    return (bits.astype(np.uint32) << 16).view(np.float32)


def decode(bias: np.ndarray) -> np.ndarray:
    ie.expect_array(bias, "bias", ("<f4", "<f2", "<u2"), 2)
    values = bfloat16_bits_to_float32(bias) if bias.dtype.str == "<u2" else bias
    hidden = np.isneginf(values)
    if not np.all(hidden | (values == 0)):
        q, k = np.argwhere(~hidden & (values != 0))[0]
        raise ie.CheckFailed(f"bias[{q}, {k}] is {values[q, k]}; only 0 and -inf belong there")
    return ~hidden


def to_torch_float32(torch, bias: np.ndarray):
    if bias.dtype.str == "<u2":
        # Reinterpret the bits as torch.bfloat16, the tensor an engine would keep.
        return torch.from_numpy(bias.view(np.int16)).view(torch.bfloat16).float()
    return torch.from_numpy(bias).float()


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the additive .npy export")
    args = ie.parse_args(parser)
    bias = ie.load_npy(args.export)
    visible = decode(bias)
    lo, hi = ie.read_intervals(args.intervals)
    ie.check_equal("additive mask vs intervals", visible, ie.visible_from_intervals(lo, hi))
    ie.ok(f"additive {bias.dtype.str} {bias.shape} matches the intervals")
    if ie.engine_enabled():
        ie.check_sdpa(visible, lambda torch: to_torch_float32(torch, bias),
                      f"the {bias.dtype.str} bias")


if __name__ == "__main__":
    ie.run(main)
