// The closed interval [lo, hi] of keys one query row sees. Every mask of the ism
// family is one such interval per row (SPEC.md section 3); lo > hi means the row
// sees nothing, which only chunks and composed masks produce.
#pragma once

#include "ism/config.hpp"

namespace ism {
inline namespace v0 {

struct row_interval {
  index_t lo;
  index_t hi;

  ISM_HOST_DEVICE constexpr bool contains(index_t k) const noexcept { return lo <= k && k <= hi; }
  ISM_HOST_DEVICE constexpr bool empty() const noexcept { return lo > hi; }
  friend constexpr bool operator==(const row_interval&, const row_interval&) = default;
};

}  // namespace v0
}  // namespace ism
