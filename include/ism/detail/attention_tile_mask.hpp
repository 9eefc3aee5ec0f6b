// The mask inside one partial tile of the tiled attention: which keys of a tile
// row are visible. Interval-backed masks answer with one column range per row
// (two compares); any other mask is asked pair by pair. Which tiles to visit at
// all is the block mask's business, not this header's.
#pragma once

#include <algorithm>

#include "ism/chunk.hpp"
#include "ism/mask.hpp"

namespace ism {
inline namespace v0 {
namespace detail {

// Columns [begin, end) of a tile row, counted from the tile's first key.
struct column_range {
  index_t begin;
  index_t end;
  ISM_HOST_DEVICE constexpr bool empty() const noexcept { return begin >= end; }
  friend constexpr bool operator==(const column_range&, const column_range&) = default;
};

// The tile columns that query q sees; a row's visible keys are one interval, so
// they are one range of the tile. A row that sees none of them gets
// {cols, cols}, from the canonical empty interval.
ISM_HOST_DEVICE_TEMPLATE
template <interval_backed_mask M>
ISM_HOST_DEVICE column_range visible_columns(const M& m, index_t q, const chunk& tile) {
  const row_interval r = clamp(m.interval(q), tile.k0, tile.k1);
  return {r.lo - tile.k0, r.hi + 1 - tile.k0};
}

// Writes visible(q, k) for the keys of the tile into seen (tile.cols(),) and
// returns the smallest range of columns holding every visible one.
template <mask M>
column_range mark_visible_columns(const M& m, index_t q, const chunk& tile, bool* seen) {
  column_range range{tile.cols(), 0};
  for (index_t c = 0; c < tile.cols(); ++c) {
    seen[c] = m.visible(q, tile.k0 + c);
    if (seen[c]) {
      range.begin = std::min(range.begin, c);
      range.end = c + 1;
    }
  }
  return range;
}

}  // namespace detail
}  // namespace v0
}  // namespace ism
