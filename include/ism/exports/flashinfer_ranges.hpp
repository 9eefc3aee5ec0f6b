// flashinfer_ranges (docs/formats.md#flashinfer_ranges): FlashInfer's causal plus
// bidirectional-ranges prefill (BatchPrefillWithCausalBidirectionalRangesWrapper),
// one request per document:
//   ranges [N, 2]     int32, one row per query token: an inclusive [start, end]
//                     of keys in positions local to the request, or (-1, -1)
//   qo_indptr [D + 1] int32, the document starts, then N
//   kv_indptr [D + 1] int32, the same
// The engine keeps a pair when the key is causal for the query (bottom-right
// aligned within the request, which with as many keys as queries is k <= q) or
// lies inside the query's range. So a row sees [d0, q] united with its range:
// any mask whose every row starts at its document's first token and reaches at
// least itself, inside the document, fits, whatever its paradigm. Row q's range
// is [s, hi(q)], s the first token of the run of tokens up to q that share
// hi(q); for the block-shaped paradigms that is the bidirectional block, and a
// row whose run is itself alone (a causal row) gets (-1, -1).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/cu_seqlens.hpp"
#include "ism/exports/flashinfer.hpp"

namespace ism {
inline namespace v0 {

struct flashinfer_ranges_export {
  std::vector<std::int32_t> ranges;     // (N, 2)
  std::vector<std::int32_t> qo_indptr;  // (D + 1,)
  std::vector<std::int32_t> kv_indptr;  // (D + 1,)
};

// What a causal row holds, both ends.
inline constexpr std::int32_t flashinfer_no_range = -1;

// The arrays' names, dtypes and shapes with no data: enough for npz_bytes to
// size the file before the export is built.
inline std::vector<named_array> flashinfer_ranges_shapes(index_t tokens, index_t documents) {
  return {{"ranges", {npy_dtype::int32, {tokens, 2}, {}}},
          {"qo_indptr", {npy_dtype::int32, {documents + 1}, {}}},
          {"kv_indptr", {npy_dtype::int32, {documents + 1}, {}}}};
}

// In O(N). Throws shape_error when the mask and layout differ in size,
// format_error naming the first row that does not start at its document's
// first token, stops before itself or leaves its document.
inline flashinfer_ranges_export export_flashinfer_ranges(const layout& sequence,
                                                         const interval_mask& m) {
  detail::check_mask_fits(sequence, m, "flashinfer_ranges");
  flashinfer_ranges_export out;
  out.ranges.reserve(static_cast<std::size_t>(2 * sequence.size()));
  for (const document_span& doc : sequence.documents()) {
    index_t run_start = doc.begin;
    for (index_t q = doc.begin; q < doc.end; ++q) {
      const index_t lo = m.lo()[q], hi = m.hi()[q];
      if (lo != doc.begin || hi < q || hi >= doc.end)
        throw format_error("flashinfer_ranges cannot express this mask: row " + std::to_string(q) +
                           " sees [" + std::to_string(lo) + ", " + std::to_string(hi) +
                           "] but the engine's rows see their document [" +
                           std::to_string(doc.begin) + ", " + std::to_string(doc.end) +
                           ") from its first token up to at least themselves");
      if (q > doc.begin && hi != m.hi()[q - 1]) run_start = q;
      const bool causal = run_start == hi;
      out.ranges.push_back(causal ? flashinfer_no_range
                                  : static_cast<std::int32_t>(run_start - doc.begin));
      out.ranges.push_back(causal ? flashinfer_no_range : static_cast<std::int32_t>(hi - doc.begin));
    }
  }
  out.qo_indptr = export_cu_seqlens(sequence).cu_seqlens;
  out.kv_indptr = out.qo_indptr;
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const flashinfer_ranges_export& x) {
  std::vector<named_array> out =
      flashinfer_ranges_shapes(static_cast<index_t>(x.ranges.size() / 2),
                               static_cast<index_t>(x.qo_indptr.size()) - 1);
  out[0].array.data = std::as_bytes(std::span(x.ranges));
  out[1].array.data = std::as_bytes(std::span(x.qo_indptr));
  out[2].array.data = std::as_bytes(std::span(x.kv_indptr));
  return out;
}

// The mask the engine computes: query i of request r (token qo_indptr[r] + i,
// of Lq) sees the request's keys j (token kv_indptr[r] + j, of Lk) with
// j <= i + Lk - Lq, causal aligned bottom-right, or start <= j <= end of its
// range; no query sees another request's keys. Throws format_error for a wrong
// dtype or shape, offsets that do not rise from 0 to N, or a range that is
// neither (-1, -1) nor inside its request with start <= end.
inline run_mask decode_flashinfer_ranges(std::span<const named_array> arrays,
                                         const layout& sequence,
                                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("flashinfer_ranges", arrays,
                                   {"ranges", "qo_indptr", "kv_indptr"});
  const index_t n = sequence.size();
  file.check("ranges", {npy_dtype::int32}, {n, 2});
  file.check("qo_indptr", {npy_dtype::int32}, {detail::any_extent});
  const index_t requests = file.extent("qo_indptr", 0) - 1;
  if (requests < 1) file.fail("qo_indptr needs at least 2 entries");
  file.check("kv_indptr", {npy_dtype::int32}, {requests + 1});
  const auto ranges = file.values<std::int32_t>("ranges");
  const auto qo = file.values<std::int32_t>("qo_indptr");
  const auto kv = file.values<std::int32_t>("kv_indptr");
  detail::check_token_offsets(file, "qo_indptr", qo, n);
  detail::check_token_offsets(file, "kv_indptr", kv, n);
  run_mask out(n, max_runs);
  for (index_t r = 0; r < requests; ++r) {
    const index_t queries = qo[r + 1] - qo[r], keys = kv[r + 1] - kv[r];
    for (index_t i = 0; i < queries; ++i) {
      const index_t q = qo[r] + i;
      const index_t start = ranges[static_cast<std::size_t>(2 * q)];
      const index_t end = ranges[static_cast<std::size_t>(2 * q + 1)];
      std::vector<key_run> runs{{kv[r], kv[r] + std::min(keys, i + keys - queries + 1)}};
      if (start != flashinfer_no_range || end != flashinfer_no_range) {
        if (start < 0 || end < start || end >= keys)
          file.fail("ranges[" + std::to_string(q) + "] is [" + std::to_string(start) + ", " +
                    std::to_string(end) + "]; a range is (-1, -1) or inclusive [start, end] with "
                    "0 <= start <= end < " + std::to_string(keys) + ", request " +
                    std::to_string(r) + "'s key count");
        runs.push_back({kv[r] + start, kv[r] + end + 1});
      }
      out.add_row(std::move(runs));
    }
  }
  return out;
}

inline export_format flashinfer_ranges_format() {
  export_format f;
  f.name = "flashinfer_ranges";
  f.arrays = {"ranges", "qo_indptr", "kv_indptr"};
  f.summary = ".npz FlashInfer causal + bidirectional ranges prefill, one request per document: "
              "int32 ranges [N, 2] (inclusive, request-local, (-1, -1) for causal rows), "
              "qo_indptr, kv_indptr [D + 1]";
  f.shapes = [](const layout& s, const mask_source&, const export_options&) {
    return flashinfer_ranges_shapes(s.size(), static_cast<index_t>(s.documents().size()));
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * 2 * sizeof(std::int32_t) +
           2 * sizeof(std::int32_t) * (s.documents().size() + 1);
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    return own_arrays(export_flashinfer_ranges(s, m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_flashinfer_ranges(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
