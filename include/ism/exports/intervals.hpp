// intervals (docs/formats.md#intervals): int64 lo [N] and hi [N], row q sees
// keys lo[q]..hi[q]. The smallest exact form, for any engine that evaluates a
// predicate on the fly (a FlexAttention mask_mod, a custom kernel). A row that
// sees nothing has lo > hi. Positions are absolute
// (docs/semantics.md#chunks-and-absolute-positions).
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <vector>

#include "ism/detail/format_arrays.hpp"
#include "ism/export_format.hpp"

namespace ism {
inline namespace v0 {

struct intervals_export {
  std::vector<std::int64_t> lo;  // (N,)
  std::vector<std::int64_t> hi;  // (N,)
};

// The arrays' names, dtypes and shapes with no data: enough for npz_bytes to
// size the file before the export is built.
inline std::vector<named_array> intervals_shapes(index_t tokens) {
  return {{"lo", {npy_dtype::int64, {tokens}, {}}}, {"hi", {npy_dtype::int64, {tokens}, {}}}};
}

// In O(N). An interval_mask is copied as it is; any other mask is first
// materialized by to_interval_mask, which clamps its intervals to the keys.
template <interval_backed_mask M>
intervals_export export_intervals(const M& m) requires sized_mask<M> {
  if constexpr (std::same_as<M, interval_mask>) {
    return {{m.lo().begin(), m.lo().end()}, {m.hi().begin(), m.hi().end()}};
  } else {
    return export_intervals(to_interval_mask(m, m.size()));
  }
}

// The arrays to write; they point into x, which must outlive them.
inline std::vector<named_array> named_arrays(const intervals_export& x) {
  std::vector<named_array> out = intervals_shapes(static_cast<index_t>(x.lo.size()));
  out[0].array.data = std::as_bytes(std::span(x.lo));
  out[1].array.data = std::as_bytes(std::span(x.hi));
  return out;
}

// Row q sees [lo[q], hi[q]]. Throws format_error for a wrong dtype or shape,
// or a row that sees keys outside [0, N).
inline run_mask decode_intervals(std::span<const named_array> arrays, const layout& sequence,
                         index_t max_runs = unlimited_runs) {
  const detail::format_arrays file("intervals", arrays, {"lo", "hi"});
  const index_t n = sequence.size();
  file.check("lo", {npy_dtype::int64}, {n});
  file.check("hi", {npy_dtype::int64}, {n});
  const std::span<const std::int64_t> lo = file.values<std::int64_t>("lo");
  const std::span<const std::int64_t> hi = file.values<std::int64_t>("hi");
  run_mask out(n, max_runs);
  for (index_t q = 0; q < n; ++q) {
    if (lo[q] <= hi[q] && (lo[q] < 0 || hi[q] >= n))
      file.fail("row " + std::to_string(q) + " sees [" + std::to_string(lo[q]) + ", " +
                std::to_string(hi[q]) + "], outside the keys [0, " + std::to_string(n) + ")");
    out.add_row(lo[q] <= hi[q] ? std::vector<key_run>{{lo[q], hi[q] + 1}} : std::vector<key_run>{});
  }
  return out;
}

inline export_format intervals_format() {
  export_format f;
  f.name = "intervals";
  f.arrays = {"lo", "hi"};
  f.summary = ".npz int64 lo [N], hi [N]: row q sees keys lo[q]..hi[q]";
  f.shapes = [](const layout& s, const mask_source&, const export_options&) {
    return intervals_shapes(s.size());
  };
  f.working_bytes = [](const layout& s, const export_options&) {
    return static_cast<std::uint64_t>(s.size()) * 2 * sizeof(std::int64_t);
  };
  f.encode = [](const layout&, const interval_mask& m, const export_options&) {
    return own_arrays(export_intervals(m));
  };
  f.decode = [](std::span<const named_array> arrays, const decode_input& in) {
    return decode_intervals(arrays, in.sequence, in.max_runs);
  };
  return f;
}

}  // namespace v0
}  // namespace ism
