// Context-parallel plans: the query tokens of one packed row dealt to R ranks
// so that each rank's attention work is the same, for any mask given by its
// intervals (docs/context_parallel.md). Work is the visible pairs of a rank's
// query rows (docs/semantics.md#density); every rank holds the tokens of the
// even split, floor((r+1)N/R) - floor(rN/R), so N/R each when R divides N, as
// PyTorch's sharding of the rearranged row into equal slices requires.
//
// The balanced plan cuts the row into units of `block` tokens aligned to the
// block grid, so a rank's query blocks are the row's own blocks and its tiles
// are theirs. Each unit weighs its exact visible pairs, O(1) a row. Units go,
// heaviest first, to the least loaded rank that has room for a whole unit
// (longest-processing-time first under a count limit); then swaps of one unit
// between the most and the least loaded rank close what that leaves. Tokens
// that fill no whole unit (when N is not a multiple of R x block) are dealt
// one by one the same way. The baselines come out of the same computation:
// the even contiguous split, the head-tail (zig-zag) split and the
// per-document head-tail split that engines use for causal masks. Where one
// of them keeps every rank's token count and loads its heaviest rank no more
// than the deal, it is the plan: contiguous chunks are simpler for engines.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "ism/detail/check_mask_fits.hpp"
#include "ism/errors.hpp"
#include "ism/interval_mask.hpp"
#include "ism/layout.hpp"
#include "ism/sharding.hpp"

