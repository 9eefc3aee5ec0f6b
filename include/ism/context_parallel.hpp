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
//
// A batch of rows of one length is planned jointly: each rank holds the same
// slice of every row (PyTorch cuts the sequence dimension of the (B, N)
// rearranged batch), so its time is its work summed over the rows, and the
// deal, the swaps and the baselines' comparison are over those sums; a unit
// goes only to a rank with room in its own row. A single row is the batch of
// one, through the same code.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <queue>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ism/batch_sharding.hpp"
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

// A batch's rows as the plan reads them: one mask each, all N tokens long. A
// single row is the batch of one.
using mask_rows = std::span<const interval_mask>;

// The state of the balanced deal: each rank's load, summed over the rows, and
// its room in each row.
struct rank_load {
  std::vector<index_t> pairs;  // (R,)
  std::vector<index_t> room;   // (B x R,): [b x R + r], in items of the current deal

  index_t ranks() const noexcept { return static_cast<index_t>(pairs.size()); }
  index_t& room_of(index_t row, index_t rank) noexcept {
    return room[static_cast<std::size_t>(row * ranks() + rank)];
  }
};

// Deals items, heaviest first (ties to the earlier item), each to the least
// loaded rank with room left in the item's row (ties to the lower rank);
// returns the items no rank had room for. One row keeps a heap of its open
// ranks, O(log R) a deal. In a batch a deal in one row raises the rank's load
// in every other row's heap too, leaving its key there stale; re-pushing stale
// tops is correct (loads only grow, so a stale key is under the load) but with
// many rows costs more repairs a deal than R, so a batch scans the R loads
// instead. Both choose the same rank.
inline std::vector<index_t> deal_heaviest_first(const std::vector<index_t>& weight,
                                                const std::vector<index_t>& row_of,
                                                rank_load& load,
                                                std::vector<std::int32_t>& item_owner) {
  std::vector<index_t> items(weight.size());
  std::iota(items.begin(), items.end(), index_t{0});
  std::sort(items.begin(), items.end(), [&](index_t a, index_t b) {
    return weight[static_cast<std::size_t>(a)] > weight[static_cast<std::size_t>(b)] ||
           (weight[static_cast<std::size_t>(a)] == weight[static_cast<std::size_t>(b)] && a < b);
  });
  const index_t ranks = load.ranks();
  const bool one_row = load.room.size() == static_cast<std::size_t>(ranks);
  using entry = std::pair<index_t, index_t>;  // (pairs, rank): the least pairs on top
  std::priority_queue<entry, std::vector<entry>, std::greater<>> open;
  if (one_row)
    for (index_t r = 0; r < ranks; ++r)
      if (load.room_of(0, r) > 0) open.push({load.pairs[static_cast<std::size_t>(r)], r});
  // The least loaded rank with room in `row`, or -1.
  const auto least_loaded = [&](index_t row) -> index_t {
    if (one_row) {
      if (open.empty()) return -1;
      const index_t r = open.top().second;
      open.pop();
      return r;
    }
    index_t best = -1;
    for (index_t r = 0; r < ranks; ++r)
      if (load.room_of(row, r) > 0 &&
          (best < 0 ||
           load.pairs[static_cast<std::size_t>(r)] < load.pairs[static_cast<std::size_t>(best)]))
        best = r;
    return best;
  };
  std::vector<index_t> left;
  for (const index_t item : items) {
    const index_t row = row_of[static_cast<std::size_t>(item)];
    const index_t r = least_loaded(row);
    if (r < 0) {
      left.push_back(item);
      continue;
    }
    item_owner[static_cast<std::size_t>(item)] = static_cast<std::int32_t>(r);
    load.pairs[static_cast<std::size_t>(r)] += weight[static_cast<std::size_t>(item)];
    if (--load.room_of(row, r) > 0 && one_row)
      open.push({load.pairs[static_cast<std::size_t>(r)], r});
  }
  return left;
}

