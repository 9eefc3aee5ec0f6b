// hf (FORMATS.md): int64 block_sequence_ids [N], the bidirectional overlay of
// HF transformers. Every token of a bidirectional block (bidirectional_blocks.hpp)
// carries that block's id, unique over the row and counted 0, 1, ... in row
// order; every other token carries -1. Within a document
//   visible(q, k) = k <= q  or  (id[q] == id[k] and id[q] >= 0)
// reproduces the paradigm; a packed row adds "same document", e.g. from the
// packed-sequence ids or cu_seqlens.hpp. Positions are the absolute positions
// of the row, the ones the engine's mask functions receive as q_idx and kv_idx.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ism/exports/bidirectional_blocks.hpp"
#include "ism/npy.hpp"

namespace ism {
inline namespace v0 {

struct hf_export {
  std::vector<std::int64_t> block_sequence_ids;  // (N,)
};

// The array's name, dtype and shape with no data: enough for npy_bytes to size
// the file before the export is built.
inline std::vector<named_array> hf_shapes(index_t tokens) {
  return {{"block_sequence_ids", {npy_dtype::int64, {tokens}, {}}}};
}

// In O(N). Throws unknown_paradigm_error for a kind value that names no paradigm.
inline hf_export export_hf(const layout& sequence, paradigm_kind kind) {
  const std::vector<bidirectional_block> blocks = bidirectional_blocks(sequence, kind);
  hf_export out;
  out.block_sequence_ids.assign(static_cast<std::size_t>(sequence.size()), -1);
  for (std::size_t id = 0; id < blocks.size(); ++id)
    for (index_t t = blocks[id].begin; t < blocks[id].end; ++t)
      out.block_sequence_ids[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(id);
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const hf_export& x) {
  std::vector<named_array> out = hf_shapes(static_cast<index_t>(x.block_sequence_ids.size()));
  out[0].array.data = std::as_bytes(std::span(x.block_sequence_ids));
  return out;
}

}  // namespace v0
}  // namespace ism