namespace ism {
inline namespace v0 {

// The default block is FlexAttention's 128, as for block masks.
inline constexpr index_t default_plan_block = 128;

namespace detail {

// Throws argument_error for fewer than one rank, more ranks than tokens, or a
// block under one token.
inline void check_plan(index_t tokens, index_t ranks, index_t block) {
  if (ranks < 1)
    throw argument_error("context-parallel plan: " + std::to_string(ranks) +
                         " ranks; a plan needs at least one");
  if (ranks > tokens)
    throw argument_error("context-parallel plan: " + std::to_string(ranks) +
                         " ranks for a row of " + std::to_string(tokens) +
                         " tokens; every rank needs at least one token");
  if (block < 1)
    throw argument_error("context-parallel plan: block " + std::to_string(block) +
                         " must be at least one token");
}

// Rank r's first token in the even split of [begin, begin + n) over `parts`.
inline index_t split_point(index_t begin, index_t n, index_t parts, index_t r) noexcept {
  return begin + r * n / parts;
}

// Tokens [begin, end) of the row, held by `rank`.
struct rank_run {
  std::int32_t rank;
  index_t begin;
  index_t end;
};

// A contiguous split, as runs: cheap to weigh from prefix sums, filled into
// owners only when it is used.
using split = std::vector<rank_run>;

// Adds chunks r and 2R - 1 - r of tokens [begin, end), cut into 2R near-equal
// chunks, as rank r's runs.
inline void add_head_tail(index_t begin, index_t end, index_t ranks, split& out) {
  const index_t chunks = 2 * ranks;
  for (index_t c = 0; c < chunks; ++c)
    out.push_back({static_cast<std::int32_t>(c < ranks ? c : chunks - 1 - c),
                   split_point(begin, end - begin, chunks, c),
                   split_point(begin, end - begin, chunks, c + 1)});
}

// The state of the balanced deal: each rank's load and room.
struct rank_load {
  std::vector<index_t> pairs;  // (R,)
  std::vector<index_t> room;   // (R,), in items of the current deal
};

// Deals items, heaviest first (ties to the earlier item), each to the least
// loaded rank with room left; returns the items no rank had room for.
inline std::vector<index_t> deal_heaviest_first(const std::vector<index_t>& weight, rank_load& load,
                                                std::vector<std::int32_t>& item_owner) {
  std::vector<index_t> items(weight.size());
  std::iota(items.begin(), items.end(), index_t{0});
  std::sort(items.begin(), items.end(), [&](index_t a, index_t b) {
    return weight[static_cast<std::size_t>(a)] > weight[static_cast<std::size_t>(b)] ||
           (weight[static_cast<std::size_t>(a)] == weight[static_cast<std::size_t>(b)] && a < b);
  });
  using entry = std::pair<index_t, index_t>;  // (pairs, rank): the least pairs on top
  std::priority_queue<entry, std::vector<entry>, std::greater<>> open;
  for (std::size_t r = 0; r < load.pairs.size(); ++r)
    if (load.room[r] > 0) open.push({load.pairs[r], static_cast<index_t>(r)});
  std::vector<index_t> left;
  for (const index_t item : items) {
    if (open.empty()) {
      left.push_back(item);
      continue;
    }
    const auto r = static_cast<std::size_t>(open.top().second);
    open.pop();
    item_owner[static_cast<std::size_t>(item)] = static_cast<std::int32_t>(r);
    load.pairs[r] += weight[static_cast<std::size_t>(item)];
    if (--load.room[r] > 0) open.push({load.pairs[r], static_cast<index_t>(r)});
  }
  return left;
}

// Swaps one unit of the most loaded rank for one of the least loaded rank
// while that lowers the larger of the two loads. Each swap moves them closer,
// so the sum of squared loads falls and the loop ends; the cap bounds its time
// on adversarial weights.
inline void swap_towards_balance(const std::vector<index_t>& weight, rank_load& load,
                                 std::vector<std::int32_t>& unit_owner) {
  const auto ranks = static_cast<index_t>(load.pairs.size());
  std::vector<std::vector<index_t>> units(static_cast<std::size_t>(ranks));
  for (std::size_t u = 0; u < unit_owner.size(); ++u)
    if (unit_owner[u] >= 0)
      units[static_cast<std::size_t>(unit_owner[u])].push_back(static_cast<index_t>(u));
  const auto by_weight = [&](index_t a, index_t b) {
    return weight[static_cast<std::size_t>(a)] < weight[static_cast<std::size_t>(b)];
  };
  const index_t max_swaps = 16 * ranks + static_cast<index_t>(unit_owner.size());
  for (index_t swaps = 0; swaps < max_swaps; ++swaps) {
    const auto [light, heavy] = std::minmax_element(load.pairs.begin(), load.pairs.end());
    const auto a = static_cast<std::size_t>(heavy - load.pairs.begin());
    const auto b = static_cast<std::size_t>(light - load.pairs.begin());
    const index_t gap = *heavy - *light;
    std::vector<index_t>& from = units[a];
    std::vector<index_t>& to = units[b];
    std::sort(to.begin(), to.end(), by_weight);
    // The best swap moves gap / 2 pairs; any move in (0, gap) helps.
    index_t best_move = 0;
    std::size_t best_x = 0, best_y = 0;
    for (std::size_t x = 0; x < from.size(); ++x) {
      const index_t wx = weight[static_cast<std::size_t>(from[x])];
      const auto near = std::lower_bound(
          to.begin(), to.end(), wx - gap / 2,
          [&](index_t u, index_t w) { return weight[static_cast<std::size_t>(u)] < w; });
      for (auto y = near == to.begin() ? near : near - 1; y != to.end() && y <= near; ++y) {
        const index_t move = wx - weight[static_cast<std::size_t>(*y)];
        if (move > 0 && move < gap &&
            std::max(gap - move, move) < std::max(gap - best_move, best_move)) {
          best_move = move;
          best_x = x;
          best_y = static_cast<std::size_t>(y - to.begin());
        }
      }
    }
    if (best_move == 0) return;
    std::swap(from[best_x], to[best_y]);
    unit_owner[static_cast<std::size_t>(from[best_x])] = static_cast<std::int32_t>(a);
    unit_owner[static_cast<std::size_t>(to[best_y])] = static_cast<std::int32_t>(b);
    load.pairs[a] -= best_move;
    load.pairs[b] += best_move;
  }
}

using owners = std::vector<std::int32_t>;  // (N,): the rank of each token

inline index_t quota(index_t n, index_t ranks, index_t r) noexcept {
  return split_point(0, n, ranks, r + 1) - split_point(0, n, ranks, r);
}

inline split even_split(index_t n, index_t ranks) {
  split out;
  for (index_t r = 0; r < ranks; ++r)
    out.push_back({static_cast<std::int32_t>(r), split_point(0, n, ranks, r),
                   split_point(0, n, ranks, r + 1)});
  return out;
}

inline split head_tail_split(index_t n, index_t ranks) {
  split out;
  add_head_tail(0, n, ranks, out);
  return out;
}

inline split per_document_head_tail_split(const layout& row, index_t ranks) {
  split out;
  for (const document_span& doc : row.documents()) add_head_tail(doc.begin, doc.end, ranks, out);
  return out;
}

inline owners owners_of(index_t n, const split& runs) {
  owners owner(static_cast<std::size_t>(n));
  for (const rank_run& run : runs)
    std::fill(owner.begin() + run.begin, owner.begin() + run.end, run.rank);
  return owner;
}

// The deal of whole units and then of single tokens (see the top of this
// file), and the pairs of its most loaded rank.
struct deal {
  owners owner;
  index_t heaviest_pairs;
};

inline deal dealt_owners(const interval_mask& m, index_t ranks, index_t block) {
  const index_t n = m.size();
  const auto lo = m.lo();
  const auto hi = m.hi();
  const auto row_pairs = [&](index_t q) { return lo[q] <= hi[q] ? hi[q] - lo[q] + 1 : 0; };

  // (U,): the whole units; the tokens past the last one are left over from the start.
  const index_t whole = n / block * block;
  std::vector<index_t> unit_pairs(static_cast<std::size_t>(n / block), 0);
  for (std::size_t u = 0; u < unit_pairs.size(); ++u)
    for (index_t q = static_cast<index_t>(u) * block; q < static_cast<index_t>(u + 1) * block; ++q)
      unit_pairs[u] += row_pairs(q);

  rank_load load{std::vector<index_t>(static_cast<std::size_t>(ranks), 0),
                 std::vector<index_t>(static_cast<std::size_t>(ranks), 0)};
  for (index_t r = 0; r < ranks; ++r)
    load.room[static_cast<std::size_t>(r)] = quota(n, ranks, r) / block;
  owners unit_owner(unit_pairs.size(), -1);
  const std::vector<index_t> left_units = deal_heaviest_first(unit_pairs, load, unit_owner);
  swap_towards_balance(unit_pairs, load, unit_owner);

  owners owner(static_cast<std::size_t>(n), -1);
  for (std::size_t u = 0; u < unit_owner.size(); ++u)
    std::fill(owner.begin() + static_cast<index_t>(u) * block,
              owner.begin() + static_cast<index_t>(u + 1) * block, unit_owner[u]);

  // The tokens of no whole unit fill each rank's quota, one token an item.
  std::vector<index_t> left_tokens;
  for (const index_t u : left_units)
    for (index_t q = u * block; q < (u + 1) * block; ++q) left_tokens.push_back(q);
  for (index_t q = whole; q < n; ++q) left_tokens.push_back(q);
  const auto heaviest = [&] { return *std::max_element(load.pairs.begin(), load.pairs.end()); };
  if (left_tokens.empty()) return {std::move(owner), heaviest()};
  // Every rank's whole units are dealt (there were at least as many units as
  // room for them), so what is left of its quota is under one block.
  for (index_t r = 0; r < ranks; ++r)
    load.room[static_cast<std::size_t>(r)] = quota(n, ranks, r) % block;
  std::vector<index_t> token_pairs(left_tokens.size());
  for (std::size_t i = 0; i < left_tokens.size(); ++i) token_pairs[i] = row_pairs(left_tokens[i]);
  owners token_owner(left_tokens.size(), -1);
  deal_heaviest_first(token_pairs, load, token_owner);
  for (std::size_t i = 0; i < left_tokens.size(); ++i)
    owner[static_cast<std::size_t>(left_tokens[i])] = token_owner[i];
  return {std::move(owner), heaviest()};
}

// The pairs of the most loaded rank of a split, from the prefix sums of the
// rows' pairs, or -1 when some rank's token count is not its quota: such a
// split is no plan.
inline index_t heaviest_rank_pairs(const std::vector<index_t>& prefix, index_t ranks,
                                   const split& runs) {
  std::vector<index_t> pairs(static_cast<std::size_t>(ranks), 0);
  std::vector<index_t> tokens(static_cast<std::size_t>(ranks), 0);
  for (const rank_run& run : runs) {
    pairs[static_cast<std::size_t>(run.rank)] +=
        prefix[static_cast<std::size_t>(run.end)] - prefix[static_cast<std::size_t>(run.begin)];
    tokens[static_cast<std::size_t>(run.rank)] += run.end - run.begin;
  }
  const index_t n = static_cast<index_t>(prefix.size()) - 1;
  for (index_t r = 0; r < ranks; ++r)
    if (tokens[static_cast<std::size_t>(r)] != quota(n, ranks, r)) return -1;
  return *std::max_element(pairs.begin(), pairs.end());
}

// The plan: whichever loads its heaviest rank least of the deal and the given
// splits that keep every quota. On ties a split wins over the deal, and the
// earlier split over a later one: contiguous chunks are simpler for an engine
// than dealt blocks.
inline sharding best_plan(const interval_mask& m, index_t ranks, index_t block,
                          const std::vector<split>& splits) {
  std::vector<index_t> prefix(static_cast<std::size_t>(m.size() + 1), 0);  // (N + 1,)
  for (index_t q = 0; q < m.size(); ++q)
    prefix[static_cast<std::size_t>(q + 1)] =
        prefix[static_cast<std::size_t>(q)] + pairs_of(m.interval(q));
  const deal dealt = dealt_owners(m, ranks, block);
  const split* best = nullptr;
  index_t best_pairs = dealt.heaviest_pairs;
  for (const split& candidate : splits) {
    const index_t pairs = heaviest_rank_pairs(prefix, ranks, candidate);
    if (pairs >= 0 && (pairs < best_pairs || (best == nullptr && pairs == best_pairs))) {
      best = &candidate;
      best_pairs = pairs;
    }
  }
  if (best == nullptr) return sharding::from_owners(m, ranks, block, dealt.owner);
  return sharding::from_owners(m, ranks, block, owners_of(m.size(), *best));
}

}  // namespace detail

// Rank r holds tokens [rN/R, (r+1)N/R): no balancing at all. Throws
// argument_error as balanced_sharding does.
inline sharding even_sharding(const interval_mask& m, index_t ranks,
                              index_t block = default_plan_block) {
  detail::check_plan(m.size(), ranks, block);
  return sharding::from_owners(m, ranks, block,
                               detail::owners_of(m.size(), detail::even_split(m.size(), ranks)));
}

// The row cut into 2R chunks, rank r holding chunks r and 2R - 1 - r: PyTorch's
// _HeadTailLoadBalancer, which balances a causal row. Here chunks differ by at
// most one token when 2R does not divide N.
inline sharding head_tail_sharding(const interval_mask& m, index_t ranks,
                                   index_t block = default_plan_block) {
  detail::check_plan(m.size(), ranks, block);
  return sharding::from_owners(
      m, ranks, block, detail::owners_of(m.size(), detail::head_tail_split(m.size(), ranks)));
}

// Every document cut into 2R chunks, rank r holding chunks r and 2R - 1 - r of
// each: PyTorch's _PerDocumentHeadTailLoadBalancer, which balances a packed
// causal row. Throws shape_error when the mask does not fit the layout.
inline sharding per_document_head_tail_sharding(const layout& row, const interval_mask& m,
                                                index_t ranks, index_t block = default_plan_block) {
  detail::check_mask_fits(row, m, "per_document_head_tail_sharding");
  detail::check_plan(m.size(), ranks, block);
  return sharding::from_owners(
      m, ranks, block,
      detail::owners_of(m.size(), detail::per_document_head_tail_split(row, ranks)));
}

// ism's plan (see the top of this file): the deal, or the even or head-tail
// split where one keeps every rank's quota and loads its heaviest rank no
// more. Throws argument_error for fewer than one rank, more ranks than tokens,
// or a block under one token.
inline sharding balanced_sharding(const interval_mask& m, index_t ranks,
                                  index_t block = default_plan_block) {
  detail::check_plan(m.size(), ranks, block);
  return detail::best_plan(
      m, ranks, block,
      {detail::even_split(m.size(), ranks), detail::head_tail_split(m.size(), ranks)});
}

// The same, the per-document head-tail split of the row's documents one more
// candidate. Throws shape_error when the mask does not fit the layout.
inline sharding balanced_sharding(const layout& row, const interval_mask& m, index_t ranks,
                                  index_t block = default_plan_block) {
  detail::check_mask_fits(row, m, "balanced_sharding");
  detail::check_plan(m.size(), ranks, block);
  return detail::best_plan(
      m, ranks, block,
      {detail::even_split(m.size(), ranks), detail::head_tail_split(m.size(), ranks),
       detail::per_document_head_tail_split(row, ranks)});
}

// ism's plan beside the baselines, each with its work table.
struct context_parallel_plan {
  sharding balanced;
  sharding even;
  sharding head_tail;
  sharding per_document_head_tail;
};

// Throws shape_error when the mask does not fit the layout and argument_error
// as balanced_sharding does.
inline context_parallel_plan plan_context_parallel(const layout& row, const interval_mask& m,
                                                   index_t ranks,
                                                   index_t block = default_plan_block) {
  detail::check_mask_fits(row, m, "plan_context_parallel");
  return {balanced_sharding(row, m, ranks, block), even_sharding(m, ranks, block),
          head_tail_sharding(m, ranks, block),
          per_document_head_tail_sharding(row, m, ranks, block)};
}

}  // namespace v0
}  // namespace ism