// Swaps one unit of the most loaded rank for one of the least loaded rank in
// the same row while that lowers the larger of the two loads: a swap across
// rows would change both ranks' token counts in each row. Each swap moves them
// closer, so the sum of squared loads falls and the loop ends; the cap bounds
// its time on adversarial weights.
inline void swap_towards_balance(const std::vector<index_t>& weight,
                                 const std::vector<index_t>& row_of, rank_load& load,
                                 std::vector<std::int32_t>& unit_owner) {
  const index_t ranks = load.ranks();
  const auto rows = static_cast<index_t>(load.room.size()) / ranks;
  // [b x R + r]: rank r's units of row b.
  std::vector<std::vector<index_t>> units(static_cast<std::size_t>(rows * ranks));
  for (std::size_t u = 0; u < unit_owner.size(); ++u)
    if (unit_owner[u] >= 0)
      units[static_cast<std::size_t>(row_of[u] * ranks + unit_owner[u])].push_back(
          static_cast<index_t>(u));
  const auto by_weight = [&](index_t a, index_t b) {
    return weight[static_cast<std::size_t>(a)] < weight[static_cast<std::size_t>(b)];
  };
  const index_t max_swaps = 16 * ranks + static_cast<index_t>(unit_owner.size());
  for (index_t swaps = 0; swaps < max_swaps; ++swaps) {
    const auto [light, heavy] = std::minmax_element(load.pairs.begin(), load.pairs.end());
    const auto a = static_cast<index_t>(heavy - load.pairs.begin());
    const auto b = static_cast<index_t>(light - load.pairs.begin());
    const index_t gap = *heavy - *light;
    // The best swap moves gap / 2 pairs; any move in (0, gap) helps.
    index_t best_move = 0;
    std::vector<index_t>* best_from = nullptr;
    std::vector<index_t>* best_to = nullptr;
    std::size_t best_x = 0, best_y = 0;
    for (index_t row = 0; row < rows; ++row) {
      std::vector<index_t>& from = units[static_cast<std::size_t>(row * ranks + a)];
      std::vector<index_t>& to = units[static_cast<std::size_t>(row * ranks + b)];
      std::sort(to.begin(), to.end(), by_weight);
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
            best_from = &from;
            best_to = &to;
            best_x = x;
            best_y = static_cast<std::size_t>(y - to.begin());
          }
        }
      }
    }
    if (best_move == 0) return;
    std::vector<index_t>& from = *best_from;
    std::vector<index_t>& to = *best_to;
    std::swap(from[best_x], to[best_y]);
    unit_owner[static_cast<std::size_t>(from[best_x])] = static_cast<std::int32_t>(a);
    unit_owner[static_cast<std::size_t>(to[best_y])] = static_cast<std::int32_t>(b);
    load.pairs[static_cast<std::size_t>(a)] -= best_move;
    load.pairs[static_cast<std::size_t>(b)] += best_move;
  }
}

using owners = std::vector<std::int32_t>;  // (N,): the rank of each token

// (B,): one split per row of a batch.
using batch_split = std::vector<split>;

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

inline batch_split per_document_head_tail_splits(std::span<const layout> rows, index_t ranks) {
  batch_split out;
  for (const layout& row : rows) out.push_back(per_document_head_tail_split(row, ranks));
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
  std::vector<owners> owner;  // (B,)
  index_t heaviest_pairs;
};

inline deal dealt_owners(mask_rows masks, index_t ranks, index_t block) {
  const auto rows = static_cast<index_t>(masks.size());
  const index_t n = masks.front().size();
  const auto row_pairs = [&](index_t b, index_t q) {
    return pairs_of(masks[static_cast<std::size_t>(b)].interval(q));
  };

  // (B x U,): row b's whole units are b x U + [0, U); the tokens past the last
  // one are left over from the start.
  const index_t per_row = n / block;
  const index_t whole = per_row * block;
  std::vector<index_t> unit_pairs(static_cast<std::size_t>(rows * per_row), 0);
  std::vector<index_t> unit_row(unit_pairs.size());
  for (index_t b = 0; b < rows; ++b) {
    const auto lo = masks[static_cast<std::size_t>(b)].lo();
    const auto hi = masks[static_cast<std::size_t>(b)].hi();
    for (index_t u = 0; u < per_row; ++u) {
      index_t& pairs = unit_pairs[static_cast<std::size_t>(b * per_row + u)];
      for (index_t q = u * block; q < (u + 1) * block; ++q)
        pairs += lo[q] <= hi[q] ? hi[q] - lo[q] + 1 : 0;
      unit_row[static_cast<std::size_t>(b * per_row + u)] = b;
    }
  }

  rank_load load{std::vector<index_t>(static_cast<std::size_t>(ranks), 0),
                 std::vector<index_t>(static_cast<std::size_t>(rows * ranks), 0)};
  for (index_t b = 0; b < rows; ++b)
    for (index_t r = 0; r < ranks; ++r) load.room_of(b, r) = quota(n, ranks, r) / block;
  owners unit_owner(unit_pairs.size(), -1);
  const std::vector<index_t> left_units =
      deal_heaviest_first(unit_pairs, unit_row, load, unit_owner);
  swap_towards_balance(unit_pairs, unit_row, load, unit_owner);

  std::vector<owners> owner(static_cast<std::size_t>(rows),
                            owners(static_cast<std::size_t>(n), -1));
  for (std::size_t u = 0; u < unit_owner.size(); ++u) {
    const auto first = static_cast<index_t>(u) % per_row * block;
    std::fill(owner[static_cast<std::size_t>(unit_row[u])].begin() + first,
              owner[static_cast<std::size_t>(unit_row[u])].begin() + first + block, unit_owner[u]);
  }

  // The tokens of no whole unit fill each rank's quota, one token an item.
  std::vector<index_t> left_tokens, token_row;
  for (const index_t u : left_units)
    for (index_t q = u % per_row * block; q < (u % per_row + 1) * block; ++q) {
      left_tokens.push_back(q);
      token_row.push_back(unit_row[static_cast<std::size_t>(u)]);
    }
  for (index_t b = 0; b < rows; ++b)
    for (index_t q = whole; q < n; ++q) {
      left_tokens.push_back(q);
      token_row.push_back(b);
    }
  const auto heaviest = [&] { return *std::max_element(load.pairs.begin(), load.pairs.end()); };
  if (left_tokens.empty()) return {std::move(owner), heaviest()};
  // Every rank's whole units of every row are dealt (a row has at least as
  // many units as its ranks have room for), so what is left of its quota in
  // each row is under one block.
  for (index_t b = 0; b < rows; ++b)
    for (index_t r = 0; r < ranks; ++r) load.room_of(b, r) = quota(n, ranks, r) % block;
  std::vector<index_t> token_pairs(left_tokens.size());
  for (std::size_t i = 0; i < left_tokens.size(); ++i)
    token_pairs[i] = row_pairs(token_row[i], left_tokens[i]);
  owners token_owner(left_tokens.size(), -1);
  deal_heaviest_first(token_pairs, token_row, load, token_owner);
  for (std::size_t i = 0; i < left_tokens.size(); ++i)
    owner[static_cast<std::size_t>(token_row[i])][static_cast<std::size_t>(left_tokens[i])] =
        token_owner[i];
  return {std::move(owner), heaviest()};
}

