// Which key tiles one query tile of the GPU forward visits, and which of them
// need no element mask, from four extremes of the tile's row intervals. Plain
// ISM_HOST_DEVICE code with no CUDA in it: the plan kernel runs it once per
// query tile, and the host tests run it against brute force in every build.
#pragma once

#include "ism/config.hpp"
#include "ism/mask.hpp"
#include "ism/row_interval.hpp"

namespace ism {
inline namespace v0 {
namespace cuda {

// The extremes of a query tile's row intervals, each clamped to the chunk's
// keys [k0, k1). min_lo and max_hi bound the keys some row sees (rows that see
// nothing are left out); max_lo and min_hi bound the keys every row sees (a row
// that sees nothing counts as lo = k1, so then no key qualifies).
struct row_extremes {
  index_t min_lo;
  index_t max_hi;
  index_t max_lo;
  index_t min_hi;
};

// The extremes of no rows: nothing seen by some row, everything by every row.
ISM_HOST_DEVICE constexpr row_extremes no_rows(index_t k0, index_t k1) noexcept {
  return {k1, k0 - 1, k0, k1 - 1};
}

// Adds one row's interval, already clamped to the keys [k0, k1).
ISM_HOST_DEVICE constexpr row_extremes add_row(row_extremes e, row_interval r) noexcept {
  if (!r.empty()) {
    e.min_lo = r.lo < e.min_lo ? r.lo : e.min_lo;
    e.max_hi = r.hi > e.max_hi ? r.hi : e.max_hi;
  }
  e.max_lo = r.lo > e.max_lo ? r.lo : e.max_lo;
  e.min_hi = r.hi < e.min_hi ? r.hi : e.min_hi;
  return e;
}

// The extremes of query rows [q_begin, q_end) of an interval-backed mask over
// the keys [k0, k1): one pass over the tile's rows, once per query tile.
template <interval_backed_mask M>
ISM_HOST_DEVICE row_extremes query_tile_extremes(const M& m, index_t q_begin, index_t q_end,
                                                 index_t k0, index_t k1) {
  row_extremes e = no_rows(k0, k1);
  for (index_t q = q_begin; q < q_end; ++q) e = add_row(e, clamp(m.interval(q), k0, k1));
  return e;
}

// Key tiles [first, end) of a query tile, counted from the chunk's k0 in tiles
// of bk keys; the tiles [full_first, full_end) inside them are seen whole by
// every row and get no element mask. Every other tile of [first, end) is
// masked; tiles outside it hold no visible pair.
struct key_tile_plan {
  index_t first;
  index_t end;
  index_t full_first;
  index_t full_end;

  ISM_HOST_DEVICE constexpr bool full(index_t kb) const noexcept {
    return full_first <= kb && kb < full_end;
  }
};

// The plan of a query tile with extremes e over the keys [k0, k1). A full tile
// is whole (not cut at k1) and lies inside [max_lo, min_hi], which is exactly
// "inside every row's interval": the unmasked tiles are exact, never guessed.
ISM_HOST_DEVICE constexpr key_tile_plan plan_key_tiles(row_extremes e, index_t k0, index_t k1,
                                                       index_t bk) noexcept {
  ISM_ASSERT(k0 <= k1 && bk >= 1);
  if (e.min_lo > e.max_hi) return {0, 0, 0, 0};
  const index_t first = (e.min_lo - k0) / bk;
  const index_t end = (e.max_hi - k0) / bk + 1;
  const index_t whole_tiles = (k1 - k0) / bk;
  const index_t full_first = ceil_div(e.max_lo - k0, bk);
  const index_t inside = (e.min_hi + 1 - k0) / bk;
  const index_t full_end = inside < whole_tiles ? inside : whole_tiles;
  if (full_first >= full_end) return {first, end, first, first};
  return {first, end, full_first, full_end};
}

}  // namespace cuda
}  // namespace v0
}  // namespace ism
