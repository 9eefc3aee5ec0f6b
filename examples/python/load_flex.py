"""Loads an `ism export --format flex` file and checks it.

    python3 load_flex.py blocks.npz --intervals mask.npz [--compile]

The archive holds the int32 arrays of a PyTorch FlexAttention BlockMask for
block size (Bq, Bk): per query block the partial key blocks (kv_num_blocks,
kv_indices) and the full ones (full_kv_*), their transposes per key block
(q_*, full_q_*), block_size and seq_lengths. Listed indices come first,
ascending; ism writes 0 in the entries past each count.

With torch installed the arrays become BlockMask.from_kv_blocks(...) with a
mask_mod built from the intervals. The mask_mod is not optional: flex_attention
applies it inside partial blocks, and eager flex_attention applies nothing but
the mask_mod, so a trivial one (the default) would make every pair of a listed
block, or with eager mode every pair at all, visible without a word. --compile
also runs the compiled kernel, the one that walks the block lists (slow to
compile on a CPU).
"""

import ism_exports as ie  # first: it exits with 77 when NumPy is missing
import numpy as np

KV_LISTS = ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices")
Q_LISTS = ("q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices")
NAMES = KV_LISTS + Q_LISTS + ("block_size", "seq_lengths")
# What ism writes past each row's count of listed blocks.
PADDING = 0


def lists_to_dense(counts: np.ndarray, indices: np.ndarray, name: str) -> np.ndarray:
    """bool [rows, columns]: True where row r lists block c."""
    rows, columns = indices.shape
    ie.expect_shape(counts, f"{name} counts", (rows,))
    if np.any((counts < 0) | (counts > columns)):
        raise ie.CheckFailed(f"{name}: a count is outside 0..{columns}")
    listed = np.arange(columns)[None, :] < counts[:, None]
    if np.any(listed & ((indices < 0) | (indices >= columns))):
        raise ie.CheckFailed(f"{name}: a listed block index is outside 0..{columns - 1}")
    if np.any(listed[:, 1:] & (np.diff(indices, axis=1) <= 0)):
        raise ie.CheckFailed(f"{name}: listed block indices are not ascending")
    if np.any(indices[~listed] != PADDING):
        raise ie.CheckFailed(f"{name}: entries past the counts are not {PADDING}")
    dense = np.zeros((rows, columns), dtype=bool)
    dense[np.nonzero(listed)[0], indices[listed]] = True
    return dense