// The pairs of the most loaded rank of a split of every row, summed over the
// rows, from the prefix sums of each row's pairs; or -1 when some rank's token
// count in some row is not its quota: such a split is no plan.
inline index_t heaviest_rank_pairs(const std::vector<std::vector<index_t>>& prefix, index_t ranks,
                                   const batch_split& runs) {
  std::vector<index_t> pairs(static_cast<std::size_t>(ranks), 0);
  const index_t n = static_cast<index_t>(prefix.front().size()) - 1;
  for (std::size_t b = 0; b < runs.size(); ++b) {
    std::vector<index_t> tokens(static_cast<std::size_t>(ranks), 0);
    for (const rank_run& run : runs[b]) {
      pairs[static_cast<std::size_t>(run.rank)] += prefix[b][static_cast<std::size_t>(run.end)] -
                                                   prefix[b][static_cast<std::size_t>(run.begin)];
      tokens[static_cast<std::size_t>(run.rank)] += run.end - run.begin;
    }
    for (index_t r = 0; r < ranks; ++r)
      if (tokens[static_cast<std::size_t>(r)] != quota(n, ranks, r)) return -1;
  }
  return *std::max_element(pairs.begin(), pairs.end());
}

// The plan, row by row: whichever loads the batch's heaviest rank least of the
// deal and the contiguous splits that keep every quota: even, head-tail, and
// per document when the rows' layouts are given (`rows` empty: not). On ties a
// split wins over the deal, and the earlier split over a later one: contiguous
// chunks are simpler for an engine than dealt blocks.
inline std::vector<sharding> best_plan(std::span<const layout> rows, mask_rows masks,
                                       index_t ranks, index_t block) {
  const index_t n = masks.front().size();
  std::vector<batch_split> splits{batch_split(masks.size(), even_split(n, ranks)),
                                  batch_split(masks.size(), head_tail_split(n, ranks))};
  if (!rows.empty()) splits.push_back(per_document_head_tail_splits(rows, ranks));
  std::vector<std::vector<index_t>> prefix;  // (B, N + 1)
  for (const interval_mask& m : masks) {
    prefix.emplace_back(static_cast<std::size_t>(n + 1), 0);
    for (index_t q = 0; q < n; ++q)
      prefix.back()[static_cast<std::size_t>(q + 1)] =
          prefix.back()[static_cast<std::size_t>(q)] + pairs_of(m.interval(q));
  }
  const deal dealt = dealt_owners(masks, ranks, block);
  const batch_split* best = nullptr;
  index_t best_pairs = dealt.heaviest_pairs;
  for (const batch_split& candidate : splits) {
    const index_t pairs = heaviest_rank_pairs(prefix, ranks, candidate);
    if (pairs >= 0 && (pairs < best_pairs || (best == nullptr && pairs == best_pairs))) {
      best = &candidate;
      best_pairs = pairs;
    }
  }
  std::vector<sharding> out;
  for (std::size_t b = 0; b < masks.size(); ++b)
    out.push_back(sharding::from_owners(
        masks[b], ranks, block, best == nullptr ? dealt.owner[b] : owners_of(n, (*best)[b])));
  return out;
}

