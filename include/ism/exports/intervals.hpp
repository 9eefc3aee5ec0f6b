// intervals (FORMATS.md): int64 lo [N] and hi [N], row q sees keys
// lo[q]..hi[q]. The smallest exact form, for any engine that evaluates a
// predicate on the fly (a FlexAttention mask_mod, a custom kernel). A row that
// sees nothing has lo > hi. Positions are absolute (SPEC.md section 4).
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <vector>

#include "ism/interval_mask.hpp"
#include "ism/npy.hpp"

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

}  // namespace v0
}  // namespace ism
