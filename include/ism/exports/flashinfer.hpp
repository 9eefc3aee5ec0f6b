// flashinfer (FORMATS.md): FlashInfer's custom mask with one request per
// document. Request r is document r, its queries and keys both the document's
// tokens: qo_indptr = kv_indptr = the document starts, [R + 1] int32. Its mask
// is the document's [L, L] block flattened row-major (query outer, key inner),
// bits packed least-significant-bit first (NumPy's bitorder='little') into
// packed_mask, uint8. Each request starts on a byte boundary at byte
// mask_indptr[r], int32; the unused high bits of its last byte are 0.
//
// Within a request FlashInfer numbers queries and keys from 0; query i and key
// j are the document's tokens d0 + i and d0 + j, so the absolute positions of
// SPEC.md section 4 hold with no alignment question (the engine's own causal
// flag must be off, the mask says everything). Tokens of different documents
// never see each other, so one request per document is exact; a mask whose row
// sees outside its document is refused.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "ism/layout.hpp"
#include "ism/mask.hpp"
#include "ism/npy.hpp"

namespace ism {
inline namespace v0 {

struct flashinfer_export {
  std::vector<std::uint8_t> packed_mask;  // (mask bytes,)
  std::vector<std::int32_t> mask_indptr;  // (R + 1,) byte offsets into packed_mask
  std::vector<std::int32_t> qo_indptr;    // (R + 1,) token offsets
  std::vector<std::int32_t> kv_indptr;    // (R + 1,) token offsets
};

// The arrays' names, dtypes and shapes with no data: enough for npz_bytes to
// size the file before the export is built.
inline std::vector<named_array> flashinfer_shapes(index_t requests, index_t mask_bytes) {
  return {{"packed_mask", {npy_dtype::uint8, {mask_bytes}, {}}},
          {"mask_indptr", {npy_dtype::int32, {requests + 1}, {}}},
          {"qo_indptr", {npy_dtype::int32, {requests + 1}, {}}},
          {"kv_indptr", {npy_dtype::int32, {requests + 1}, {}}}};
}

// The bytes of packed_mask, the sum over documents of ceil(L * L / 8), from the
// layout alone in O(documents). Throws shape_error when they pass the int32
// byte offsets of mask_indptr (a document of about 131,072 tokens does).
inline index_t flashinfer_mask_bytes(const layout& sequence) {
  // L < 2^31, so L * L and the sum of the squares stay below 2^62.
  index_t bytes = 0;
  for (const document_span& doc : sequence.documents()) bytes += (doc.length() * doc.length() + 7) / 8;
  if (bytes > std::numeric_limits<std::int32_t>::max())
    throw shape_error("flashinfer: the packed mask would be " + std::to_string(bytes) +
                      " bytes, past the int32 byte offsets of mask_indptr");
  return bytes;
}

// In O(N + mask bytes), visiting visible pairs only. Throws shape_error when
// the mask and the layout differ in size or the packed mask is too large (see
// flashinfer_mask_bytes), argument_error for a row that sees a key outside its
// document.
template <interval_backed_mask M>
flashinfer_export export_flashinfer(const M& m, const layout& sequence) requires sized_mask<M> {
  if (m.size() != sequence.size())
    throw shape_error("flashinfer: the mask has " + std::to_string(m.size()) +
                      " rows but the layout has " + std::to_string(sequence.size()) + " tokens");
  flashinfer_export out;
  out.packed_mask.assign(static_cast<std::size_t>(flashinfer_mask_bytes(sequence)), 0);
  out.mask_indptr.push_back(0);
  out.qo_indptr.push_back(0);
  for (const document_span& doc : sequence.documents()) {
    const index_t first_byte = out.mask_indptr.back();
    for (index_t q = doc.begin; q < doc.end; ++q) {
      const row_interval r = m.interval(q);
      if (r.empty()) continue;
      if (r.lo < doc.begin || r.hi >= doc.end)
        throw argument_error("flashinfer: row " + std::to_string(q) + " sees keys [" +
                             std::to_string(r.lo) + ", " + std::to_string(r.hi) +
                             "], outside its document [" + std::to_string(doc.begin) + ", " +
                             std::to_string(doc.end) +
                             "); one request per document cannot "
                             "hold them");
      const index_t row_bit = (q - doc.begin) * doc.length() - doc.begin;
      for (index_t bit = row_bit + r.lo; bit <= row_bit + r.hi; ++bit)
        out.packed_mask[static_cast<std::size_t>(first_byte + bit / 8)] |=
            static_cast<std::uint8_t>(1u << (bit % 8));
    }
    out.mask_indptr.push_back(
        static_cast<std::int32_t>(first_byte + (doc.length() * doc.length() + 7) / 8));
    out.qo_indptr.push_back(static_cast<std::int32_t>(doc.end));
  }
  out.kv_indptr = out.qo_indptr;
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const flashinfer_export& x) {
  std::vector<named_array> out = flashinfer_shapes(static_cast<index_t>(x.qo_indptr.size()) - 1,
                                                   static_cast<index_t>(x.packed_mask.size()));
  out[0].array.data = std::as_bytes(std::span(x.packed_mask));
  out[1].array.data = std::as_bytes(std::span(x.mask_indptr));
  out[2].array.data = std::as_bytes(std::span(x.qo_indptr));
  out[3].array.data = std::as_bytes(std::span(x.kv_indptr));
  return out;
}

}  // namespace v0
}  // namespace ism
