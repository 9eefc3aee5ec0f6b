// The closed interval [lo, hi] of keys one query row sees. Every mask of the ism
// family is one such interval per row; lo > hi means the row sees nothing, which
// only chunks and composed masks produce. It is the one closed range in ism:
// every other range is half-open [begin, end) (docs/semantics.md#interval-conventions).
#pragma once

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {

// The hi of an interval with no upper limit. One below the largest index_t, so
// that hi + 1, the end of the same range written half-open, still fits.
inline constexpr index_t unbounded_key = max_index - 1;

struct row_interval {
  index_t lo;
  index_t hi;

  ISM_HOST_DEVICE constexpr bool contains(index_t k) const noexcept { return lo <= k && k <= hi; }
  ISM_HOST_DEVICE constexpr bool empty() const noexcept { return lo > hi; }
  friend constexpr bool operator==(const row_interval&, const row_interval&) = default;
};

// The keys of r among the keys [begin, end), begin <= end, as a closed interval;
// {end, end - 1}, the canonical empty row, when r has none of them. r.hi may be
// any index_t: nothing here forms r.hi + 1.
ISM_HOST_DEVICE constexpr row_interval clamp(row_interval r, index_t begin, index_t end) noexcept {
  ISM_ASSERT(begin <= end);
  const index_t lo = r.lo > begin ? r.lo : begin;
  const index_t hi = r.hi < end - 1 ? r.hi : end - 1;
  if (lo > hi) return {end, end - 1};
  return {lo, hi};
}

}  // namespace v0
}  // namespace ism
