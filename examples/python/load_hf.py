"""Loads an `ism export --format hf` file and checks it.

    python3 load_hf.py block_sequence_ids.npy --intervals mask.npz

The file is int64 block_sequence_ids [N] for HF transformers' block overlay:
every token of a bidirectional block carries the block's id, unique over the
sequence; other tokens carry -1. HF builds
    (causal and same packed sequence) or (same id and id >= 0),
which is the paradigm. The documents of the packed sequence come from elsewhere:
transformers finds them in position_ids that restart at 0 for each document
(here taken from the intervals export, whose lo is each token's document start).

With transformers installed, the example calls masking_utils.create_causal_mask
with block_sequence_ids and those position_ids, as a model's forward does, and
compares the boolean mask it returns with the intervals.
"""

import inspect

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np


def check_blocks(ids: np.ndarray, cu_seqlens: np.ndarray,
                 name: str = "block_sequence_ids") -> None:
    """Each id >= 0 is one run of tokens inside one document: the overlay is
    applied after the packed-sequence test, so an id shared by two documents
    would let them see each other. `name` is the array's, for the messages."""
    if np.any(ids < -1):
        raise ie.CheckFailed(f"{name}: an id below -1")
    document = np.searchsorted(cu_seqlens, np.arange(ids.size), side="right") - 1
    for block in np.unique(ids[ids >= 0]).tolist():
        where = np.flatnonzero(ids == block)
        if where[-1] - where[0] + 1 != where.size or document[where[0]] != document[where[-1]]:
            raise ie.CheckFailed(f"{name}: block {block} is not one run of tokens inside one "
                                 "document")


def decode(ids: np.ndarray, cu_seqlens: np.ndarray) -> np.ndarray:
    positions = np.arange(ids.size)
    document = np.searchsorted(cu_seqlens, positions, side="right") - 1
    causal = (positions[None, :] <= positions[:, None]) & (document[:, None] == document[None, :])
    same_block = (ids[:, None] == ids[None, :]) & (ids[:, None] >= 0)
    return causal | same_block


def position_ids(cu_seqlens: np.ndarray) -> np.ndarray:
    return np.concatenate([np.arange(d1 - d0) for d0, d1 in ie.document_spans(cu_seqlens)])


def run_transformers(ids: np.ndarray, cu_seqlens: np.ndarray, visible: np.ndarray) -> None:
    transformers = ie.import_optional("transformers")
    masking_utils = ie.import_optional("transformers.masking_utils")
    if transformers is None or masking_utils is None:
        ie.skipped("transformers")
        return
    if "block_sequence_ids" not in inspect.signature(masking_utils.create_causal_mask).parameters:
        ie.skipped(f"transformers {transformers.__version__}",
                   "has no block_sequence_ids in create_causal_mask")
        return
    import torch
    config = transformers.PretrainedConfig()
    config._attn_implementation = "sdpa"  # the boolean mask, True = attend
    n = ids.size
    mask = masking_utils.create_causal_mask(
        config=config, inputs_embeds=torch.zeros(1, n, 8), attention_mask=None,
        past_key_values=None, position_ids=torch.from_numpy(position_ids(cu_seqlens))[None],
        block_sequence_ids=torch.from_numpy(ids)[None])
    ie.check_equal("transformers create_causal_mask vs intervals", mask[0, 0].numpy(), visible)
    ie.ok(f"transformers {transformers.__version__} create_causal_mask with block_sequence_ids "
          "and packed position_ids gives the mask")


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the hf .npy export")
    args = ie.parse_args(parser)
    ids = ie.load_npy(args.export)
    lo, hi = ie.read_intervals(args.intervals)
    ie.expect_array(ids, "block_sequence_ids", ("<i8",), 1)
    ie.expect_shape(ids, "block_sequence_ids", lo.shape)
    cu_seqlens = ie.cu_seqlens_from_intervals(lo)
    check_blocks(ids, cu_seqlens)
    visible = ie.visible_from_intervals(lo, hi)
    ie.check_equal("hf overlay vs intervals", decode(ids, cu_seqlens), visible)
    ie.ok(f"hf block_sequence_ids, {np.unique(ids[ids >= 0]).size} blocks, matches the intervals")
    if ie.engine_enabled():
        run_transformers(ids, cu_seqlens, visible)


if __name__ == "__main__":
    ie.run(main)
