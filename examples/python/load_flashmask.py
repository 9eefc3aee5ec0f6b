"""Loads an `ism export --format flashmask` file and checks it.

    python3 load_flashmask.py startend_row_indices.npy --intervals mask.npz

The file is Paddle FlashMask's non-causal two-column form, int32 [N, 2]: key
column k holds [LTS, UTE], hidden from rows >= LTS and from rows < UTE, so
rows UTE..LTS-1 see it (a column no row sees is [0, 0]).

With paddle and a GPU, the example adds the batch and head axes ([1, 1, N, 2],
the head axis broadcasts over the key heads) and calls
paddle.nn.functional.flashmask_attention with causal=False, comparing its
output with a reference.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np


def decode(startend: np.ndarray, n: int) -> np.ndarray:
    ie.expect_array(startend, "startend_row_indices", ("<i4",), 2)
    ie.expect_shape(startend, "startend_row_indices", (n, 2))
    lts, ute = startend[:, 0], startend[:, 1]
    if np.any((lts < 0) | (lts > n) | (ute < 0) | (ute > n)):
        raise ie.CheckFailed(f"startend_row_indices: a row index is outside 0..{n}")
    rows = np.arange(n)[:, None]
    return (rows >= ute[None, :]) & (rows < lts[None, :])


def run_paddle(startend: np.ndarray, visible: np.ndarray) -> None:
    paddle = ie.import_optional("paddle")
    if paddle is None:
        ie.skipped("paddle")
        return
    if not paddle.device.is_compiled_with_cuda() or paddle.device.cuda.device_count() == 0:
        ie.skipped("paddle flashmask_attention", "needs a CUDA device")
        return
    heads, dim = 2, 64
    q, k, v = ie.random_qkv(visible.shape[0], heads, dim)
    # Paddle takes [batch, tokens, heads, dim] in float16 or bfloat16.
    out = paddle.nn.functional.flashmask_attention(
        *(paddle.to_tensor(x.transpose(0, 2, 1, 3), dtype="float16", place="gpu")
          for x in (q, k, v)),
        startend_row_indices=paddle.to_tensor(startend[None, None], place="gpu"), causal=False)
    ie.check_close(f"paddle {paddle.__version__} flashmask_attention",
                   out.astype("float32").numpy().transpose(0, 2, 1, 3),
                   ie.reference_attention(q, k, v, visible), 2e-2)


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the flashmask .npy export")
    args = ie.parse_args(parser)
    startend = ie.load_npy(args.export)
    lo, hi = ie.read_intervals(args.intervals)
    visible = decode(startend, lo.size)
    ie.check_equal("flashmask vs intervals", visible, ie.visible_from_intervals(lo, hi))
    ie.ok(f"flashmask startend_row_indices {startend.shape} matches the intervals")
    if ie.engine_enabled():
        run_paddle(startend, visible)


if __name__ == "__main__":
    ie.run(main)
