// The interval mask: lo/hi arrays, one closed interval of visible keys per query
// row. It owns its storage; view() hands out the on-the-fly form.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/errors.hpp"
#include "ism/interval_view.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {

class interval_mask {
 public:
  interval_mask() = default;

  // Row q sees keys [lo[q], hi[q]] of [0, n), n = lo.size(). An empty row has
  // lo[q] > hi[q]. Throws shape_error for arrays of different lengths and
  // argument_error for a bound outside [0, n) that is not an empty row.
  interval_mask(std::vector<index_t> lo, std::vector<index_t> hi)
      : lo_(std::move(lo)), hi_(std::move(hi)) {
    if (lo_.size() != hi_.size())
      throw shape_error("interval_mask: lo has " + std::to_string(lo_.size()) +
                        " rows but hi has " + std::to_string(hi_.size()));
    const auto n = static_cast<index_t>(lo_.size());
    for (index_t q = 0; q < n; ++q) {
      if (lo_[q] > hi_[q]) continue;
      if (lo_[q] < 0 || hi_[q] >= n)
        throw argument_error("interval_mask: row " + std::to_string(q) + " has interval [" +
                             std::to_string(lo_[q]) + ", " + std::to_string(hi_[q]) +
                             "] outside the keys [0, " + std::to_string(n) + ")");
    }
  }

  index_t size() const noexcept { return static_cast<index_t>(lo_.size()); }
  std::span<const index_t> lo() const noexcept { return lo_; }
  // The segment function f: the last key each row sees.
  std::span<const index_t> hi() const noexcept { return hi_; }

  row_interval interval(index_t q) const noexcept { return view().interval(q); }
  bool visible(index_t q, index_t k) const noexcept { return view().visible(q, k); }
  interval_view view() const noexcept { return {lo_.data(), hi_.data(), size()}; }

  // Number of visible (q, k) pairs with q in [begin, end), in O(end - begin).
  index_t visible_pairs(index_t begin, index_t end) const noexcept {
    index_t pairs = 0;
    for (index_t q = begin; q < end; ++q)
      if (lo_[q] <= hi_[q]) pairs += hi_[q] - lo_[q] + 1;
    return pairs;
  }
  index_t visible_pairs() const noexcept { return visible_pairs(0, size()); }

  // True when lo and hi never decrease with q. All four built-in paradigms are
  // monotone, which makes block classification and column intervals cheap.
  bool monotone() const noexcept {
    for (std::size_t q = 1; q < lo_.size(); ++q)
      if (lo_[q] < lo_[q - 1] || hi_[q] < hi_[q - 1]) return false;
    return true;
  }

  friend bool operator==(const interval_mask&, const interval_mask&) = default;

 private:
  std::vector<index_t> lo_;  // (N,)
  std::vector<index_t> hi_;  // (N,)
};

// Materializes any interval-backed mask (a composition, say) over rows [0, n),
// clamping each interval to the keys [0, n). Throws argument_error for a negative
// n and shape_error when a sized mask has fewer than n rows.
template <interval_backed_mask M>
interval_mask to_interval_mask(const M& m, index_t n) {
  if (n < 0) throw argument_error("to_interval_mask: negative row count " + std::to_string(n));
  if constexpr (sized_mask<M>)
    if (m.size() < n)
      throw shape_error("to_interval_mask: asked for " + std::to_string(n) +
                        " rows of a mask that has " + std::to_string(m.size()));
  std::vector<index_t> lo(static_cast<std::size_t>(n));
  std::vector<index_t> hi(static_cast<std::size_t>(n));
  for (index_t q = 0; q < n; ++q) {
    const row_interval r = clamp(m.interval(q), 0, n);
    lo[q] = r.lo;
    hi[q] = r.hi;
  }
  return interval_mask(std::move(lo), std::move(hi));
}

}  // namespace v0
}  // namespace ism
