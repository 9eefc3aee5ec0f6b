// The on-the-fly mask: a trivially copyable view of per-row intervals that
// answers visible(q, k) in O(1) with two loads and no allocation. It is what a
// kernel captures by value, on the host or, through ISM_HOST_DEVICE, on a GPU.
#pragma once

#include "ism/config.hpp"
#include "ism/row_interval.hpp"

namespace ism {
inline namespace v0 {

struct interval_view {
  const index_t* lo = nullptr;  // (size,)
  const index_t* hi = nullptr;  // (size,)
  index_t rows = 0;

  ISM_HOST_DEVICE index_t size() const noexcept { return rows; }
  ISM_HOST_DEVICE row_interval interval(index_t q) const noexcept {
    ISM_ASSERT(0 <= q && q < rows);
    return {lo[q], hi[q]};
  }
  ISM_HOST_DEVICE bool visible(index_t q, index_t k) const noexcept {
    ISM_ASSERT(0 <= q && q < rows);
    return lo[q] <= k && k <= hi[q];
  }
};

}  // namespace v0
}  // namespace ism
