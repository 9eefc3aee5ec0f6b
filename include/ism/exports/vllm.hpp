// vllm (docs/formats.md#vllm): int32 ranges [D, R, 2]. Row d lists document d's
// bidirectional blocks (bidirectional_blocks.hpp) in order as inclusive
// [start, end] ranges relative to the document's first token, the form of
// vLLM's bidirectional multimodal-prefix ranges; within the document
//   visible(q, k) = k <= q  or  (q and k in the same range)
// reproduces the mask. R is the most blocks any document has, and at least 1
// so that every document has a row; unused entries are [-1, -1]. Positions are
// relative to the document, so each document is read as a request of its own,
// starting at position 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/bidirectional_blocks.hpp"

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

// In O(N). Throws format_error when the mask is not causal-or-block within
// each document (bidirectional_blocks).
inline vllm_export export_vllm(const layout& sequence, const interval_mask& m) {
  const std::vector<bidirectional_block> blocks = bidirectional_blocks(sequence, m, "vllm");
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

// The mask an engine builds from the ranges: row q of document d sees its
// document up to itself and the range of d that holds q. Throws format_error
// for a wrong dtype or shape, a range that is neither [-1, -1] nor inside its
// document with start <= end, or ranges of a document that are not in order
// and apart (each row then meets at most one, which keeps decoding O(N + D R)).
inline run_mask decode_vllm(std::span<const named_array> arrays, const layout& sequence,
                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("vllm", arrays, {"ranges"});
  const auto documents = static_cast<index_t>(sequence.documents().size());
  file.check("ranges", {npy_dtype::int32}, {documents, detail::any_extent, 2});
  const index_t per_document = file.extent("ranges", 1);
  const std::span<const std::int32_t> ranges = file.values<std::int32_t>("ranges");
  run_mask out(sequence.size(), max_runs);
  for (index_t d = 0; d < documents; ++d) {
    const document_span& doc = sequence.documents()[static_cast<std::size_t>(d)];
    std::vector<key_run> blocks;  // absolute, half-open
    for (index_t r = 0; r < per_document; ++r) {
      const index_t start = ranges[static_cast<std::size_t>(2 * (d * per_document + r))];
      const index_t end = ranges[static_cast<std::size_t>(2 * (d * per_document + r) + 1)];
      if (start == vllm_padding && end == vllm_padding) continue;
      if (start < 0 || end < start || end >= doc.length())
        file.fail("ranges[" + std::to_string(d) + ", " + std::to_string(r) + "] is [" +
                  std::to_string(start) + ", " + std::to_string(end) + "]; a range is [-1, -1] "
                  "or inclusive [start, end] with 0 <= start <= end < " +
                  std::to_string(doc.length()) + ", the document's length");
      if (!blocks.empty() && doc.begin + start < blocks.back().end)
        file.fail("ranges[" + std::to_string(d) + ", " + std::to_string(r) + "] starts at " +
                  std::to_string(start) + ", inside or before the range before it; a document's "
                  "ranges are listed in order and apart");
      blocks.push_back({doc.begin + start, doc.begin + end + 1});
    }
    auto block = blocks.begin();
    for (index_t q = doc.begin; q < doc.end; ++q) {
      while (block != blocks.end() && block->end <= q) ++block;
      std::vector<key_run> runs{{doc.begin, q + 1}};
      if (block != blocks.end() && block->begin <= q) runs.push_back(*block);
      out.add_row(std::move(runs));
    }
  }
  return out;
}

inline export_format vllm_format() {
  export_format f;
  f.name = "vllm";
  f.arrays = {"ranges"};
  f.summary = ".npy int32 ranges [D, R, 2]: inclusive bidirectional ranges per document, "
              "relative to its start, padded with -1";
  f.shapes = [](const layout& s, const mask_source& m, const export_options&) {
    return vllm_shapes(static_cast<index_t>(s.documents().size()),
                       detail::most_blocks_per_document(s, bidirectional_blocks(s, m(), "vllm")));
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * (2 * sizeof(std::int32_t) + 3 * sizeof(index_t));
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    return own_arrays(export_vllm(s, m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_vllm(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
