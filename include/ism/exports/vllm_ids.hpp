// vllm_ids (docs/formats.md#vllm_ids): int32 range_ids [N], one bidirectional
// range id per token: the tokens of a bidirectional block
// (bidirectional_blocks.hpp) share its id, unique over the sequence and
// counted 0, 1, ... in order, and every other token carries -1. Within a
// document
//   visible(q, k) = k <= q  or  (id[q] == id[k] and id[q] >= 0)
// reproduces the mask. It is the per-token form of the `vllm` ranges: a kernel
// reads one int32 for the query and one for the key instead of scanning a
// request's range list. The ids say nothing about documents; the engine takes
// those from its own sequence boundaries (cu_seqlens, or one request per
// document). Positions are the absolute positions of the packed sequence.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/hf.hpp"

namespace ism {
inline namespace v0 {

struct vllm_ids_export {
  std::vector<std::int32_t> range_ids;  // (N,)
};

// The array's name, dtype and shape with no data: enough for npy_bytes to size
// the file before the export is built.
inline std::vector<named_array> vllm_ids_shapes(index_t tokens) {
  return {{"range_ids", {npy_dtype::int32, {tokens}, {}}}};
}

// In O(N). Throws format_error when the mask is not causal-or-block within
// each document (bidirectional_blocks). Ids fit int32: there are fewer blocks
// than tokens, and a layout stays below 2^31 tokens.
inline vllm_ids_export export_vllm_ids(const layout& sequence, const interval_mask& m) {
  return {detail::block_ids<std::int32_t>(sequence, m, "vllm_ids")};
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const vllm_ids_export& x) {
  std::vector<named_array> out = vllm_ids_shapes(static_cast<index_t>(x.range_ids.size()));
  out[0].array.data = std::as_bytes(std::span(x.range_ids));
  return out;
}

// The mask an engine builds from range_ids and the layout's documents
// (detail::decode_block_ids): causal within the document, or the same id >= 0.
inline run_mask decode_vllm_ids(std::span<const named_array> arrays, const layout& sequence,
                                index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("vllm_ids", arrays, {"range_ids"});
  return detail::decode_block_ids<std::int32_t>(file, "range_ids", sequence, max_runs);
}

inline export_format vllm_ids_format() {
  export_format f;
  f.name = "vllm_ids";
  f.arrays = {"range_ids"};
  f.summary = ".npy int32 range_ids [N]: the token's bidirectional range id, -1 outside every "
              "range (causal, or equal ids)";
  f.shapes = [](const layout& s, const mask_source& m, const export_options&) {
    bidirectional_blocks(s, m(), "vllm_ids");
    return vllm_ids_shapes(s.size());
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * (sizeof(std::int32_t) + 3 * sizeof(index_t));
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    return own_arrays(export_vllm_ids(s, m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_vllm_ids(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
