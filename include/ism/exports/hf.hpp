// hf (docs/formats.md#hf): int64 block_sequence_ids [N], the bidirectional
// overlay of HF transformers. Every token of a bidirectional block
// (bidirectional_blocks.hpp) carries that block's id, unique over the sequence
// and counted 0, 1, ... in order; every other token carries -1. Within a
// document
//   visible(q, k) = k <= q  or  (id[q] == id[k] and id[q] >= 0)
// reproduces the mask; a packed sequence adds "same document", which the
// engine reads from position_ids that restart at 0 for each document.
// Positions are the absolute positions of the sequence, the ones the engine's
// mask functions receive as q_idx and kv_idx.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/bidirectional_blocks.hpp"

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

namespace detail {

// One id per token, of dtype Id: the index of the token's bidirectional block
// (bidirectional_blocks) in sequence order, or -1 outside every block. In
// O(N); throws format_error naming `format` when the mask is not
// causal-or-block within each document.
template <class Id>
std::vector<Id> block_ids(const layout& sequence, const interval_mask& m, std::string_view format) {
  const std::vector<bidirectional_block> blocks = bidirectional_blocks(sequence, m, format);
  std::vector<Id> out(static_cast<std::size_t>(sequence.size()), Id{-1});
  for (std::size_t id = 0; id < blocks.size(); ++id)
    for (index_t t = blocks[id].begin; t < blocks[id].end; ++t)
      out[static_cast<std::size_t>(t)] = static_cast<Id>(id);
  return out;
}

}  // namespace detail

// In O(N). Throws format_error when the mask is not causal-or-block within
// each document (bidirectional_blocks).
inline hf_export export_hf(const layout& sequence, const interval_mask& m) {
  return {detail::block_ids<std::int64_t>(sequence, m, "hf")};
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const hf_export& x) {
  std::vector<named_array> out = hf_shapes(static_cast<index_t>(x.block_sequence_ids.size()));
  out[0].array.data = std::as_bytes(std::span(x.block_sequence_ids));
  return out;
}

namespace detail {

// Row q of an overlay of per-token block ids over causal attention in its
// document: [d0, q] plus every key of q's document with q's id, as runs.
// `same_id` lists, per id, the maximal runs of tokens carrying it in order;
// a well-formed file has one run an id, so a row costs O(1).
template <class Id>
std::vector<key_run> overlay_row(index_t q, const document_span& doc, std::span<const Id> ids,
                                 const std::vector<std::vector<key_run>>& same_id) {
  std::vector<key_run> runs{{doc.begin, q + 1}};
  if (ids[q] >= 0)
    for (const key_run& r : same_id[static_cast<std::size_t>(ids[q])])
      runs.push_back({std::max(r.begin, doc.begin), std::min(r.end, doc.end)});
  return runs;
}

// The runs of each id >= 0, ids below `ids_end`.
template <class Id>
std::vector<std::vector<key_run>> runs_of_ids(std::span<const Id> ids, index_t ids_end) {
  std::vector<std::vector<key_run>> out(static_cast<std::size_t>(ids_end));
  for (index_t t = 0; t < static_cast<index_t>(ids.size()); ++t) {
    if (ids[t] < 0) continue;
    auto& runs = out[static_cast<std::size_t>(ids[t])];
    if (!runs.empty() && runs.back().end == t)
      ++runs.back().end;
    else
      runs.push_back({t, t + 1});
  }
  return out;
}

// The mask of per-token block ids `name` of dtype Id in `file` over causal
// attention within the layout's documents. Throws format_error for a wrong
// dtype or shape, or an id below -1 or not below N (ids are numbered from 0,
// one per block).
template <class Id>
run_mask decode_block_ids(const format_arrays& file, std::string_view name, const layout& sequence,
                          index_t max_runs) {
  const index_t n = sequence.size();
  file.check(name, {npy_dtype_of<Id>}, {n});
  const std::span<const Id> ids = file.values<Id>(name);
  for (index_t t = 0; t < n; ++t)
    if (ids[t] < -1 || ids[t] >= n)
      file.fail(std::string(name) + "[" + std::to_string(t) + "] is " + std::to_string(ids[t]) +
                "; ids are -1 (causal) or block numbers from 0 to " + std::to_string(n - 1));
  const auto same_id = runs_of_ids(ids, n);
  run_mask out(n, max_runs);
  for (const document_span& doc : sequence.documents())
    for (index_t q = doc.begin; q < doc.end; ++q) out.add_row(overlay_row(q, doc, ids, same_id));
  return out;
}

}  // namespace detail

// The mask an engine builds from block_sequence_ids and the layout's documents
// (detail::decode_block_ids).
inline run_mask decode_hf(std::span<const named_array> arrays, const layout& sequence,
                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("hf", arrays, {"block_sequence_ids"});
  return detail::decode_block_ids<std::int64_t>(file, "block_sequence_ids", sequence, max_runs);
}

inline export_format hf_format() {
  export_format f;
  f.name = "hf";
  f.arrays = {"block_sequence_ids"};
  f.summary = ".npy int64 block_sequence_ids [N]: the bidirectional block's id, -1 outside "
              "blocks (HF transformers' overlay on causal attention)";
  f.shapes = [](const layout& s, const mask_source& m, const export_options&) {
    bidirectional_blocks(s, m(), "hf");
    return hf_shapes(s.size());
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * (sizeof(std::int64_t) + 3 * sizeof(index_t));
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    return own_arrays(export_hf(s, m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_hf(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
