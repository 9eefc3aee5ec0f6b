// cu_seqlens (FORMATS.md): int32 cu_seqlens [D+1], the document starts of the
// packed row followed by its length, the varlen convention of FlashAttention
// (cu_seqlens_q = cu_seqlens_k) and of xformers block-diagonal masks.
//
// It depends on the layout alone: with causal=True the engine reproduces the
// `causal` paradigm and with causal=False the `bidirectional` one. `prefix` and
// `ism` need a bidirectional overlay as well (hf.hpp, vllm.hpp), and those
// overlays use it to keep documents apart. The export covers the whole row, so
// cu_seqlens_q = cu_seqlens_k and no alignment arises; an engine that runs a
// chunk of queries against a longer KV cache aligns causal attention
// bottom-right (FlashAttention >= 2.1), which is absolute positions (SPEC.md
// section 4) only when the chunk's last query is the cache's last key.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ism/layout.hpp"
#include "ism/npy.hpp"

namespace ism {
inline namespace v0 {

struct cu_seqlens_export {
  std::vector<std::int32_t> cu_seqlens;  // (D + 1,)
};

// The array's name, dtype and shape with no data: enough for npy_bytes to size
// the file before the export is built.
inline std::vector<named_array> cu_seqlens_shapes(index_t documents) {
  return {{"cu_seqlens", {npy_dtype::int32, {documents + 1}, {}}}};
}

// In O(documents). Positions fit int32 because a layout stays below 2^31 tokens.
inline cu_seqlens_export export_cu_seqlens(const layout& sequence) {
  cu_seqlens_export out;
  out.cu_seqlens.reserve(sequence.documents().size() + 1);
  out.cu_seqlens.push_back(0);
  for (const document_span& doc : sequence.documents())
    out.cu_seqlens.push_back(static_cast<std::int32_t>(doc.end));
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const cu_seqlens_export& x) {
  std::vector<named_array> out = cu_seqlens_shapes(static_cast<index_t>(x.cu_seqlens.size()) - 1);
  out[0].array.data = std::as_bytes(std::span(x.cu_seqlens));
  return out;
}

}  // namespace v0
}  // namespace ism
