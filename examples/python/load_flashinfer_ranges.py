"""Loads an `ism export --format flashinfer_ranges` file and checks it.

    python3 load_flashinfer_ranges.py ranges.npz --intervals mask.npz

The archive holds the arguments of FlashInfer's causal + bidirectional-ranges
prefill (BatchPrefillWithCausalBidirectionalRangesWrapper), one request per
document: int32 ranges [N, 2], one row per query token, an inclusive
[start, end] of keys counted from the request's first token or (-1, -1), and
int32 qo_indptr and kv_indptr [D + 1], the document starts then N. The engine
keeps a pair when
    key <= query  (causal, aligned bottom-right in the request)  or
    start <= key <= end  (the query's range),
so each row sees its document from the first token up to itself, and its range.

The wrapper runs on CUDA only (FlashInfer's fa2 backend), so this example checks
the arrays with NumPy and has no engine step on a CPU.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np

NAMES = ("ranges", "qo_indptr", "kv_indptr")
NO_RANGE = -1


def decode(arrays, n: int) -> np.ndarray:
    for name in NAMES:
        ie.expect_array(arrays[name], name, ("<i4",), 2 if name == "ranges" else 1)
    ranges, qo, kv = (arrays[name].astype(np.int64) for name in NAMES)
    ie.expect_shape(ranges, "ranges", (n, 2))
    ie.expect_shape(kv, "kv_indptr", qo.shape)
    for name, offsets in (("qo_indptr", qo), ("kv_indptr", kv)):
        if offsets.size < 2 or offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 0):
            raise ie.CheckFailed(f"{name}: does not rise from 0 to {n}")
    visible = np.zeros((n, n), dtype=bool)
    for r in range(qo.size - 1):
        queries, keys = int(qo[r + 1] - qo[r]), int(kv[r + 1] - kv[r])
        i = np.arange(queries)[:, None]
        j = np.arange(keys)[None, :]
        start, end = ranges[qo[r]:qo[r + 1], 0:1], ranges[qo[r]:qo[r + 1], 1:2]
        causal_row = (start == NO_RANGE) & (end == NO_RANGE)
        if np.any(~causal_row & ((start < 0) | (end < start) | (end >= keys))):
            raise ie.CheckFailed(f"ranges: request {r} has a range outside its {keys} keys")
        in_range = ~causal_row & (start <= j) & (j <= end)
        visible[qo[r]:qo[r + 1], kv[r]:kv[r + 1]] = (j <= i + keys - queries) | in_range
    return visible


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the flashinfer_ranges .npz export")
    args = ie.parse_args(parser)
    arrays = ie.load_npz(args.export, NAMES)
    lo, hi = ie.read_intervals(args.intervals)
    cu_seqlens = ie.cu_seqlens_from_intervals(lo)
    ie.check_equal("qo_indptr vs the documents", arrays["qo_indptr"], cu_seqlens)
    ie.check_equal("flashinfer_ranges vs intervals", decode(arrays, lo.size),
                   ie.visible_from_intervals(lo, hi))
    ranged = int(np.sum(arrays["ranges"][:, 0] != NO_RANGE))
    ie.ok(f"flashinfer_ranges: {ranged} of {lo.size} rows with a range match the intervals")
    if ie.engine_enabled():
        ie.skipped("flashinfer's BatchPrefillWithCausalBidirectionalRangesWrapper",
                   "runs on CUDA only")


if __name__ == "__main__":
    ie.run(main)