// Throws argument_error for an empty batch, and shape_error for a mask count
// other than the row count, rows of different lengths, or a mask that does not
// fit its row.
inline void check_batch(std::span<const layout> rows, mask_rows masks, const std::string& who) {
  if (rows.empty()) throw argument_error(who + ": the batch has no rows");
  if (masks.size() != rows.size())
    throw shape_error(who + ": " + std::to_string(masks.size()) + " masks for " +
                      std::to_string(rows.size()) + " rows");
  for (std::size_t b = 0; b < rows.size(); ++b) {
    if (rows[b].size() != rows.front().size())
      throw shape_error(who + ": row " + std::to_string(b) + " has " +
                        std::to_string(rows[b].size()) + " tokens but row 0 has " +
                        std::to_string(rows.front().size()));
    check_mask_fits(rows[b], masks[b], who + ", row " + std::to_string(b));
  }
}

// The same sharding of every row, as a batch.
template <class ShardRow>
batch_sharding each_row(std::span<const layout> rows, mask_rows masks, ShardRow shard_row) {
  std::vector<sharding> out;
  for (std::size_t b = 0; b < rows.size(); ++b) out.push_back(shard_row(rows[b], masks[b]));
  return batch_sharding(std::move(out));
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
  return std::move(detail::best_plan({}, detail::mask_rows(&m, 1), ranks, block).front());
}

// The same, the per-document head-tail split of the row's documents one more
// candidate. Throws shape_error when the mask does not fit the layout.
inline sharding balanced_sharding(const layout& row, const interval_mask& m, index_t ranks,
                                  index_t block = default_plan_block) {
  detail::check_mask_fits(row, m, "balanced_sharding");
  detail::check_plan(m.size(), ranks, block);
  return std::move(detail::best_plan(std::span<const layout>(&row, 1), detail::mask_rows(&m, 1),
                                     ranks, block)
                       .front());
}

// The plan of a batch: B rows of the same token count N, each its own packed
// documents under its own mask (masks[b] the mask of rows[b]), balanced
// jointly. Every rank holds the same slice of every row, as PyTorch cuts the
// sequence dimension of the rearranged (B, N) batch, and a rank's time is its
// work summed over the rows; so all rows' units are dealt at once, heaviest
// first, each to the least loaded rank by that sum that still has room in the
// unit's row, and swaps exchange units of one row. A heavy row's surplus is
// then made up in the light rows, which dealing row by row cannot do. The
// splits are the same split of every row, weighed by the batch's heaviest
// rank. Throws argument_error for an empty batch and as balanced_sharding
// does, and shape_error for a mask count other than the row count, rows of
// different lengths, or a mask that does not fit its row.
inline batch_sharding balanced_sharding(std::span<const layout> rows,
                                        std::span<const interval_mask> masks, index_t ranks,
                                        index_t block = default_plan_block) {
  detail::check_batch(rows, masks, "balanced_sharding");
  detail::check_plan(masks.front().size(), ranks, block);
  return batch_sharding(detail::best_plan(rows, masks, ranks, block));
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

// The same for a batch: the joint plan, and each baseline applied to every row
// (per document, each row's own documents), its work summed over the rows. The
// plan's rows share their slices; a baseline's may not (batch_sharding.hpp).
struct batch_context_parallel_plan {
  batch_sharding balanced;
  batch_sharding even;
  batch_sharding head_tail;
  batch_sharding per_document_head_tail;
};

// Throws as the batch balanced_sharding does.
inline batch_context_parallel_plan plan_context_parallel(std::span<const layout> rows,
                                                         std::span<const interval_mask> masks,
                                                         index_t ranks,
                                                         index_t block = default_plan_block) {
  detail::check_batch(rows, masks, "plan_context_parallel");
  return {balanced_sharding(rows, masks, ranks, block),
          detail::each_row(rows, masks,
                           [&](const layout&, const interval_mask& m) {
                             return even_sharding(m, ranks, block);
                           }),
          detail::each_row(rows, masks,
                           [&](const layout&, const interval_mask& m) {
                             return head_tail_sharding(m, ranks, block);
                           }),
          detail::each_row(rows, masks, [&](const layout& row, const interval_mask& m) {
            return per_document_head_tail_sharding(row, m, ranks, block);
          })};
}

}  // namespace v0
}  // namespace ism
