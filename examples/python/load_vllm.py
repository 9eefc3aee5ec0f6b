"""Loads an `ism export --format vllm` file and checks it.

    python3 load_vllm.py ranges.npy --intervals mask.npz

The file is int32 ranges [D, R, 2]: row d lists document d's bidirectional
blocks as inclusive [start, end] ranges relative to the document's first token,
padded with [-1, -1]. That is the form of vLLM's multimodal-prefix ranges
(mm_prefix_range, one row per request): its attention kernels keep a pair when
    key <= query  or  (query and key in one range),
with positions counted from the request's first token, so each document is a
request of its own. vLLM takes a range only when start < end; a one-token
block adds nothing to causal attention, and ism does not list one.

vLLM fills these ranges from a multimodal model's placeholders; there is no
user-facing call that takes them. With vllm installed, the example feeds the
ranges to the helper its attention backends use to build the per-request range
tensor and checks that the tensor carries the same ranges.
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np

PADDING = -1


def check_ranges(ranges: np.ndarray, cu_seqlens: np.ndarray):
    """The ranges of each document, as (start, end) pairs."""
    ie.expect_array(ranges, "ranges", ("<i4",), 3)
    documents = cu_seqlens.size - 1
    if ranges.shape[0] != documents or ranges.shape[2] != 2:
        raise ie.CheckFailed(f"ranges: shape {ranges.shape}, expected ({documents}, R, 2)")
    per_document = []
    for d, (d0, d1) in enumerate(ie.document_spans(cu_seqlens)):
        used = ranges[d, :, 0] != PADDING
        if np.any(ranges[d][~used] != PADDING) or np.any(np.diff(used.astype(int)) > 0):
            raise ie.CheckFailed(f"ranges: document {d} has padding before a range, or "
                                 "a half-padded entry")
        pairs = [tuple(pair) for pair in ranges[d][used].tolist()]
        for start, end in pairs:
            if not 0 <= start <= end < d1 - d0:
                raise ie.CheckFailed(f"ranges: document {d} has [{start}, {end}] outside its "
                                     f"{d1 - d0} tokens")
        per_document.append(pairs)
    return per_document


def decode(per_document, cu_seqlens: np.ndarray) -> np.ndarray:
    n = int(cu_seqlens[-1])
    visible = np.zeros((n, n), dtype=bool)
    for (d0, d1), pairs in zip(ie.document_spans(cu_seqlens), per_document):
        positions = np.arange(d1 - d0)
        block = positions[None, :] <= positions[:, None]
        for start, end in pairs:
            inside = (positions >= start) & (positions <= end)
            block |= inside[:, None] & inside[None, :]
        visible[d0:d1, d0:d1] = block
    return visible


def run_vllm(per_document) -> None:
    vllm = ie.import_optional("vllm")
    utils = ie.import_optional("vllm.v1.attention.backends.utils")
    if vllm is None:
        ie.skipped("vllm")
        return
    build = getattr(utils, "compute_mm_prefix_range_tensor", None)
    if build is None:
        ie.skipped(f"vllm {vllm.__version__}", "has no compute_mm_prefix_range_tensor")
        return
    requests = {d: pairs for d, pairs in enumerate(per_document) if pairs}
    tensor = build(requests, len(per_document), "cpu")
    for d, pairs in enumerate(per_document):
        carried = [tuple(p) for p in tensor[d].tolist()] if tensor is not None else []
        # vLLM pads with (0, 0), a range its kernels skip.
        ie.check_equal(f"vllm range tensor row {d}",
                       np.array([p for p in carried if p != (0, 0)]).reshape(-1, 2),
                       np.array(pairs).reshape(-1, 2))
    ie.ok(f"vllm {vllm.__version__} compute_mm_prefix_range_tensor carries the ranges")


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the vllm .npy export")
    args = ie.parse_args(parser)
    ranges = ie.load_npy(args.export)
    lo, hi = ie.read_intervals(args.intervals)
    cu_seqlens = ie.cu_seqlens_from_intervals(lo)
    per_document = check_ranges(ranges, cu_seqlens)
    ie.check_equal("vllm ranges vs intervals", decode(per_document, cu_seqlens),
                   ie.visible_from_intervals(lo, hi))
    ie.ok(f"vllm ranges {ranges.shape} match the intervals")
    if ie.engine_enabled():
        run_vllm(per_document)


if __name__ == "__main__":
    ie.run(main)
