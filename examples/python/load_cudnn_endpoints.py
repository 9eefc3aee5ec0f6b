"""Loads an `ism export --format cudnn_endpoints` file and checks it.

    python3 load_cudnn_endpoints.py endpoints.npz --intervals mask.npz

The archive holds the interval mask of the cuDNN frontend's flex attention
(cudnn.flex_attention, its mask_func tensor) for packed (THD) input: int32
endpoints [1, nfunc, N], nfunc odd, and int32 cu_seqlens [D + 1], given as both
cu_seqlens_q and cu_seqlens_k. Row q of sequence [c0, c1) sees the keys
    c0 + k  for k in [0, F0) U [F1, F2) U [F3, F4) U ...
of its endpoints F0 <= F1 <= ..., which count from the sequence's first key.
ism writes nfunc = 1 when every row starts at its document's first token, and
3 otherwise.

The kernels run on SM90 and SM100-class GPUs only, so this example checks the
arrays with NumPy and has no engine step on a CPU.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np

NAMES = ("endpoints", "cu_seqlens")


def decode(arrays, n: int) -> np.ndarray:
    endpoints, cu_seqlens = arrays["endpoints"], arrays["cu_seqlens"]
    ie.expect_array(endpoints, "endpoints", ("<i4",), 3)
    ie.expect_array(cu_seqlens, "cu_seqlens", ("<i4",), 1)
    functions = endpoints.shape[1]
    ie.expect_shape(endpoints, "endpoints", (1, functions, n))
    if functions % 2 == 0:
        raise ie.CheckFailed(f"endpoints: nfunc {functions} is not odd")
    if cu_seqlens[0] != 0 or cu_seqlens[-1] != n or np.any(np.diff(cu_seqlens) < 0):
        raise ie.CheckFailed(f"cu_seqlens: does not rise from 0 to {n}")
    visible = np.zeros((n, n), dtype=bool)
    for c0, c1 in ie.document_spans(cu_seqlens):
        f = endpoints[0, :, c0:c1].T.astype(np.int64)  # (rows, nfunc)
        with_zero = np.concatenate([np.zeros((c1 - c0, 1), dtype=np.int64), f], axis=1)
        if np.any(np.diff(with_zero, axis=1) < 0) or np.any(f > c1 - c0):
            raise ie.CheckFailed(f"endpoints: a row of sequence [{c0}, {c1}) does not rise "
                                 f"from 0 to {c1 - c0}")
        keys = np.arange(c1 - c0)[None, :]
        inside = np.zeros((c1 - c0, c1 - c0), dtype=bool)
        # Intervals [opening, closing): the opening of the first is 0.
        for closing in range(0, functions, 2):
            inside |= (with_zero[:, closing:closing + 1] <= keys) & (keys < f[:, closing:closing + 1])
        visible[c0:c1, c0:c1] = inside
    return visible


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the cudnn_endpoints .npz export")
    args = ie.parse_args(parser)
    arrays = ie.load_npz(args.export, NAMES)
    lo, hi = ie.read_intervals(args.intervals)
    ie.check_equal("cu_seqlens vs the documents", arrays["cu_seqlens"],
                   ie.cu_seqlens_from_intervals(lo))
    ie.check_equal("cudnn_endpoints vs intervals", decode(arrays, lo.size),
                   ie.visible_from_intervals(lo, hi))
    ie.ok(f"cudnn_endpoints {arrays['endpoints'].shape} match the intervals")
    if ie.engine_enabled():
        ie.skipped("cudnn.flex_attention", "runs on SM90 and SM100-class GPUs only")


if __name__ == "__main__":
    ie.run(main)
