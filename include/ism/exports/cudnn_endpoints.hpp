// cudnn_endpoints (docs/formats.md#cudnn_endpoints): the cuDNN frontend's
// interval-mask attention (cudnn.flex_attention, its mask_func tensor) over the
// packed (THD) sequence:
//   endpoints [1, nfunc, N] int32: row q's endpoints F0 <= F1 <= ... in key
//                           positions local to q's sequence; the row sees
//                           [0, F0) U [F1, F2) U [F3, F4) U ..., nfunc odd
//   cu_seqlens [D + 1]      int32: the sequence (document) starts, then N,
//                           given as both cu_seqlens_q and cu_seqlens_k
// The leading 1 is the mask's head axis: one mask shared by every head.
//
// Every row of an interval mask is one interval, so nfunc = 1 (F0 = hi + 1,
// local) when every row that sees anything starts at its document's first
// token, and nfunc = 3 (F0 = 0, then [lo, hi + 1)) otherwise; a row that sees
// nothing has all its endpoints 0. Endpoints are local to a sequence, so a row
// that sees a key of another document cannot be written and is refused.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"
#include "ism/exports/cu_seqlens.hpp"

namespace ism {
inline namespace v0 {

struct cudnn_endpoints_export {
  index_t functions = 1;                 // nfunc
  std::vector<std::int32_t> endpoints;   // (1, nfunc, N)
  std::vector<std::int32_t> cu_seqlens;  // (D + 1,)
};

// The arrays' names, dtypes and shapes with no data: enough for npz_bytes to
// size the file before the export is built.
inline std::vector<named_array> cudnn_endpoints_shapes(index_t tokens, index_t documents,
                                                       index_t functions) {
  return {{"endpoints", {npy_dtype::int32, {1, functions, tokens}, {}}},
          {"cu_seqlens", {npy_dtype::int32, {documents + 1}, {}}}};
}

// The endpoints a row needs: 1 when every row that sees anything starts at its
// document's first token, 3 otherwise. Throws shape_error when the mask and
// layout differ in size, format_error naming the first row that sees a key
// outside its document.
inline index_t cudnn_endpoint_count(const layout& sequence, const interval_mask& m) {
  detail::check_mask_fits(sequence, m, "cudnn_endpoints");
  index_t functions = 1;
  for (const document_span& doc : sequence.documents())
    for (index_t q = doc.begin; q < doc.end; ++q) {
      const index_t lo = m.lo()[q], hi = m.hi()[q];
      if (lo > hi) continue;
      if (lo < doc.begin || hi >= doc.end)
        throw format_error("cudnn_endpoints cannot express this mask: row " + std::to_string(q) +
                           " sees [" + std::to_string(lo) + ", " + std::to_string(hi) +
                           "], outside its document [" + std::to_string(doc.begin) + ", " +
                           std::to_string(doc.end) +
                           "); endpoints are key positions within the row's own sequence");
      if (lo != doc.begin) functions = 3;
    }
  return functions;
}

// In O(N). Throws as cudnn_endpoint_count.
inline cudnn_endpoints_export export_cudnn_endpoints(const layout& sequence,
                                                     const interval_mask& m) {
  cudnn_endpoints_export out;
  out.functions = cudnn_endpoint_count(sequence, m);
  const index_t n = sequence.size();
  out.endpoints.assign(static_cast<std::size_t>(out.functions * n), 0);
  const auto at = [&](index_t f, index_t q) -> std::int32_t& {
    return out.endpoints[static_cast<std::size_t>(f * n + q)];
  };
  for (const document_span& doc : sequence.documents())
    for (index_t q = doc.begin; q < doc.end; ++q) {
      const index_t lo = m.lo()[q], hi = m.hi()[q];
      if (lo > hi) continue;
      const auto end = static_cast<std::int32_t>(hi + 1 - doc.begin);
      if (out.functions == 1) {
        at(0, q) = end;
      } else {
        at(1, q) = static_cast<std::int32_t>(lo - doc.begin);
        at(2, q) = end;
      }
    }
  out.cu_seqlens = export_cu_seqlens(sequence).cu_seqlens;
  return out;
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const cudnn_endpoints_export& x) {
  std::vector<named_array> out = cudnn_endpoints_shapes(
      static_cast<index_t>(x.endpoints.size()) / x.functions,
      static_cast<index_t>(x.cu_seqlens.size()) - 1, x.functions);
  out[0].array.data = std::as_bytes(std::span(x.endpoints));
  out[1].array.data = std::as_bytes(std::span(x.cu_seqlens));
  return out;
}

// The mask cuDNN computes: row q of sequence s = [c0, c1) sees keys c0 + k for
// k in [0, F0) U [F1, F2) U ... of its endpoints. Throws format_error for a
// wrong dtype or shape, an even nfunc, sequence offsets that do not rise from
// 0 to N (sequences may be empty), or a row whose endpoints do not rise from 0
// to its sequence's length.
inline run_mask decode_cudnn_endpoints(std::span<const named_array> arrays,
                                       const layout& sequence,
                                       index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("cudnn_endpoints", arrays, {"endpoints", "cu_seqlens"});
  const index_t n = sequence.size();
  file.check("endpoints", {npy_dtype::int32}, {1, detail::any_extent, n});
  file.check("cu_seqlens", {npy_dtype::int32}, {detail::any_extent});
  const index_t functions = file.extent("endpoints", 1);
  if (functions % 2 == 0)
    file.fail("endpoints has nfunc = " + std::to_string(functions) +
              "; cuDNN takes a positive odd number of endpoints a row");
  const auto endpoints = file.values<std::int32_t>("endpoints");
  const auto bounds = file.values<std::int32_t>("cu_seqlens");
  if (bounds.size() < 2 || bounds.front() != 0 || bounds.back() != n)
    file.fail("cu_seqlens must run from 0 to the layout's " + std::to_string(n) +
              " tokens with at least one sequence");
  run_mask out(n, max_runs);
  for (std::size_t s = 0; s + 1 < bounds.size(); ++s) {
    const index_t c0 = bounds[s], c1 = bounds[s + 1];
    if (c1 < c0)
      file.fail("cu_seqlens[" + std::to_string(s + 1) + "] = " + std::to_string(c1) +
                " is below cu_seqlens[" + std::to_string(s) + "] = " + std::to_string(c0));
    for (index_t q = c0; q < c1; ++q) {
      std::vector<key_run> runs;
      index_t previous = 0;
      for (index_t f = 0; f < functions; ++f) {
        const index_t value = endpoints[static_cast<std::size_t>(f * n + q)];
        if (value < previous || value > c1 - c0)
          file.fail("endpoints[0, " + std::to_string(f) + ", " + std::to_string(q) + "] is " +
                    std::to_string(value) + "; a row's endpoints rise from 0 to its sequence's " +
                    std::to_string(c1 - c0) + " keys");
        // Even f opens at the previous endpoint (0 for F0) and closes here.
        if (f % 2 == 0) runs.push_back({c0 + (f == 0 ? 0 : previous), c0 + value});
        previous = value;
      }
      out.add_row(std::move(runs));
    }
  }
  return out;
}

inline export_format cudnn_endpoints_format() {
  export_format f;
  f.name = "cudnn_endpoints";
  f.arrays = {"endpoints", "cu_seqlens"};
  f.summary = ".npz cuDNN frontend interval mask: int32 endpoints [1, nfunc, N] (row sees "
              "[0, F0) U [F1, F2) ..., local to its sequence; nfunc 1 or 3), cu_seqlens [D + 1]";
  f.shapes = [](const layout& s, const mask_source& m, const export_options&) {
    return cudnn_endpoints_shapes(s.size(), static_cast<index_t>(s.documents().size()),
                                  cudnn_endpoint_count(s, m()));
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * 3 * sizeof(std::int32_t) +
           sizeof(std::int32_t) * (s.documents().size() + 1);
  };
  f.encode = [](const layout& s, const interval_mask& m, const export_options&) {
    return own_arrays(export_cudnn_endpoints(s, m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_cudnn_endpoints(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
