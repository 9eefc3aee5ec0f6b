// vllm (FORMATS.md): int32 ranges [D, R, 2]. Row d lists document d's
// bidirectional blocks (bidirectional_blocks.hpp) in order as inclusive
// [start, end] ranges relative to the document's first token, the form of
// vLLM's bidirectional multimodal-prefix ranges; within the document
//   visible(q, k) = k <= q  or  (q and k in the same range)
// reproduces the paradigm. R is the most blocks any document has, and at least
// 1 so that every document has a row; unused entries are [-1, -1]. Positions
// are relative to the document, so each document is read as a request of its
// own, starting at position 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "ism/exports/bidirectional_blocks.hpp"
#include "ism/npy.hpp"

namespace ism {
inline namespace v0 {

struct vllm_export {
  index_t documents = 0;             // D
  index_t ranges_per_document = 0;   // R
  std::vector<std::int32_t> ranges;  // (D, R, 2)
};

// What a padding entry holds, both ends.
inline constexpr std::int32_t vllm_padding = -1;

// The array's name, dtype and shape with no data: enough for npy_bytes to size
// the file before the export is built.
inline std::vector<named_array> vllm_shapes(index_t documents, index_t ranges_per_document) {
  return {{"ranges", {npy_dtype::int32, {documents, ranges_per_document, 2}, {}}}};
}

namespace detail {

inline index_t most_blocks_per_document(const layout& sequence,
                                        const std::vector<bidirectional_block>& blocks) {
  std::vector<index_t> per_document(sequence.documents().size(), 0);
  for (const bidirectional_block& b : blocks) ++per_document[static_cast<std::size_t>(b.document)];
  return std::max<index_t>(1, *std::max_element(per_document.begin(), per_document.end()));
}

}  // namespace detail

// R for this layout and paradigm, in O(segments), to size the file before the
// export is built. Throws unknown_paradigm_error for a kind value that names no
// paradigm.
inline index_t vllm_ranges_per_document(const layout& sequence, paradigm_kind kind) {
  return detail::most_blocks_per_document(sequence, bidirectional_blocks(sequence, kind));
}

// In O(D x R). Throws unknown_paradigm_error for a kind value that names no
// paradigm.
inline vllm_export export_vllm(const layout& sequence, paradigm_kind kind) {
  const std::vector<bidirectional_block> blocks = bidirectional_blocks(sequence, kind);
  vllm_export out;
  out.documents = static_cast<index_t>(sequence.documents().size());
  out.ranges_per_document = detail::most_blocks_per_document(sequence, blocks);
  out.ranges.assign(static_cast<std::size_t>(out.documents * out.ranges_per_document * 2),
                    vllm_padding);
  std::vector<index_t> used(static_cast<std::size_t>(out.documents), 0);
  for (const bidirectional_block& b : blocks) {
    const index_t d0 = sequence.documents()[static_cast<std::size_t>(b.document)].begin;
    const index_t slot =
        b.document * out.ranges_per_document + used[static_cast<std::size_t>(b.document)]++;
    out.ranges[static_cast<std::size_t>(2 * slot)] = static_cast<std::int32_t>(b.begin - d0);
    out.ranges[static_cast<std::size_t>(2 * slot + 1)] = static_cast<std::int32_t>(b.end - 1 - d0);
  }
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const vllm_export& x) {
  std::vector<named_array> out = vllm_shapes(x.documents, x.ranges_per_document);
  out[0].array.data = std::as_bytes(std::span(x.ranges));
  return out;
}

}  // namespace v0
}  // namespace ism
