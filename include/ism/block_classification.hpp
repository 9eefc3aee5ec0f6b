// Block classification: which key blocks one query block sees, and how much of
// each (docs/semantics.md#block-classification). A tile is *full*
// when every pair in it is visible, *partial* when some are, *empty* otherwise;
// positions past the chunk's end count as hidden, so a ragged tile is never full.
//
// Interval-backed masks are classified from their rows' intervals alone, in
// O(rows + runs) per query block (O(rows log rows) when its rows arrive out of
// order and must be sorted) and without ever testing a pair: the tiles some
// row touches form runs of key blocks (the union of the rows' intervals), and the
// full tiles are those inside every row's interval. Other masks are evaluated
// pair by pair, but only inside the candidate tiles that their interval-backed
// parts allow.
#pragma once

#include <algorithm>
#include <vector>

#include "ism/block_size.hpp"
#include "ism/chunk.hpp"
#include "ism/composition.hpp"
#include "ism/mask_fingerprint.hpp"

namespace ism {
inline namespace v0 {

enum class block_class : std::uint8_t { empty, partial, full };

// Key blocks [first, end) of a chunk, counted from the chunk's k0.
struct block_run {
  index_t first;
  index_t end;
  bool empty() const noexcept { return first >= end; }
  friend bool operator==(const block_run&, const block_run&) = default;
};

// A chunk cut into tiles of bq x bk, counted from the chunk's (q0, k0). Built
// and checked on the host; a kernel takes it by value and asks for tiles.
struct block_grid {
  chunk range;
  index_t bq;
  index_t bk;

  // Throws shape_error for a chunk that is not a pair of ranges and
  // argument_error for a block smaller than one token.
  template <block_shape S>
  block_grid(const chunk& c, const S& size) : range(c), bq(size.q), bk(size.k) {
    check_block_size(size);
    if (c.q0 < 0 || c.k0 < 0 || c.q1 < c.q0 || c.k1 < c.k0)
      throw shape_error("chunk " + to_string(c) + " is not a pair of ranges 0 <= begin <= end");
  }

  ISM_HOST_DEVICE constexpr index_t query_blocks() const noexcept {
    return ceil_div(range.rows(), bq);
  }
  ISM_HOST_DEVICE constexpr index_t key_blocks() const noexcept {
    return ceil_div(range.cols(), bk);
  }
  // Tile (qb, kb) in absolute positions, cut at the chunk's end. qb * bq stays
  // below the chunk's size, so nothing here overflows.
  ISM_HOST_DEVICE constexpr chunk tile(index_t qb, index_t kb) const noexcept {
    ISM_ASSERT(0 <= qb && qb < query_blocks() && 0 <= kb && (kb < key_blocks() || kb == 0));
    const index_t q0 = range.q0 + qb * bq, k0 = range.k0 + kb * bk;
    const index_t rows = range.q1 - q0 < bq ? range.q1 - q0 : bq;
    const index_t cols = range.k1 - k0 < bk ? range.k1 - k0 : bk;
    return {q0, q0 + rows, k0, k0 + cols};
  }
  ISM_HOST_DEVICE constexpr bool ragged(const chunk& t) const noexcept {
    return t.rows() < bq || t.cols() < bk;
  }
  friend bool operator==(const block_grid&, const block_grid&) = default;
};

// What the rows of one query block reach, in key blocks of the grid.
struct query_block_reach {
  std::vector<block_run> touched;  // ascending, disjoint, not adjacent
  block_run full{0, 0};            // inside every row's interval; empty when none
  // The block's share of mask_fingerprint::rows, summed here because this pass
  // holds every row's clamped interval anyway.
  std::uint64_t rows_fingerprint = 0;
};

namespace detail {

// Appends the key blocks of token run [lo, hi] to `runs`, merging with the last
// run when they share or abut a block. Runs arrive sorted by lo.
inline void add_token_run(const block_grid& g, index_t lo, index_t hi,
                          std::vector<block_run>& runs) {
  const index_t first = (lo - g.range.k0) / g.bk;
  const index_t end = (hi - g.range.k0) / g.bk + 1;
  if (!runs.empty() && first <= runs.back().end)
    runs.back().end = std::max(runs.back().end, end);
  else
    runs.push_back({first, end});
}

// Merges sorted token intervals into key-block runs. Division happens once per
// run of overlapping rows, not once per row.
inline void merge_sorted(const block_grid& g, const std::vector<row_interval>& rows,
                         std::vector<block_run>& runs) {
  row_interval current{0, -1};
  for (const row_interval& r : rows) {
    if (!current.empty() && r.lo <= current.hi + 1) {
      current.hi = std::max(current.hi, r.hi);
      continue;
    }
    if (!current.empty()) add_token_run(g, current.lo, current.hi, runs);
    current = r;
  }
  if (!current.empty()) add_token_run(g, current.lo, current.hi, runs);
}

}  // namespace detail

// The reach of query block qb of an interval-backed mask. `scratch` is reused
// between calls so that a whole build allocates once.
template <interval_backed_mask M>
void reach_of_query_block(const M& m, const block_grid& g, index_t qb, query_block_reach& out,
                          std::vector<row_interval>& scratch) {
  out.touched.clear();
  out.full = {0, 0};
  scratch.clear();
  const chunk rows = g.tile(qb, 0);
  // Locals, not g's fields or out's: the compiler cannot tell them apart from
  // what push_back writes, and would reload or store them every row.
  const index_t k0 = g.range.k0, k1 = g.range.k1;
  std::uint64_t fingerprint = 0;
  index_t max_lo = k0;
  index_t min_hi = k1 - 1;
  bool every_row_sees = rows.rows() == g.bq;  // a ragged query block is never full
  bool sorted = true;
  for (index_t q = rows.q0; q < rows.q1; ++q) {
    const row_interval r = clamp(m.interval(q), k0, k1);
    fingerprint += detail::row_fingerprint(q, r);
    if (r.empty()) {
      every_row_sees = false;
      continue;
    }
    max_lo = std::max(max_lo, r.lo);
    min_hi = std::min(min_hi, r.hi);
    if (!scratch.empty() && r.lo < scratch.back().lo) sorted = false;
    scratch.push_back(r);
  }
  if (!sorted)
    std::sort(scratch.begin(), scratch.end(),
              [](const row_interval& a, const row_interval& b) { return a.lo < b.lo; });
  detail::merge_sorted(g, scratch, out.touched);
  out.rows_fingerprint = fingerprint;

  if (every_row_sees && max_lo <= min_hi) {
    const index_t complete_key_blocks = g.range.cols() / g.bk;
    out.full.first = ceil_div(max_lo - k0, g.bk);
    out.full.end = std::min((min_hi - k0 + 1) / g.bk, complete_key_blocks);
  }
}

// Calls emit(kb, block_class) for every non-empty tile of the reach, ascending.
template <class Emit>
void for_each_listed_block(const query_block_reach& reach, Emit&& emit) {
  const block_run full = reach.full;
  for (const block_run& run : reach.touched) {
    for (index_t kb = run.first; kb < run.end; ++kb)
      emit(kb, full.first <= kb && kb < full.end ? block_class::full : block_class::partial);
  }
}

// Evaluates a tile pair by pair, stopping as soon as it has seen a visible and a
// hidden pair. Positions past the chunk's end are hidden.
template <mask M>
block_class classify_tile(const M& m, const block_grid& g, const chunk& tile) {
  bool seen_visible = false;
  bool seen_hidden = g.ragged(tile);
  for (index_t q = tile.q0; q < tile.q1; ++q) {
    for (index_t k = tile.k0; k < tile.k1; ++k) {
      if (m.visible(q, k))
        seen_visible = true;
      else
        seen_hidden = true;
      if (seen_visible && seen_hidden) return block_class::partial;
    }
  }
  if (!seen_visible) return block_class::empty;
  return seen_hidden ? block_class::partial : block_class::full;
}

namespace detail {

template <class M>
inline constexpr bool is_and_mask = false;
template <class A, class B>
inline constexpr bool is_and_mask<and_mask<A, B>> = true;
template <class M>
inline constexpr bool is_or_mask = false;
template <class A, class B>
inline constexpr bool is_or_mask<or_mask<A, B>> = true;

inline std::vector<block_run> intersect_runs(const std::vector<block_run>& a,
                                             const std::vector<block_run>& b) {
  std::vector<block_run> out;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    const block_run r{std::max(a[i].first, b[j].first), std::min(a[i].end, b[j].end)};
    if (!r.empty()) out.push_back(r);
    (a[i].end < b[j].end ? i : j)++;
  }
  return out;
}

inline std::vector<block_run> unite_runs(const std::vector<block_run>& a,
                                         const std::vector<block_run>& b) {
  std::vector<block_run> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end(),
            [](const block_run& x, const block_run& y) { return x.first < y.first; });
  std::vector<block_run> out;
  for (const block_run& r : all) {
    if (!out.empty() && r.first <= out.back().end)
      out.back().end = std::max(out.back().end, r.end);
    else
      out.push_back(r);
  }
  return out;
}

}  // namespace detail

// The key blocks of query block qb that may hold a visible pair: exact for
// interval-backed masks, the intersection (union) of the operands' candidates
// for and_mask (or_mask), every key block for anything else.
template <mask M>
std::vector<block_run> candidate_runs(const M& m, const block_grid& g, index_t qb) {
  if constexpr (interval_backed_mask<M>) {
    query_block_reach reach;
    std::vector<row_interval> scratch;
    reach_of_query_block(m, g, qb, reach, scratch);
    return reach.touched;
  } else if constexpr (detail::is_and_mask<M>) {
    return detail::intersect_runs(candidate_runs(m.a, g, qb), candidate_runs(m.b, g, qb));
  } else if constexpr (detail::is_or_mask<M>) {
    return detail::unite_runs(candidate_runs(m.a, g, qb), candidate_runs(m.b, g, qb));
  } else {
    if (g.key_blocks() == 0) return {};
    return {{0, g.key_blocks()}};
  }
}

}  // namespace v0
}  // namespace ism
