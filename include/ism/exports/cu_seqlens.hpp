// cu_seqlens (docs/formats.md#cu_seqlens): int32 cu_seqlens [D+1], the document
// starts of the packed sequence followed by its length, the varlen convention
// of FlashAttention (cu_seqlens_q = cu_seqlens_k) and of xformers
// block-diagonal masks. The engine adds one flag: causal attention inside each
// document, or full. So the file holds a mask only when the mask is causal or
// fully bidirectional within every document; for any other (prefix, ism) it
// would silently mean something else, and the export refuses it: such masks
// take the `hf` or `vllm` overlay on top of the documents.
//
// The export covers the whole sequence, so cu_seqlens_q = cu_seqlens_k and no
// alignment arises; an engine that runs a chunk of queries against a longer KV
// cache aligns causal attention bottom-right (FlashAttention >= 2.1), which is
// absolute positions (docs/semantics.md#chunks-and-absolute-positions) only
// when the chunk's last query is the cache's last key.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"

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

// The engine's causal flag that makes cu_seqlens equal the mask: true when
// every row sees its document up to itself, false when it sees all of it.
// Throws format_error naming the first row of another form.
inline bool cu_seqlens_causal(const layout& sequence, const interval_mask& m) {
  detail::check_mask_fits(sequence, m, "cu_seqlens");
  bool causal = true, full = true;
  index_t first_causal_miss = -1, first_full_miss = -1;
  for (const document_span& doc : sequence.documents())
    for (index_t q = doc.begin; q < doc.end; ++q) {
      const bool from_start = m.lo()[q] == doc.begin;
      if (causal && !(from_start && m.hi()[q] == q)) causal = false, first_causal_miss = q;
      if (full && !(from_start && m.hi()[q] == doc.end - 1)) full = false, first_full_miss = q;
    }
  if (causal || full) return causal;
  throw format_error(
      "cu_seqlens cannot express this mask: row " + std::to_string(first_causal_miss) +
      " is not causal and row " + std::to_string(first_full_miss) +
      " does not see its whole document; the varlen engines take causal or full attention "
      "within documents (use hf or vllm for block overlays; export cu_seqlens with "
      "--paradigm causal for the document boundaries alone)");
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

// The mask a varlen engine computes: tokens see their own segment of
// cu_seqlens, up to themselves when `causal`. Throws format_error for a wrong
// dtype, or offsets that do not rise strictly from 0 to the layout's length.
// The documents need not be the layout's: the file says where they are.
inline run_mask decode_cu_seqlens(std::span<const named_array> arrays, const layout& sequence,
                                  bool causal, index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("cu_seqlens", arrays, {"cu_seqlens"});
  file.check("cu_seqlens", {npy_dtype::int32}, {detail::any_extent});
  const std::span<const std::int32_t> bounds = file.values<std::int32_t>("cu_seqlens");
  const index_t n = sequence.size();
  if (bounds.size() < 2 || bounds.front() != 0 || bounds.back() != n)
    file.fail("cu_seqlens must run from 0 to the layout's " + std::to_string(n) +
              " tokens with at least one document");
  run_mask out(n, max_runs);
  for (std::size_t d = 0; d + 1 < bounds.size(); ++d) {
    if (bounds[d + 1] <= bounds[d])
      file.fail("cu_seqlens[" + std::to_string(d + 1) + "] = " + std::to_string(bounds[d + 1]) +
                " does not rise above cu_seqlens[" + std::to_string(d) + "] = " +
                std::to_string(bounds[d]));
    for (index_t q = bounds[d]; q < bounds[d + 1]; ++q)
      out.add_row({{bounds[d], causal ? q + 1 : bounds[d + 1]}});
  }
  return out;
}

inline export_format cu_seqlens_format() {
  export_format f;
  f.name = "cu_seqlens";
  f.arrays = {"cu_seqlens"};
  f.summary = ".npy int32 cu_seqlens [D + 1]: document starts, then N (varlen attention; "
              "causal or full within documents only)";
  f.takes_causal = true;
  f.shapes = [](const layout& s, const mask_source& m, const export_options&) {
    cu_seqlens_causal(s, m());
    return cu_seqlens_shapes(static_cast<index_t>(s.documents().size()));
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.documents().size() + 1) * sizeof(std::int32_t);
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    cu_seqlens_causal(s, m);
    return own_arrays(export_cu_seqlens(s));
  };
  // A file read for a paradigm is read with the flag that paradigm needs,
  // unless the caller says which flag the engine is given.
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    const bool causal =
        in.options.causal ? *in.options.causal : cu_seqlens_causal(in.sequence, in.mask_mod);
    return decode_cu_seqlens(arrays, in.sequence, causal, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
