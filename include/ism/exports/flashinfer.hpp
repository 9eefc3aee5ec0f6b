// flashinfer (docs/formats.md#flashinfer): FlashInfer's custom mask with one request per
// document. Request r is document r, its queries and keys both the document's
// tokens: qo_indptr = kv_indptr = the document starts, [R + 1] int32. Its mask
// is the document's [L, L] block flattened row-major (query outer, key inner),
// bits packed least-significant-bit first (NumPy's bitorder='little') into
// packed_mask, uint8. Each request starts on a byte boundary at byte
// mask_indptr[r], int32; the unused high bits of its last byte are 0.
//
// Within a request FlashInfer numbers queries and keys from 0; query i and key
// j are the document's tokens d0 + i and d0 + j, so the absolute positions of
// docs/semantics.md#chunks-and-absolute-positions hold with no alignment question (the engine's own causal
// flag must be off, the mask says everything). Tokens of different documents
// never see each other, so one request per document is exact; a mask whose row
// sees outside its document is refused.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/mask.hpp"

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
  detail::check_mask_fits(sequence, m, "flashinfer");
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

namespace detail {

// Checks FlashInfer's token offsets `name`, one entry per request and the
// total: they run from 0 to the layout's n tokens and never fall.
inline void check_token_offsets(const format_arrays& file, std::string_view name,
                                std::span<const std::int32_t> offsets, index_t n) {
  if (offsets.front() != 0 || offsets.back() != n)
    file.fail(std::string(name) + " must run from 0 to the layout's " + std::to_string(n) +
              " tokens");
  for (std::size_t r = 1; r < offsets.size(); ++r)
    if (offsets[r] < offsets[r - 1])
      file.fail(std::string(name) + "[" + std::to_string(r) + "] is below the entry before it");
}

}  // namespace detail

// The mask FlashInfer computes: request r's queries [qo_indptr[r],
// qo_indptr[r + 1]) against its keys [kv_indptr[r], kv_indptr[r + 1]), bit
// (i, j) of its packed block set where query i sees key j; no query sees
// another request's keys. Throws format_error for a wrong dtype or shape,
// offsets that do not rise from 0 to N, or a request whose bytes are not
// ceil(Lq x Lk / 8) within packed_mask.
inline run_mask decode_flashinfer(std::span<const named_array> arrays, const layout& sequence,
                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("flashinfer", arrays,
                                   {"packed_mask", "mask_indptr", "qo_indptr", "kv_indptr"});
  file.check("packed_mask", {npy_dtype::uint8}, {detail::any_extent});
  file.check("qo_indptr", {npy_dtype::int32}, {detail::any_extent});
  const index_t requests = file.extent("qo_indptr", 0) - 1;
  if (requests < 1) file.fail("qo_indptr needs at least 2 entries");
  file.check("mask_indptr", {npy_dtype::int32}, {requests + 1});
  file.check("kv_indptr", {npy_dtype::int32}, {requests + 1});
  const auto bits = file.values<std::uint8_t>("packed_mask");
  const auto mask_at = file.values<std::int32_t>("mask_indptr");
  const auto qo = file.values<std::int32_t>("qo_indptr");
  const auto kv = file.values<std::int32_t>("kv_indptr");
  const index_t n = sequence.size();
  detail::check_token_offsets(file, "qo_indptr", qo, n);
  detail::check_token_offsets(file, "kv_indptr", kv, n);
  if (mask_at.front() != 0) file.fail("mask_indptr[0] must be 0");
  run_mask out(n, max_runs);
  for (index_t r = 0; r < requests; ++r) {
    const index_t rows = qo[r + 1] - qo[r], cols = kv[r + 1] - kv[r];
    const index_t bytes = (rows * cols + 7) / 8;
    if (mask_at[r + 1] - static_cast<index_t>(mask_at[r]) != bytes ||
        mask_at[r + 1] > static_cast<index_t>(bits.size()))
      file.fail("request " + std::to_string(r) + " of " + std::to_string(rows) + " x " +
                std::to_string(cols) + " needs " + std::to_string(bytes) +
                " bytes at mask_indptr[" + std::to_string(r) + "] = " + std::to_string(mask_at[r]) +
                " of the " + std::to_string(bits.size()) + " in packed_mask");
    for (index_t i = 0; i < rows; ++i) {
      std::vector<key_run> runs;
      for (index_t j = 0; j < cols; ++j) {
        const index_t bit = i * cols + j;
        if (!((bits[static_cast<std::size_t>(mask_at[r] + bit / 8)] >> (bit % 8)) & 1u)) continue;
        if (!runs.empty() && runs.back().end == kv[r] + j)
          ++runs.back().end;
        else
          runs.push_back({kv[r] + j, kv[r] + j + 1});
      }
      out.add_row(std::move(runs));
    }
  }
  return out;
}

inline export_format flashinfer_format() {
  export_format f;
  f.name = "flashinfer";
  f.arrays = {"packed_mask", "mask_indptr", "qo_indptr", "kv_indptr"};
  f.summary = ".npz FlashInfer custom mask, one request per document: uint8 packed_mask "
              "(row-major, least significant bit first), int32 mask_indptr (byte offsets), "
              "qo_indptr, kv_indptr [D + 1]";
  f.quadratic = true;
  f.shapes = [](const layout& s, const mask_source&, const export_options&) {
    return flashinfer_shapes(static_cast<index_t>(s.documents().size()),
                             flashinfer_mask_bytes(s));
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(flashinfer_mask_bytes(s)) +
           3 * sizeof(std::int32_t) * (s.documents().size() + 1);
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    return own_arrays(export_flashinfer(m, s));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_flashinfer(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