def expected_blocks(visible: np.ndarray, bq: int, bk: int):
    """(partial, full) per tile. Positions past the sequence end count as
    hidden, so a ragged tail tile is never full."""
    lq, lk = visible.shape
    qb, kb = -(-lq // bq), -(-lk // bk)
    padded = np.zeros((qb * bq, kb * bk), dtype=bool)
    padded[:lq, :lk] = visible
    pairs = padded.reshape(qb, bq, kb, bk).sum(axis=(1, 3))
    full = pairs == bq * bk
    return (pairs > 0) & ~full, full


def expand(blocks: np.ndarray, bq: int, bk: int, shape) -> np.ndarray:
    return np.repeat(np.repeat(blocks, bq, axis=0), bk, axis=1)[:shape[0], :shape[1]]


def decode(arrays, visible: np.ndarray):
    for name in NAMES:
        ie.expect_array(arrays[name], name, ("<i4",), 2 if name.endswith("indices") else 1)
    bq, bk = (int(x) for x in arrays["block_size"])
    lq, lk = (int(x) for x in arrays["seq_lengths"])
    ie.check_equal("seq_lengths", np.array([lq, lk]), np.array(visible.shape))
    if bq < 1 or bk < 1:
        raise ie.CheckFailed(f"block_size ({bq}, {bk}) must be positive")
    qb, kb = -(-lq // bq), -(-lk // bk)
    ie.expect_shape(arrays["kv_indices"], "kv_indices", (qb, kb))
    ie.expect_shape(arrays["q_indices"], "q_indices", (kb, qb))

    partial = lists_to_dense(arrays["kv_num_blocks"], arrays["kv_indices"], "kv")
    full = lists_to_dense(arrays["full_kv_num_blocks"], arrays["full_kv_indices"], "full_kv")
    ie.check_equal("q lists vs kv lists transposed",
                   lists_to_dense(arrays["q_num_blocks"], arrays["q_indices"], "q"), partial.T)
    ie.check_equal("full_q lists vs full_kv lists transposed",
                   lists_to_dense(arrays["full_q_num_blocks"], arrays["full_q_indices"],
                                  "full_q"), full.T)

    expected_partial, expected_full = expected_blocks(visible, bq, bk)
    ie.check_equal("partial blocks vs intervals", partial, expected_partial)
    ie.check_equal("full blocks vs intervals", full, expected_full)
    # What a kernel computes: full tiles whole, partial tiles through mask_mod.
    decoded = expand(full, bq, bk, visible.shape) | (expand(partial, bq, bk, visible.shape)
                                                     & visible)
    ie.check_equal("block mask with the interval mask_mod vs intervals", decoded, visible)
    ie.ok(f"flex block mask ({bq}, {bk}), {qb} x {kb} blocks: {int(partial.sum())} partial, "
          f"{int(full.sum())} full, matches the intervals")
    return (bq, bk), (lq, lk), partial | full


def compare_listed(what, counts, indices, expected_counts, expected_indices) -> None:
    """Counts equal and the listed entries equal; the rest is padding."""
    ie.check_equal(f"{what} counts", counts, expected_counts)
    listed = np.arange(indices.shape[-1])[None, :] < counts[:, None]
    ie.check_equal(f"{what} listed indices", np.where(listed, indices, -1),
                   np.where(listed, expected_indices, -1))


def run_flex(arrays, lo, hi, visible, block_size, seq_lengths, listed_blocks, compile_kernel):
    torch = ie.import_optional("torch")
    flex = ie.import_optional("torch.nn.attention.flex_attention")
    if torch is None or flex is None:
        ie.skipped("torch with FlexAttention")
        return

    def tensor(name):
        return torch.from_numpy(arrays[name])[None, None]  # batch and head of size 1

    mask_mod = ie.interval_mask_mod(torch.from_numpy(lo), torch.from_numpy(hi))
    block_mask = flex.BlockMask.from_kv_blocks(
        *(tensor(name) for name in KV_LISTS), BLOCK_SIZE=block_size, mask_mod=mask_mod,
        seq_lengths=seq_lengths)
    ie.check_equal("BlockMask.to_dense() vs listed blocks",
                   block_mask.to_dense()[0, 0].numpy().astype(bool), listed_blocks)

    # The engine's own classification from the same mask_mod, and its transposes.
    own = flex.create_block_mask(mask_mod, 1, 1, *seq_lengths, device="cpu",
                                 BLOCK_SIZE=block_size)
    for ours, theirs in ((KV_LISTS[:2], (own.kv_num_blocks, own.kv_indices)),
                         (KV_LISTS[2:], (own.full_kv_num_blocks, own.full_kv_indices)),
                         (Q_LISTS[:2], (block_mask.q_num_blocks, block_mask.q_indices)),
                         (Q_LISTS[2:], (block_mask.full_q_num_blocks, block_mask.full_q_indices))):
        compare_listed(f"{ours[1]} vs torch", arrays[ours[0]], arrays[ours[1]],
                       theirs[0][0, 0].numpy(), theirs[1][0, 0].numpy())
    ie.ok(f"torch {torch.__version__} create_block_mask lists the same blocks")

    q, k, v = ie.random_qkv(seq_lengths[0])
    expected = ie.reference_attention(q, k, v, visible)
    qkv = tuple(torch.from_numpy(x) for x in (q, k, v))
    out = ie.eager_flex_attention(flex, *qkv, block_mask=block_mask)
    ie.check_close("eager flex_attention (applies the mask_mod to every pair)", out.numpy(),
                   expected, 1e-5)
    if compile_kernel:
        out = torch.compile(flex.flex_attention)(*qkv, block_mask=block_mask)
        ie.check_close("compiled flex_attention (walks the block lists)", out.numpy(), expected,
                       1e-5)
    else:
        print("note: eager flex_attention does not read the block lists; --compile runs the "
              "kernel that does")


def main() -> None:
    parser = ie.argument_parser(__doc__.splitlines()[0], "the flex .npz export")
    parser.add_argument("--compile", action="store_true",
                        help="also run torch.compile(flex_attention), which reads the lists")
    args = ie.parse_args(parser)
    arrays = ie.load_npz(args.export, NAMES)
    lo, hi = ie.read_intervals(args.intervals)
    visible = ie.visible_from_intervals(lo, hi)
    block_size, seq_lengths, listed_blocks = decode(arrays, visible)
    if ie.engine_enabled():
        run_flex(arrays, lo, hi, visible, block_size, seq_lengths, listed_blocks,
                 args.compile)


if __name__ == "__main__":
    ie.run(main)
