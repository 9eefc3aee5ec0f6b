// dense (docs/formats.md#dense): bool mask [N, N], row = query, column = key,
// true = visible; or uint8 0/1 for engines that want bytes. N x N by nature:
// the writer streams it a block of rows at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ism/dense_mask.hpp"
#include "ism/detail/dense_rows.hpp"
#include "ism/export_format.hpp"

namespace ism {
inline namespace v0 {

struct dense_export {
  npy_dtype dtype = npy_dtype::boolean;  // boolean or uint8; the bytes are 0 or 1 either way
  index_t tokens = 0;
  std::unique_ptr<bool[]> mask;  // (N, N)
};

inline std::vector<named_array> named_arrays(const dense_export& x) {
  const std::span<const bool> cells(x.mask.get(), static_cast<std::size_t>(x.tokens * x.tokens));
  return {{"mask", {x.dtype, {x.tokens, x.tokens}, std::as_bytes(cells)}}};
}

// The mask whole, for callers that want it in memory. Throws argument_error
// for a dtype other than bool or uint8.
inline dense_export export_dense(const interval_mask& m, npy_dtype dtype = npy_dtype::boolean) {
  if (dtype != npy_dtype::boolean && dtype != npy_dtype::uint8)
    throw argument_error("dense: dtype " + std::string(npy_dtype_name(dtype)) +
                         "; expected bool or uint8");
  const auto cells = static_cast<std::size_t>(m.size() * m.size());
  dense_export out{dtype, m.size(), std::make_unique<bool[]>(cells)};
  fill_dense_mask(m, whole(m.size()), std::span<bool>(out.mask.get(), cells), m.size());
  return out;
}

// Throws format_error for a wrong dtype or shape, or a byte other than 0 or 1.
inline run_mask decode_dense(std::span<const named_array> arrays, const layout& sequence,
                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("dense", arrays, {"mask"});
  const index_t n = sequence.size();
  file.check("mask", {npy_dtype::boolean, npy_dtype::uint8}, {n, n});
  // bool and uint8 items are both one byte; values() checks neither.
  const named_array& a = *std::find_if(arrays.begin(), arrays.end(),
                                       [](const named_array& x) { return x.name == "mask"; });
  const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(a.array.data.data()),
                               a.array.data.size());
  return detail::decode_rows(
      file, "mask", bytes, n, n, [](std::uint8_t x) { return x == 1; },
      [](std::uint8_t x) { return x == 0; }, "0 (hidden) or 1 (visible)", max_runs);
}

inline export_format dense_format() {
  export_format f;
  f.name = "dense";
  f.arrays = {"mask"};
  f.summary = ".npy bool mask [N, N]: true = visible (--dtype uint8: 0/1 bytes)";
  f.dtypes = {npy_dtype::boolean, npy_dtype::uint8};
  f.quadratic = true;
  f.shapes = [](const layout& s, const mask_source&, const export_options& o) {
    return std::vector<named_array>{
        {"mask", {o.dtype.value_or(npy_dtype::boolean), {s.size(), s.size()}, {}}}};
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return detail::streamed_rows_bytes(s.size(), 1);
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options& o) {
    return own_arrays(export_dense(m, o.dtype.value_or(npy_dtype::boolean)));
  };
  f.write = [](std::ostream& os, const layout&, const interval_mask& m, const export_options& o) {
    detail::stream_rows<bool>(os, o.dtype.value_or(npy_dtype::boolean), m.size(), m.size(),
                              [&](index_t r0, index_t r1, std::span<bool> out) {
                                fill_dense_mask(m, {r0, r1, 0, m.size()}, out, m.size());
                              });
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_dense(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
