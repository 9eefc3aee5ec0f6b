// A sharding: the query tokens of one packed row dealt to R ranks, in the form
// PyTorch's context-parallel load balancers use (docs/context_parallel.md). The
// permutation `rearrange` lists rank 0's tokens, then rank 1's, ...: position i
// of the rearranged row holds token rearrange[i], so q[rearrange] puts every
// rank's queries in one contiguous slice, and `restore` (its inverse) puts
// them back. Each rank's tokens are ascending. Built against an interval mask,
// it also counts each rank's work: the visible pairs of its query rows and, at
// block granularity, the tiles (its query blocks x key blocks) it computes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/block_classification.hpp"
#include "ism/errors.hpp"
#include "ism/interval_mask.hpp"

namespace ism {
inline namespace v0 {

// Tokens [begin, end) of the row.
struct token_run {
  index_t begin;
  index_t end;
  friend bool operator==(const token_run&, const token_run&) = default;
};

struct rank_work {
  index_t tokens = 0;
  index_t pairs = 0;  // visible (q, k) pairs of the rank's query rows
  // Tiles of block x block the rank computes: its queries, in its own order,
  // cut into blocks of `block` rows, times the key blocks of the row each
  // query block touches (docs/semantics.md#block-classification).
  index_t tiles = 0;
  friend bool operator==(const rank_work&, const rank_work&) = default;
};

namespace detail {

// The visible pairs of one row.
inline index_t pairs_of(const row_interval& r) noexcept {
  return r.empty() ? 0 : r.hi - r.lo + 1;
}

// max / mean of one counter over the ranks; 1 when every rank has none.
template <class Counter>
double imbalance_of(std::span<const rank_work> work, Counter counter) {
  index_t total = 0, most = 0;
  for (const rank_work& w : work) {
    total += counter(w);
    most = std::max(most, counter(w));
  }
  if (total == 0) return 1.0;
  return static_cast<double>(most) * static_cast<double>(work.size()) / static_cast<double>(total);
}

inline double pairs_imbalance(std::span<const rank_work> work) {
  return imbalance_of(work, [](const rank_work& w) { return w.pairs; });
}
inline double tiles_imbalance(std::span<const rank_work> work) {
  return imbalance_of(work, [](const rank_work& w) { return w.tiles; });
}

}  // namespace detail

class sharding {
 public:
  // Rank r holds tokens rearrange[offsets[r], offsets[r + 1]). Throws
  // argument_error for a block under one token, shape_error when rearrange is
  // not as long as the mask or offsets do not run from 0 to its end, and
  // argument_error when rearrange is not a permutation of [0, N) or a rank's
  // tokens are not ascending.
  sharding(const interval_mask& m, index_t block, std::vector<index_t> rearrange,
           std::vector<index_t> offsets)
      : rearrange_(std::move(rearrange)), offsets_(std::move(offsets)), block_(block) {
    check_block_size(block_size{block, block});
    check_shape(m.size());
    check_permutation();
    measure(m);
  }

  // The sharding in which token t belongs to rank owner[t], each rank's tokens
  // ascending: a counting sort by owner, O(N). Throws argument_error for a
  // block under one token or fewer than one rank, shape_error when owner is
  // not as long as the mask, and argument_error for an owner outside [0, R).
  static sharding from_owners(const interval_mask& m, index_t ranks, index_t block,
                              std::span<const std::int32_t> owner) {
    check_block_size(block_size{block, block});
    if (ranks < 1)
      throw argument_error("sharding: " + std::to_string(ranks) + " ranks; at least one");
    if (static_cast<index_t>(owner.size()) != m.size())
      throw shape_error("sharding: owner has " + std::to_string(owner.size()) +
                        " tokens but the mask has " + std::to_string(m.size()) + " rows");
    std::vector<index_t> offsets(static_cast<std::size_t>(ranks + 1), 0);
    for (std::size_t t = 0; t < owner.size(); ++t) {
      if (owner[t] < 0 || owner[t] >= ranks)
        throw argument_error("sharding: token " + std::to_string(t) + " has owner " +
                             std::to_string(owner[t]) + ", not a rank of [0, " +
                             std::to_string(ranks) + ")");
      ++offsets[static_cast<std::size_t>(owner[t]) + 1];
    }
    std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
    std::vector<index_t> next(offsets.begin(), offsets.end() - 1);
    // Run by run of one owner: plans deal tokens in runs of a block or more.
    std::vector<index_t> rearrange(owner.size());
    for (std::size_t t = 0; t < owner.size();) {
      std::size_t end = t + 1;
      while (end < owner.size() && owner[end] == owner[t]) ++end;
      index_t& at = next[static_cast<std::size_t>(owner[t])];
      std::iota(rearrange.begin() + at, rearrange.begin() + at + static_cast<index_t>(end - t),
                static_cast<index_t>(t));
      at += static_cast<index_t>(end - t);
      t = end;
    }
    return sharding(m, block, std::move(rearrange), std::move(offsets), checked{});
  }

  index_t ranks() const noexcept { return static_cast<index_t>(offsets_.size()) - 1; }
  index_t size() const noexcept { return static_cast<index_t>(rearrange_.size()); }
  index_t block() const noexcept { return block_; }

  // (N,): token rearrange[i] goes to position i.
  std::span<const index_t> rearrange() const noexcept { return rearrange_; }
  // (N,): restore[rearrange[i]] == i, so rearranged[restore] is the row again.
  std::vector<index_t> restore() const {
    std::vector<index_t> out(rearrange_.size());
    for (std::size_t i = 0; i < rearrange_.size(); ++i)
      out[static_cast<std::size_t>(rearrange_[i])] = static_cast<index_t>(i);
    return out;
  }
  // (R + 1,): rank r's slice of rearrange().
  std::span<const index_t> offsets() const noexcept { return offsets_; }

  // Rank r's tokens, ascending.
  std::span<const index_t> tokens(index_t r) const noexcept {
    ISM_ASSERT(0 <= r && r < ranks());
    return std::span<const index_t>(rearrange_)
        .subspan(static_cast<std::size_t>(offsets_[r]),
                 static_cast<std::size_t>(offsets_[r + 1] - offsets_[r]));
  }
  // Rank r's tokens as maximal runs of consecutive positions: what a kernel
  // taking a query offset (q_start) computes one call each.
  std::vector<token_run> runs(index_t r) const {
    std::vector<token_run> out;
    for (const index_t t : tokens(r)) {
      if (!out.empty() && out.back().end == t)
        ++out.back().end;
      else
        out.push_back({t, t + 1});
    }
    return out;
  }

  // (R,)
  std::span<const rank_work> work() const noexcept { return work_; }
  // max / mean visible pairs over the ranks: 1 is perfect balance.
  double imbalance() const noexcept { return detail::pairs_imbalance(work_); }
  double tile_imbalance() const noexcept { return detail::tiles_imbalance(work_); }

  friend bool operator==(const sharding&, const sharding&) = default;

 private:
  // A permutation that holds by construction what the public constructor checks.
  struct checked {};
  sharding(const interval_mask& m, index_t block, std::vector<index_t> rearrange,
           std::vector<index_t> offsets, checked)
      : rearrange_(std::move(rearrange)), offsets_(std::move(offsets)), block_(block) {
    measure(m);
  }

  void check_shape(index_t n) const {
    if (size() != n)
      throw shape_error("sharding: rearrange has " + std::to_string(size()) +
                        " tokens but the mask has " + std::to_string(n) + " rows");
    if (offsets_.size() < 2 || offsets_.front() != 0 || offsets_.back() != n)
      throw shape_error("sharding: offsets must run from 0 to " + std::to_string(n) +
                        " over at least one rank");
    for (std::size_t r = 1; r < offsets_.size(); ++r)
      if (offsets_[r] < offsets_[r - 1])
        throw shape_error("sharding: offsets decrease at rank " + std::to_string(r - 1));
  }

  void check_permutation() const {
    std::vector<bool> seen(rearrange_.size(), false);
    for (std::size_t i = 0; i < rearrange_.size(); ++i) {
      const index_t t = rearrange_[i];
      if (t < 0 || t >= size() || seen[static_cast<std::size_t>(t)])
        throw argument_error("sharding: rearrange is not a permutation of [0, " +
                             std::to_string(size()) + "): position " + std::to_string(i) +
                             " holds token " + std::to_string(t));
      seen[static_cast<std::size_t>(t)] = true;
    }
    for (index_t r = 0; r < ranks(); ++r)
      for (index_t i = offsets_[r] + 1; i < offsets_[r + 1]; ++i)
        if (rearrange_[i] < rearrange_[i - 1])
          throw argument_error("sharding: the tokens of rank " + std::to_string(r) +
                               " are not ascending at position " + std::to_string(i));
  }

  // One pass over the rearranged rows. A query block's tiles are the key
  // blocks of the union of its rows' intervals, merged in order of lo as the
  // block classification merges them (block_classification.hpp).
  void measure(const interval_mask& m) {
    const block_grid keys(whole(size()), block_size{block_, block_});
    std::vector<row_interval> rows;
    std::vector<block_run> touched;
    const auto by_lo = [](const row_interval& a, const row_interval& b) { return a.lo < b.lo; };
    work_.assign(static_cast<std::size_t>(ranks()), rank_work{});
    for (index_t r = 0; r < ranks(); ++r) {
      rank_work& w = work_[static_cast<std::size_t>(r)];
      w.tokens = offsets_[r + 1] - offsets_[r];
      for (index_t first = offsets_[r]; first < offsets_[r + 1]; first += block_) {
        rows.clear();
        for (index_t i = first; i < std::min(first + block_, offsets_[r + 1]); ++i) {
          const row_interval row = m.interval(rearrange_[static_cast<std::size_t>(i)]);
          w.pairs += detail::pairs_of(row);
          if (!row.empty()) rows.push_back(row);
        }
        if (!std::is_sorted(rows.begin(), rows.end(), by_lo))
          std::sort(rows.begin(), rows.end(), by_lo);
        touched.clear();
        detail::merge_sorted(keys, rows, touched);
        for (const block_run& run : touched) w.tiles += run.end - run.first;
      }
    }
  }

  std::vector<index_t> rearrange_;  // (N,)
  std::vector<index_t> offsets_;    // (R + 1,)
  index_t block_;
  std::vector<rank_work> work_;  // (R,)
};

}  // namespace v0
}  // namespace ism
